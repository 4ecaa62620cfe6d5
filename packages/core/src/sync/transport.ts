/**
 * The HTTP capability sync asks its runtime for. Node supplies one over node:http whose
 * background requests use unref'd sockets (an automatic sync never holds the process open);
 * other runtimes use `fetch`.
 */

export interface HttpRequest {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body: Uint8Array | string | null;
  /** The request is abandoned (and rejects with a NetworkError) after this long. */
  timeoutMs: number;
  /**
   * Background requests (auto-sync) must not keep the process alive; an awaited `sync()` must,
   * or a script ending in `await kit.sync()` would exit mid-request.
   */
  background: boolean;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** The request did not produce an HTTP answer: refused, reset, DNS, TLS or timed out. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

/** gzip for request bodies; runtimes without one leave sync uncompressed. */
export type Gzip = (data: Uint8Array) => Promise<Uint8Array>;

/** A transport over the global `fetch` (edge and worker runtimes, or Node without the adapter). */
export function fetchTransport(fetchImpl: typeof fetch = globalThis.fetch): HttpTransport {
  return async (request) => {
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new NetworkError(timedOut ? `timed out after ${request.timeoutMs} ms` : describe(error), timedOut, { cause: error });
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { status: response.status, headers, body: text };
  };
}

/** gzip through the web-standard CompressionStream, where the runtime has it. */
export function compressionStreamGzip(): Gzip | null {
  const Stream = (globalThis as { CompressionStream?: new (format: 'gzip') => TransformStream<Uint8Array, Uint8Array> }).CompressionStream;
  if (!Stream) return null;
  return async (data) => {
    const compressed = new Response(new Blob([data]).stream().pipeThrough(new Stream('gzip')));
    return new Uint8Array(await compressed.arrayBuffer());
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
