/**
 * Client-computed APM stats: tracers POST a msgpack `ClientStatsPayload` to /v0.6/stats (keys
 * are the Go field names, `Hostname`, `Env`, `Stats`..., as tinylib/msgp writes them from
 * pkg/proto/datadog/trace/stats.proto). The Datadog Agent processes each one
 * (pkg/trace/agent/agent.go `processStats`) and sends `StatsPayload{AgentHostname, AgentEnv,
 * Stats: [ClientStatsPayload...], AgentVersion, ClientComputed: true, SplitPayload}` as msgpack,
 * gzipped, to `{trace}/api/v0.2/stats` with `Content-Type: application/msgpack`; DataDog/libdatadog's
 * serverless mini agent does the same (`construct_stats_payload`, `rmp_serde::to_vec_named`).
 *
 * Done here, from `processStats`: Env defaults to the configured env and is tag-value normalized;
 * Lang and TracerVersion default to the request headers; ContainerID comes from the header when
 * given; each group's Name is normalized as a span name, Service as a service, an empty Resource
 * becomes the Name. Not done: obfuscation, resource filters, re-bucketing by the agent's
 * aggregator (the tracer's 10 s buckets are forwarded as they are), merging duplicate groups.
 * Fields this module does not know are forwarded unchanged.
 */
import { Encoder } from '@msgpack/msgpack';
import { decodeMsgpack, type DecodeError } from './decode.js';
import { FieldError, isMap, type MsgpackMap } from './msgpack-fields.js';
import { normalizeName, normalizeService, normalizeTagValue } from './normalize-text.js';
import type { TracerMeta } from './span.js';

export interface DecodedClientStats {
  readonly ok: true;
  /** The payload as decoded, validated and with nil strings/numbers replaced by zero values. */
  readonly payload: MsgpackMap;
}

const PAYLOAD_STRINGS = [
  'Hostname', 'Env', 'Version', 'Lang', 'TracerVersion', 'RuntimeID', 'AgentAggregation',
  'Service', 'ContainerID', 'GitCommitSha', 'ImageTag', 'ProcessTags',
];
const GROUP_STRINGS = ['Service', 'Name', 'Resource', 'Type', 'DBType', 'SpanKind', 'HTTPMethod', 'HTTPEndpoint'];
const GROUP_UINTS = ['Hits', 'Errors', 'Duration', 'TopLevelHits'];
const UINT32_MAX = 0xffffffff;

function fail(reason: 'wrong_shape' | 'wrong_field_type' | 'out_of_range', message: string): never {
  throw new FieldError(reason, message);
}

function checkString(map: MsgpackMap, key: string, path: string): void {
  const v = map[key];
  if (v === undefined || typeof v === 'string') return;
  if (v === null) map[key] = '';
  else if (v instanceof Uint8Array) map[key] = new TextDecoder().decode(v);
  else fail('wrong_field_type', `${path}.${key}: expected string`);
}

function checkUint(map: MsgpackMap, key: string, path: string, max?: number): void {
  const v = map[key];
  if (v === undefined) return;
  if (v === null) map[key] = 0;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) fail('wrong_field_type', `${path}.${key}: expected unsigned integer`);
    if (v < 0 || (max !== undefined && v > max)) fail('out_of_range', `${path}.${key}: ${v} out of range`);
  } else if (typeof v === 'bigint') {
    if (v < 0n || (max !== undefined && v > BigInt(max))) fail('out_of_range', `${path}.${key}: ${v} out of range`);
  } else fail('wrong_field_type', `${path}.${key}: expected unsigned integer`);
}

function checkInt(map: MsgpackMap, key: string, path: string): void {
  const v = map[key];
  if (v === undefined) return;
  if (v === null) map[key] = 0;
  else if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
    fail('wrong_field_type', `${path}.${key}: expected integer`);
  }
}

function checkBytes(map: MsgpackMap, key: string, path: string): void {
  const v = map[key];
  if (v === undefined || v instanceof Uint8Array) return;
  if (v === null) map[key] = new Uint8Array(0);
  else fail('wrong_field_type', `${path}.${key}: expected bin`);
}

function checkStringArray(map: MsgpackMap, key: string, path: string): void {
  const v = map[key];
  if (v === undefined) return;
  if (v === null) {
    map[key] = [];
    return;
  }
  if (!Array.isArray(v) || !v.every((item) => typeof item === 'string')) {
    fail('wrong_field_type', `${path}.${key}: expected an array of strings`);
  }
}

function mapArray(map: MsgpackMap, key: string, path: string): MsgpackMap[] {
  const v = map[key];
  if (v === undefined) return [];
  if (v === null) {
    map[key] = [];
    return [];
  }
  if (!Array.isArray(v)) fail('wrong_field_type', `${path}.${key}: expected an array`);
  v.forEach((item, i) => {
    if (!isMap(item)) fail('wrong_shape', `${path}.${key}[${i}]: expected a map`);
  });
  return v as MsgpackMap[];
}

function validate(payload: MsgpackMap): void {
  for (const key of PAYLOAD_STRINGS) checkString(payload, key, 'payload');
  checkUint(payload, 'Sequence', 'payload');
  checkStringArray(payload, 'Tags', 'payload');
  mapArray(payload, 'Stats', 'payload').forEach((bucket, b) => {
    const path = `payload.Stats[${b}]`;
    checkUint(bucket, 'Start', path);
    checkUint(bucket, 'Duration', path);
    checkInt(bucket, 'AgentTimeShift', path);
    mapArray(bucket, 'Stats', path).forEach((group, g) => {
      const groupPath = `${path}.Stats[${g}]`;
      for (const key of GROUP_STRINGS) checkString(group, key, groupPath);
      for (const key of GROUP_UINTS) checkUint(group, key, groupPath);
      checkUint(group, 'HTTPStatusCode', groupPath, UINT32_MAX);
      checkBytes(group, 'OkSummary', groupPath);
      checkBytes(group, 'ErrorSummary', groupPath);
      checkStringArray(group, 'PeerTags', groupPath);
      checkInt(group, 'IsTraceRoot', groupPath);
      const synthetics = group.Synthetics;
      if (synthetics === null) group.Synthetics = false;
      else if (synthetics !== undefined && typeof synthetics !== 'boolean') {
        fail('wrong_field_type', `${groupPath}.Synthetics: expected bool`);
      }
    });
  });
}

/** Decodes and validates a /v0.6/stats body. Never throws. */
export function decodeClientStats(body: Uint8Array): DecodedClientStats | DecodeError {
  const parsed = decodeMsgpack(body);
  if (!parsed.ok) return parsed;
  if (!isMap(parsed.value)) return { ok: false, reason: 'wrong_shape', message: 'payload: expected a ClientStatsPayload map' };
  try {
    validate(parsed.value);
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, reason: error.reason, message: error.message };
    return { ok: false, reason: 'wrong_shape', message: String(error) };
  }
  return { ok: true, payload: parsed.value };
}

function str(map: MsgpackMap, key: string): string {
  const v = map[key];
  return typeof v === 'string' ? v : '';
}

/** The agent's `processStats`, in place on a validated payload. */
export function processClientStats(payload: MsgpackMap, meta: TracerMeta, env: string | undefined): void {
  if (meta.containerId) payload.ContainerID = meta.containerId;
  payload.Env = normalizeTagValue(str(payload, 'Env') || env || '');
  if (!str(payload, 'TracerVersion') && meta.tracerVersion) payload.TracerVersion = meta.tracerVersion;
  if (!str(payload, 'Lang') && meta.lang) payload.Lang = meta.lang;
  const buckets = Array.isArray(payload.Stats) ? (payload.Stats as MsgpackMap[]) : [];
  for (const bucket of buckets) {
    const groups = Array.isArray(bucket.Stats) ? (bucket.Stats as MsgpackMap[]) : [];
    for (const group of groups) {
      group.Name = normalizeName(str(group, 'Name')).value;
      group.Service = normalizeService(str(group, 'Service'), meta.lang).value;
      if (!str(group, 'Resource')) group.Resource = group.Name;
    }
  }
}

export interface StatsPayloadModel {
  agentHostname: string;
  agentEnv: string;
  agentVersion: string;
  stats: MsgpackMap[];
}

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });

/** The msgpack `StatsPayload` body for /api/v0.2/stats (not compressed). */
export function encodeStatsPayload(model: StatsPayloadModel): Uint8Array {
  return encoder.encode({
    AgentHostname: model.agentHostname,
    AgentEnv: model.agentEnv,
    Stats: model.stats,
    AgentVersion: model.agentVersion,
    ClientComputed: true,
    SplitPayload: false,
  });
}
