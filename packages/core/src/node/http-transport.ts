/**
 * Sync requests over node:http(s). Unlike `fetch`, the socket can be unref'd, so a background
 * request in flight never keeps the host program alive: a CLI exits as soon as its own work is
 * done and the unsent batch simply stays pending for the next run. node:https (and with it TLS)
 * loads only when the first request is sent.
 */
import type { IncomingMessage } from 'node:http';
import { NetworkError, type HttpRequest, type HttpResponse, type HttpTransport } from '../sync/transport.js';

/** Answers larger than this are cut short: sync answers are small JSON documents. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

type RequestFn = typeof import('node:http').request;

let httpRequest: RequestFn | null = null;
let httpsRequest: RequestFn | null = null;

async function requestFor(protocol: string): Promise<RequestFn> {
  if (protocol === 'https:') {
    httpsRequest ??= (await import('node:https')).request;
    return httpsRequest;
  }
  httpRequest ??= (await import('node:http')).request;
  return httpRequest;
}

function headersOf(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export const nodeHttpTransport: HttpTransport = async (request: HttpRequest): Promise<HttpResponse> => {
  const url = new URL(request.url);
  const send = await requestFor(url.protocol);
  const body = request.body === null ? null : typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (message: string, timedOut: boolean, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new NetworkError(message, timedOut, { cause }));
    };
    const req = send(url, {
      method: request.method,
      headers: { ...request.headers, ...(body === null ? {} : { 'content-length': String(body.byteLength) }) },
      // A fresh connection per request: a pooled keep-alive socket would be ref'd again by the agent.
      agent: false,
    });
    const timer = setTimeout(() => fail(`timed out after ${request.timeoutMs} ms`, true), request.timeoutMs);
    if (request.background) {
      timer.unref();
      req.on('socket', (socket) => socket.unref());
    }
    req.on('error', (error) => fail(error.message, false, error));
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
      });
      response.on('error', (error) => fail(error.message, false, error));
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: headersOf(response), body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body ?? undefined);
  });
};
