/**
 * Turns a track call into an event in two steps. `*Draft` runs inside the caller's call: it
 * validates the name and snapshots the data into plain JSON (so later mutation by the caller
 * cannot change what is stored) without any I/O. `finalizeEvent` runs in the background once
 * the install id is known: it sanitizes and fills in ids and environment.
 */
import { DEFAULT_LIMITS, capDataBytes, normalizeData, normalizeObject, normalizeValue, setOwn, truncateString } from './normalize.js';
import { sanitizeData, type SanitizeOptions } from './privacy.js';
import type {
  BackendName,
  CommandOptions,
  EnvironmentInfo,
  FeatureOptions,
  JsonObject,
  JsonValue,
  ServiceInfo,
  TelemetryEvent,
} from './types.js';
import { SCHEMA_VERSION } from './version.js';

export interface EventDraft {
  event_id: string;
  timestamp: string;
  type: string;
  category: string;
  data: JsonObject;
}

export interface EventContext {
  service: ServiceInfo;
  environment: EnvironmentInfo;
  userId: string;
  sessionId: string;
  sdkVersion: string;
  backend: BackendName;
  sanitize: SanitizeOptions;
}

export const COMMAND_TYPE = 'command_execution';
export const FEATURE_TYPE = 'feature_used';
export const CUSTOM_CATEGORY = 'custom';
const CUSTOM_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_NAME_LENGTH = 256;

const COMMAND_KEYS = ['command', 'subcommand', 'flags', 'success', 'duration_ms', 'exit_code'] as const;
const FEATURE_KEYS = ['feature', 'method', 'success'] as const;

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

/** Reserved keys win over metadata; metadata is merged under them, never over. */
/** `reserved` is the caller's fresh object: metadata is added to it in place. */
function withMetadata(reserved: JsonObject, metadata: unknown, reservedKeys: readonly string[]): JsonObject {
  if (metadata !== undefined && metadata !== null) {
    for (const [key, value] of Object.entries(normalizeObject(metadata))) {
      if (!reservedKeys.includes(key)) setOwn(reserved, key, value);
    }
  }
  return capDataBytes(reserved, reservedKeys);
}

// Drafts are built field by field: on Node 20 an object spread with further properties
// (`{ ...id, type }`) costs over a microsecond, more than the rest of a draft together.
function draft(id: DraftIdentity, type: string, category: string, data: JsonObject): EventDraft {
  return { event_id: id.event_id, timestamp: id.timestamp, type, category, data };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? truncateString(value, DEFAULT_LIMITS.maxStringLength) : undefined;
}

function optionalBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function optionalDuration(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

function optionalInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function optionalFlags(value: unknown): JsonValue[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const flags = normalizeValue(value);
  return Array.isArray(flags) ? flags : undefined;
}

type DraftIdentity = Pick<EventDraft, 'event_id' | 'timestamp'>;

/** Options of the wrong type are left out rather than failing the call: tracking never throws. */
export function commandDraft(id: DraftIdentity, command: unknown, options: CommandOptions = {}): EventDraft | null {
  if (!isName(command)) return null;
  const opts: Partial<CommandOptions> = options !== null && typeof options === 'object' ? options : {};
  // Named stores in a fixed order keep one object shape per combination of fields.
  const reserved: JsonObject = { command };
  const subcommand = optionalString(opts.subcommand);
  if (subcommand !== undefined) reserved.subcommand = subcommand;
  const flags = optionalFlags(opts.flags);
  if (flags !== undefined) reserved.flags = flags;
  const success = optionalBoolean(opts.success);
  if (success !== undefined) reserved.success = success;
  const durationMs = optionalDuration(opts.durationMs);
  if (durationMs !== undefined) reserved.duration_ms = durationMs;
  const exitCode = optionalInteger(opts.exitCode);
  if (exitCode !== undefined) reserved.exit_code = exitCode;
  return draft(id, COMMAND_TYPE, 'usage', withMetadata(reserved, opts.metadata, COMMAND_KEYS));
}

export function featureDraft(id: DraftIdentity, feature: unknown, options: FeatureOptions = {}): EventDraft | null {
  if (!isName(feature)) return null;
  const opts: Partial<FeatureOptions> = options !== null && typeof options === 'object' ? options : {};
  const reserved: JsonObject = { feature };
  const method = optionalString(opts.method);
  if (method !== undefined) reserved.method = method;
  const success = optionalBoolean(opts.success);
  if (success !== undefined) reserved.success = success;
  return draft(id, FEATURE_TYPE, 'library', withMetadata(reserved, opts.metadata, FEATURE_KEYS));
}

/** Custom types may not borrow the built-in types, whose data has a fixed shape. */
export function customDraft(id: DraftIdentity, type: unknown, data: unknown): EventDraft | null {
  if (typeof type !== 'string' || !CUSTOM_TYPE_PATTERN.test(type)) return null;
  if (type === COMMAND_TYPE || type === FEATURE_TYPE) return null;
  return draft(id, type, CUSTOM_CATEGORY, normalizeData(data));
}

export function finalizeEvent(draft: EventDraft, context: EventContext): TelemetryEvent {
  return {
    schema_version: SCHEMA_VERSION,
    event_id: draft.event_id,
    timestamp: draft.timestamp,
    service: context.service,
    user_id: context.userId,
    session_id: context.sessionId,
    environment: context.environment,
    event: { type: draft.type, category: draft.category, data: sanitizeData(draft.data, context.sanitize) },
    metadata: { sdk_version: context.sdkVersion, backend: context.backend },
  };
}
