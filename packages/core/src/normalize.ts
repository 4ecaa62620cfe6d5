/**
 * Snapshots arbitrary caller metadata into bounded, plain JSON.
 *
 * This runs synchronously inside `track()` on values we do not control (class instances, proxies,
 * huge buffers, cyclic graphs), so it never throws and every dimension of the output is capped.
 * The marker strings below are part of the cross-backend contract: other backends emit the same.
 * Runtime-agnostic: no Node built-ins.
 */
import type { JsonObject, JsonValue } from './types.js';

export interface NormalizeLimits {
  /** Longest string kept, in UTF-16 code units. */
  maxStringLength: number;
  /** Most nested objects/arrays kept; the root container is level 1. */
  maxDepth: number;
  maxArrayLength: number;
  maxKeys: number;
  /** UTF-8 size cap for the JSON of `normalizeData`; also bounds the nodes visited (see below). */
  maxBytes: number;
}

export const DEFAULT_LIMITS: NormalizeLimits = Object.freeze({
  maxStringLength: 8192,
  maxDepth: 16,
  maxArrayLength: 1000,
  maxKeys: 1000,
  maxBytes: 65536,
});

export const MARKER_FUNCTION = '[Function]';
export const MARKER_SYMBOL = '[Symbol]';
export const MARKER_CIRCULAR = '[Circular]';
export const MARKER_MAX_DEPTH = '[MaxDepth]';
export const MARKER_UNSERIALIZABLE = '[Unserializable]';
/**
 * Replaces containers once the node budget is spent. Shared (non-circular) references are
 * expanded each time they occur, so without a budget a small DAG could expand exponentially.
 */
export const MARKER_TRUNCATED = '[Truncated]';
/** Key added to an object that had more than `maxKeys` keys; its value is the number omitted. */
export const TRUNCATED_KEYS_KEY = '_truncated_keys';
/** Key added by `normalizeData` listing the top-level keys dropped to fit `maxBytes`. */
export const DROPPED_KEY = '_dropped';

/** Appended to a string cut at `maxStringLength`; `removed` counts UTF-16 code units. */
export function truncatedStringSuffix(removed: number): string {
  return `…[truncated ${removed} chars]`;
}

/** Final item of an array cut at `maxArrayLength`. */
export function moreItemsMarker(omitted: number): string {
  return `[… ${omitted} more items]`;
}

export function binaryMarker(byteLength: number): string {
  return `[Binary: ${byteLength} bytes]`;
}

interface WalkState {
  readonly limits: NormalizeLimits;
  /** Objects on the current path: only these make a reference circular. */
  readonly ancestors: Set<object>;
  nodes: number;
}

/**
 * Converts any value to JSON. `undefined` at the root becomes null.
 *
 * Every value visited counts as a node. Each node costs at least one byte of JSON, so once more
 * than `maxBytes` nodes have been visited the result cannot fit the byte cap anyway: from then
 * on containers become `[Truncated]`, which keeps the work bounded.
 */
export function normalizeValue(value: unknown, limits: NormalizeLimits = DEFAULT_LIMITS): JsonValue {
  try {
    return walk(value, 0, newState(limits), true) ?? null;
  } catch {
    // walk() already contains failures; this only guards against the unforeseen (e.g. stack exhaustion).
    return MARKER_UNSERIALIZABLE;
  }
}

/**
 * Top level of event data: a plain object. Non-object input becomes `{ value: <normalized> }`;
 * null/undefined → `{}`.
 *
 * Then, while the UTF-8 JSON is larger than `maxBytes`, the largest top-level entry (key and
 * value bytes; ties: first in key order) whose key is not in `keepKeys` is removed and its key
 * appended to `_dropped`. A pre-existing `_dropped` entry is removed first, since the list
 * replaces it. If the kept entries alone exceed the cap they stay: callers keep only small
 * reserved fields. Should the `_dropped` list itself push the result over the cap (thousands of
 * long keys), it is cut like an array, with a final `[… N more items]`.
 */
export function normalizeData(
  value: unknown,
  keepKeys: readonly string[] = [],
  limits: NormalizeLimits = DEFAULT_LIMITS,
): JsonObject {
  try {
    return capDataBytes(normalizeObject(value, limits), keepKeys, limits.maxBytes);
  } catch {
    return {};
  }
}

/** `normalizeData` without the byte cap, for callers that merge several parts before capping. */
export function normalizeObject(value: unknown, limits: NormalizeLimits = DEFAULT_LIMITS): JsonObject {
  if (value === null || value === undefined) return {};
  const normalized = normalizeValue(value, limits);
  return isJsonObject(normalized) ? normalized : { value: normalized };
}

function newState(limits: NormalizeLimits): WalkState {
  return { limits, ancestors: new Set(), nodes: 0 };
}

/** `open` counts the containers above `value`. Returns undefined for "omit" (undefined). */
function walk(value: unknown, open: number, state: WalkState, allowToJSON: boolean): JsonValue | undefined {
  state.nodes += 1;
  switch (typeof value) {
    case 'string':
      return truncateString(value, state.limits.maxStringLength);
    case 'number':
      // `value === 0` also catches -0, which JSON cannot tell apart anyway.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return undefined;
    case 'function':
      return MARKER_FUNCTION;
    case 'symbol':
      return MARKER_SYMBOL;
    default:
      break;
  }
  if (value === null) return null;
  try {
    return walkObject(value as object, open, state, allowToJSON);
  } catch {
    // Proxies and exotic objects can throw from any trap, including instanceof and Array.isArray.
    return MARKER_UNSERIALIZABLE;
  }
}

function walkObject(obj: object, open: number, state: WalkState, allowToJSON: boolean): JsonValue | undefined {
  if (obj instanceof Date) {
    return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  }
  // Before toJSON: Node's Buffer.toJSON would otherwise expand every byte.
  if (ArrayBuffer.isView(obj) || isArrayBuffer(obj)) return binaryMarker(obj.byteLength);
  if (obj instanceof String || obj instanceof Number || obj instanceof Boolean) {
    return walk(obj.valueOf(), open, state, false);
  }
  if (state.ancestors.has(obj)) return MARKER_CIRCULAR;

  const isError = obj instanceof Error;
  // Errors skip toJSON: a custom one could serialize the stack, which holds local paths.
  if (!isError && allowToJSON) {
    const toJSON: unknown = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const result: unknown = toJSON.call(obj);
      // `return this` is common: then the object's own keys are what it means to serialize.
      if (result !== obj) {
        // On the path while the result is walked, so a result that contains `obj` is circular.
        state.ancestors.add(obj);
        try {
          // Like JSON.stringify, the result's own toJSON is not called again.
          return walk(result, open, state, false);
        } finally {
          state.ancestors.delete(obj);
        }
      }
    }
  }

  if (open + 1 > state.limits.maxDepth) return MARKER_MAX_DEPTH;
  if (state.nodes > state.limits.maxBytes) return MARKER_TRUNCATED;

  state.ancestors.add(obj);
  try {
    if (isError) return walkError(obj, open + 1, state);
    if (Array.isArray(obj)) return walkArray(obj, open + 1, state);
    if (obj instanceof Map) return walkMap(obj, open + 1, state);
    if (obj instanceof Set) return walkSet(obj, open + 1, state);
    return walkPlain(obj, open + 1, state);
  } finally {
    state.ancestors.delete(obj);
  }
}

function walkError(error: Error, open: number, state: WalkState): JsonObject {
  const out: JsonObject = {};
  for (const key of ['name', 'message']) {
    const value = child(error, key, open, state);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function walkArray(array: readonly unknown[], open: number, state: WalkState): JsonValue[] {
  const length = array.length;
  const kept = Math.min(length, state.limits.maxArrayLength);
  const out: JsonValue[] = [];
  for (let i = 0; i < kept; i++) out.push(child(array, i, open, state) ?? null);
  if (length > kept) out.push(moreItemsMarker(length - kept));
  return out;
}

function walkSet(set: ReadonlySet<unknown>, open: number, state: WalkState): JsonValue[] {
  const max = state.limits.maxArrayLength;
  const out: JsonValue[] = [];
  for (const item of set) {
    if (out.length >= max) break;
    out.push(walk(item, open, state, true) ?? null);
  }
  if (set.size > out.length) out.push(moreItemsMarker(set.size - out.length));
  return out;
}

function walkMap(map: ReadonlyMap<unknown, unknown>, open: number, state: WalkState): JsonObject {
  const max = state.limits.maxKeys;
  const out: JsonObject = {};
  let seen = 0;
  for (const [key, value] of map) {
    if (seen >= max) break;
    seen += 1;
    const normalized = walk(value, open, state, true);
    if (normalized !== undefined) setOwn(out, truncateString(keyString(key), state.limits.maxStringLength), normalized);
  }
  if (map.size > seen) setOwn(out, TRUNCATED_KEYS_KEY, map.size - seen);
  return out;
}

function walkPlain(obj: object, open: number, state: WalkState): JsonObject {
  // Own enumerable string keys only, as JSON.stringify does; symbol keys are ignored.
  const keys = Object.keys(obj);
  const kept = Math.min(keys.length, state.limits.maxKeys);
  const out: JsonObject = {};
  for (let i = 0; i < kept; i++) {
    const key = keys[i] as string;
    const value = child(obj, key, open, state);
    if (value !== undefined) setOwn(out, truncateString(key, state.limits.maxStringLength), value);
  }
  if (keys.length > kept) setOwn(out, TRUNCATED_KEYS_KEY, keys.length - kept);
  return out;
}

/** Reads one property, turning a throwing getter or proxy trap into a marker for that value only. */
function child(obj: object, key: string | number, open: number, state: WalkState): JsonValue | undefined {
  let value: unknown;
  try {
    value = (obj as Record<string | number, unknown>)[key];
  } catch {
    state.nodes += 1;
    return MARKER_UNSERIALIZABLE;
  }
  return walk(value, open, state, true);
}

function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  try {
    return String(key);
  } catch {
    return MARKER_UNSERIALIZABLE;
  }
}

function isArrayBuffer(obj: object): obj is ArrayBuffer {
  return (
    obj instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && obj instanceof SharedArrayBuffer)
  );
}

function isJsonObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Plain assignment of `__proto__` would change the prototype instead of adding a key. */
export function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

export function truncateString(value: string, maxLength: number): string {
  if (value.length <= maxLength) return value;
  let cut = Math.max(0, maxLength);
  // Never split a surrogate pair: keep one unit fewer instead.
  if (cut > 0 && isHighSurrogate(value.charCodeAt(cut - 1)) && isLowSurrogate(value.charCodeAt(cut))) cut -= 1;
  return value.slice(0, cut) + truncatedStringSuffix(value.length - cut);
}

/** UTF-8 length without allocating (TextEncoder would copy megabytes just to count them). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (isHighSurrogate(code) && i + 1 < value.length && isLowSurrogate(value.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else bytes += 3; // includes a lone surrogate, encoded as U+FFFD
  }
  return bytes;
}

function jsonBytes(value: JsonValue): number {
  return utf8Length(JSON.stringify(value));
}

/** Size of an object's JSON given its entries' sizes: braces plus commas between entries. */
function objectBytes(entryBytesSum: number, entryCount: number): number {
  return entryCount === 0 ? 2 : 2 + entryBytesSum + entryCount - 1;
}

/** The byte-cap step of `normalizeData`, on data that is already plain JSON. */
export function capDataBytes(data: JsonObject, keepKeys: readonly string[], maxBytes: number = DEFAULT_LIMITS.maxBytes): JsonObject {
  const json = JSON.stringify(data);
  // UTF-8 needs at most 3 bytes per UTF-16 unit, and at least 1: both bounds skip counting.
  if (json.length * 3 <= maxBytes) return data;
  if (json.length <= maxBytes && utf8Length(json) <= maxBytes) return data;

  const keys = Object.keys(data);
  const sizes = new Map<string, number>();
  let sum = 0;
  for (const key of keys) {
    const size = jsonBytes(key) + 1 + jsonBytes(data[key] as JsonValue);
    sizes.set(key, size);
    sum += size;
  }
  let count = keys.length;
  const dropped: string[] = [];
  const removed = new Set<string>();
  const droppedEntryBase = jsonBytes(DROPPED_KEY) + 1;
  let droppedListBytes = 2;
  const total = (): number =>
    dropped.length === 0
      ? objectBytes(sum, count)
      : objectBytes(sum + droppedEntryBase + droppedListBytes, count + 1);
  const drop = (key: string): void => {
    sum -= sizes.get(key) ?? 0;
    count -= 1;
    removed.add(key);
    droppedListBytes += jsonBytes(key) + (dropped.length > 0 ? 1 : 0);
    dropped.push(key);
  };

  if (sizes.has(DROPPED_KEY)) drop(DROPPED_KEY);
  const keep = new Set(keepKeys);
  const candidates = keys
    .map((key, index) => ({ key, index, size: sizes.get(key) ?? 0 }))
    .filter(({ key }) => !keep.has(key) && key !== DROPPED_KEY)
    .sort((a, b) => b.size - a.size || a.index - b.index);
  for (const candidate of candidates) {
    if (total() <= maxBytes) break;
    drop(candidate.key);
  }

  const out: JsonObject = {};
  for (const key of keys) if (!removed.has(key)) setOwn(out, key, data[key] as JsonValue);
  if (dropped.length > 0) {
    const budget = maxBytes - objectBytes(sum + droppedEntryBase, count + 1);
    // When the kept entries alone overflow, cutting the list would lose information for nothing.
    out[DROPPED_KEY] = budget < 2 ? dropped : fitList(dropped, budget);
  }
  return out;
}

/** The longest prefix of `names` whose JSON fits `budget` bytes, cut like an over-long array. */
function fitList(names: string[], budget: number): string[] {
  if (jsonBytes(names) <= budget) return names;
  let size = 2;
  let kept = 0;
  for (; kept < names.length; kept++) {
    const add = jsonBytes(names[kept] as string) + (kept > 0 ? 1 : 0);
    const marker = jsonBytes(moreItemsMarker(names.length - kept - 1)) + 1;
    if (size + add + marker > budget) break;
    size += add;
  }
  return [...names.slice(0, kept), moreItemsMarker(names.length - kept)];
}
