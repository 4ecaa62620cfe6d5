/**
 * Encodes distributions as the `datadog.agentpayload.SketchPayload` protobuf the sketches intake
 * (`POST /api/beta/sketches`) reads. Field numbers come from the vendored
 * proto/datadog/agent-payload/agent_payload.proto through the generated descriptor, never by hand.
 */
import protobuf from 'protobufjs/light.js';
import { metricsPayloadDescriptor } from '../proto/metrics-payload.js';

/** One `Sketch.Dogsketch`: a 10 s bucket of one context. */
export interface Dogsketch {
  /** Bucket start, Unix seconds. */
  ts: number;
  cnt: number;
  min: number;
  max: number;
  avg: number;
  sum: number;
  /** Sorted keys (sint32) and their counts (uint32, ≤ 65535), in parallel. */
  k: number[];
  n: number[];
}

/** One `SketchPayload.Sketch`: a context and its buckets. */
export interface SketchSeries {
  metric: string;
  host: string;
  tags: string[];
  dogsketches: Dogsketch[];
}

let sketchPayloadType: protobuf.Type | null = null;

// Built on first use: reflection setup costs a few milliseconds that processes without
// distributions should not pay at import.
function sketchPayload(): protobuf.Type {
  sketchPayloadType ??= protobuf.Root.fromJSON(metricsPayloadDescriptor).lookupType('datadog.agentpayload.SketchPayload');
  return sketchPayloadType;
}

export function encodeSketchPayload(sketches: readonly SketchSeries[]): Uint8Array {
  const type = sketchPayload();
  const bytes = type.encode(type.fromObject({ sketches })).finish();
  // Writer.finish() returns a Node Buffer where one exists; hand out a plain view either way.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
