import type { JsonObject, TelemetryEvent } from '../../packages/core/src/types.js';

export function makeStorageEvent(i: number, tag?: string, extra?: JsonObject): TelemetryEvent;
