/**
 * A stored event: the event's JSON exactly as stored, plus the few fields the query and summary
 * endpoints filter and group by, pulled out once at ingestion so both storages can index them.
 */

export interface EventRow {
  eventId: string;
  orgId: string;
  appId: string;
  /** Server time of receipt, ms since the epoch. */
  receivedAt: number;
  /** The event's own timestamp (ISO-8601). */
  timestamp: string;
  type: string;
  /** `event.data.command` of a command_execution event. */
  command: string | null;
  serviceVersion: string | null;
  os: string | null;
  /** `event.data.success` of a command_execution event. */
  success: boolean | null;
  /** `event.data.duration_ms` of a command_execution event. */
  durationMs: number | null;
  /** Compact JSON of the whole event. */
  body: string;
}

type JsonObject = Record<string, unknown>;

function objectAt(value: unknown, key: string): JsonObject | null {
  if (typeof value !== 'object' || value === null) return null;
  const inner = (value as JsonObject)[key];
  return typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as JsonObject) : null;
}

function stringAt(value: JsonObject | null, key: string): string | null {
  const inner = value?.[key];
  return typeof inner === 'string' ? inner : null;
}

/** The row of an event that passed schema v1 validation. */
export function eventRow(event: JsonObject, orgId: string, appId: string, receivedAt: number, body: string = JSON.stringify(event)): EventRow {
  const envelope = objectAt(event, 'event');
  const type = stringAt(envelope, 'type') ?? '';
  const data = type === 'command_execution' ? objectAt(envelope, 'data') : null;
  const success = data?.['success'];
  const duration = data?.['duration_ms'];
  return {
    eventId: stringAt(event, 'event_id') ?? '',
    orgId,
    appId,
    receivedAt,
    timestamp: stringAt(event, 'timestamp') ?? '',
    type,
    command: stringAt(data, 'command'),
    serviceVersion: stringAt(objectAt(event, 'service'), 'version'),
    os: stringAt(objectAt(event, 'environment'), 'os'),
    success: typeof success === 'boolean' ? success : null,
    durationMs: typeof duration === 'number' && Number.isSafeInteger(duration) && duration >= 0 ? duration : null,
    body,
  };
}
