/**
 * Encodes the trace intake's `AgentPayload` protobuf (DataDog/datadog-agent
 * pkg/proto/datadog/trace/agent_payload.proto, vendored under proto/datadog/trace/) with
 * protobufjs from the generated descriptor, so field numbers and wire types come from the schema.
 *
 * 64-bit fields: protobufjs writes (u)int64 from a `{ low, high }` pair of 32-bit halves
 * (`LongBits.from`), so a bigint is split exactly into those halves instead of going through
 * a number or the optional `long` package.
 */
import protobuf from 'protobufjs/light.js';
import { traceAgentPayloadDescriptor } from '../proto/trace-agent-payload.js';
import type { Span } from './span.js';

export interface TraceChunkModel {
  priority: number;
  origin: string;
  spans: Span[];
  tags: Record<string, string>;
  droppedTrace: boolean;
}

export interface TracerPayloadModel {
  containerID: string;
  languageName: string;
  languageVersion: string;
  tracerVersion: string;
  runtimeID: string;
  chunks: TraceChunkModel[];
  tags: Record<string, string>;
  env: string;
  hostname: string;
  appVersion: string;
}

export interface AgentPayloadModel {
  hostName: string;
  env: string;
  tracerPayloads: TracerPayloadModel[];
  tags: Record<string, string>;
  agentVersion: string;
  targetTPS: number;
  errorTPS: number;
}

interface LongBitsLike {
  low: number;
  high: number;
  unsigned: boolean;
}

/** The exact two's-complement halves of a 64-bit integer (signed values wrap, as int64 does). */
export function toLongBits(value: bigint): LongBitsLike {
  const u = BigInt.asUintN(64, value);
  return { low: Number(u & 0xffffffffn), high: Number(u >> 32n), unsigned: true };
}

let agentPayloadType: protobuf.Type | null = null;

/** Built on first use: resolving the descriptor costs a few milliseconds nobody should pay at import. */
function agentPayload(): protobuf.Type {
  if (agentPayloadType === null) {
    agentPayloadType = protobuf.Root.fromJSON(traceAgentPayloadDescriptor).lookupType('datadog.trace.AgentPayload');
  }
  return agentPayloadType;
}

function spanMessage(span: Span): Record<string, unknown> {
  const message: Record<string, unknown> = {
    service: span.service,
    name: span.name,
    resource: span.resource,
    traceID: toLongBits(span.traceId),
    spanID: toLongBits(span.spanId),
    parentID: toLongBits(span.parentId),
    start: toLongBits(span.start),
    duration: toLongBits(span.duration),
    error: span.error,
    meta: span.meta,
    metrics: span.metrics,
    type: span.type,
  };
  if (span.metaStruct !== undefined) message.meta_struct = span.metaStruct;
  if (span.spanLinks !== undefined) {
    message.spanLinks = span.spanLinks.map((link) => ({
      traceID: toLongBits(link.traceId),
      traceID_high: toLongBits(link.traceIdHigh),
      spanID: toLongBits(link.spanId),
      attributes: link.attributes,
      tracestate: link.tracestate,
      flags: link.flags >>> 0,
    }));
  }
  return message;
}

function chunkMessage(chunk: TraceChunkModel): Record<string, unknown> {
  return {
    priority: chunk.priority,
    origin: chunk.origin,
    spans: chunk.spans.map(spanMessage),
    tags: chunk.tags,
    droppedTrace: chunk.droppedTrace,
  };
}

/** The protobuf bytes of an AgentPayload (not compressed). */
export function encodeAgentPayload(payload: AgentPayloadModel): Uint8Array {
  const message = {
    hostName: payload.hostName,
    env: payload.env,
    tracerPayloads: payload.tracerPayloads.map((tp) => ({
      containerID: tp.containerID,
      languageName: tp.languageName,
      languageVersion: tp.languageVersion,
      tracerVersion: tp.tracerVersion,
      runtimeID: tp.runtimeID,
      chunks: tp.chunks.map(chunkMessage),
      tags: tp.tags,
      env: tp.env,
      hostname: tp.hostname,
      appVersion: tp.appVersion,
    })),
    tags: payload.tags,
    agentVersion: payload.agentVersion,
    targetTPS: payload.targetTPS,
    errorTPS: payload.errorTPS,
  };
  return agentPayload().encode(message).finish();
}
