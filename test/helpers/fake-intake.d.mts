/** Which intake endpoint a request hit, by path. */
export type IntakeKind = 'series' | 'events' | 'check_run' | 'sketches' | 'traces' | 'stats' | 'other';

export interface RecordedRequest {
  method: string;
  /** The URL path, e.g. `/api/v0.2/traces`. */
  path: string;
  /** The query string, with its `?`, or ''. */
  query: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as received. */
  rawBody: Buffer;
  /** The body after undoing Content-Encoding (gzip, deflate, br). */
  body: Buffer;
  kind: IntakeKind;
  /**
   * The decoded body: parsed JSON (series, events, check_run), a SketchPayload or AgentPayload
   * object (protobufjs toObject, `.proto` field names, AgentPayload ids and times as bigint),
   * or the msgpack StatsPayload (64-bit integers as bigint). Undefined for other paths or when
   * decoding failed.
   */
  decoded: unknown;
  /** Why decompression or decoding failed, if it did. */
  decodeError: string | undefined;
  /** The status answered, or null for a request left hanging. */
  status: number | null;
  receivedAt: number;
}

export interface ResponseScript {
  /** Statuses for the next requests, in order (e.g. [500, 202]); then `status`. */
  statuses?: number[];
  /** The status once `statuses` is used up. Defaults to the intake's default (202). */
  status?: number;
  /** Wait this long before answering (an intake that is slow). */
  delayMs?: number;
  /** Never answer (an intake that is down but accepts connections); `close()` drops the socket. */
  hang?: boolean;
  /** The response body; `{}` for 2xx, an `errors` JSON otherwise. */
  body?: string;
}

export interface FakeIntake {
  /** `http://127.0.0.1:<port>`: use as ddUrl / apmDdUrl (DD_DD_URL / DD_APM_DD_URL). */
  url: string;
  port: number;
  /** Every request so far, in arrival order (live array). */
  requests: RecordedRequest[];
  /** Scripts the answers for a path (exact match), or for every path with '*'. */
  respond(path: string, script: ResponseScript): void;
  clearResponses(): void;
  byPath(path: string): RecordedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
  /** Resolves with the requests once `predicate` holds; rejects after `timeoutMs` (default 5000). */
  waitFor(predicate: (requests: readonly RecordedRequest[]) => boolean, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Drops hanging requests and open connections and stops listening. */
  close(): Promise<void>;
}

export interface FakeIntakeOptions {
  host?: string;
  /** Defaults to 0 (an ephemeral port). */
  port?: number;
  /** The status when nothing is scripted. Defaults to 202. */
  defaultStatus?: number;
  onRequest?: (request: RecordedRequest) => void;
}

export const PROTO_ROOT: string;
export function startFakeIntake(options?: FakeIntakeOptions): Promise<FakeIntake>;

export interface DecodedSpanLink {
  traceID: bigint;
  traceID_high: bigint;
  spanID: bigint;
  attributes: Record<string, string>;
  tracestate: string;
  flags: number;
}

export interface DecodedSpan {
  service: string;
  name: string;
  resource: string;
  traceID: bigint;
  spanID: bigint;
  parentID: bigint;
  start: bigint;
  duration: bigint;
  error: number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
  type: string;
  meta_struct: Record<string, Uint8Array>;
  spanLinks: DecodedSpanLink[];
}

export interface DecodedTraceChunk {
  priority: number;
  origin: string;
  spans: DecodedSpan[];
  tags: Record<string, string>;
  droppedTrace: boolean;
}

export interface DecodedTracerPayload {
  containerID: string;
  languageName: string;
  languageVersion: string;
  tracerVersion: string;
  runtimeID: string;
  chunks: DecodedTraceChunk[];
  tags: Record<string, string>;
  env: string;
  hostname: string;
  appVersion: string;
  APMMode: string;
}

export interface DecodedAgentPayload {
  hostName: string;
  env: string;
  tracerPayloads: DecodedTracerPayload[];
  tags: Record<string, string>;
  agentVersion: string;
  targetTPS: number;
  errorTPS: number;
  rareSamplerEnabled: boolean;
  APMMode: string;
}

/** Decodes AgentPayload protobuf bytes with the .proto files under proto/. */
export function decodeAgentPayload(bytes: Uint8Array): DecodedAgentPayload;
/** Decodes SketchPayload protobuf bytes with the vendored .proto file (fields as the .proto names them). */
export function decodeSketchPayload(bytes: Uint8Array): Record<string, unknown>;
/** Decodes a msgpack body; 64-bit integers as bigint. */
export function decodeMsgpackBody(bytes: Uint8Array): unknown;
