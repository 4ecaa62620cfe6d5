/**
 * What the trace agent answers to each endpoint, from bytes to a result: the HTTP adapter maps
 * `ok` to 200 and a failure to 400. Pure, so both the Node server and any other transport share
 * one definition.
 */
import { rateByServiceBody } from './trace/rate-by-service.js';
import type { TraceBuffer } from './trace/buffer.js';

export interface TracerRequestMeta {
  lang?: string;
  langVersion?: string;
  tracerVersion?: string;
  containerId?: string;
  /** X-Datadog-Trace-Count, when sent. */
  traceCount?: number;
}

export type HandlerResult = { ok: true; body: string; contentType?: string } | { ok: false; message: string };

export interface TraceAgentHandler {
  traces(version: 'v0.4' | 'v0.5', body: Uint8Array, meta: TracerRequestMeta): HandlerResult;
  stats(body: Uint8Array, meta: TracerRequestMeta): HandlerResult;
  info(): HandlerResult;
}

export interface TraceAgentInfo {
  version: string;
  endpoints: readonly string[];
  statsdPort: number | null;
  receiverPort: number | null;
  env: string | null;
}

function tracerMeta(meta: TracerRequestMeta): { lang?: string; langVersion?: string; tracerVersion?: string; containerId?: string } {
  const { traceCount: _count, ...rest } = meta;
  return rest;
}

export function createTraceAgentHandler(buffer: TraceBuffer, info: () => TraceAgentInfo): TraceAgentHandler {
  return {
    traces(version, body, meta) {
      const result = buffer.ingest(version, body, tracerMeta(meta));
      if (!result.ok) return { ok: false, message: `cannot decode ${version} traces: ${result.error.message}` };
      return { ok: true, body: rateByServiceBody(buffer.rateByService()) };
    },
    stats(body, meta) {
      return buffer.addStats(body, tracerMeta(meta)) ? { ok: true, body: 'OK', contentType: 'text/plain' } : { ok: false, message: 'invalid client stats payload' };
    },
    info() {
      const current = info();
      // The shape tracers read at startup: `client_drop_p0s: false` tells them to send every
      // trace (this agent computes no stats from sampled-out traces), and the endpoints list
      // tells them /v0.6/stats exists for client-side stats.
      return {
        ok: true,
        body: JSON.stringify({
          version: current.version,
          endpoints: current.endpoints,
          feature_flags: [],
          client_drop_p0s: false,
          span_meta_structs: true,
          long_running_spans: false,
          config: {
            default_env: current.env ?? 'none',
            statsd_port: current.statsdPort ?? 0,
            receiver_port: current.receiverPort ?? 0,
          },
        }),
      };
    },
  };
}
