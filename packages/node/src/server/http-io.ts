/**
 * HTTP plumbing of the server: JSON answers, the error type handlers throw, and request bodies
 * read with a bound enforced as bytes arrive (and again after gunzip).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { SERVER_ERROR_CODES } from '@telemetry-kit/core/node';

/** An answer with an `{"error":{"code","message"}}` body. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The client went away before its request was complete: there is nobody to answer. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text, 'utf8')),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError, extraHeaders: Record<string, string> = {}): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, { ...error.headers, ...extraHeaders });
}

export function payloadTooLarge(message: string): HttpError {
  // The rest of the body is not read: the connection is closed after the answer.
  return new HttpError(413, SERVER_ERROR_CODES.tooLarge, message, { connection: 'close' });
}

/**
 * Reads the body, failing with 413 as soon as more than `maxBytes` have arrived: the request
 * is paused there and the rest is never read.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
      action();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        settle(() => reject(payloadTooLarge(`request body exceeds ${maxBytes} bytes`)));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle(() => resolve(Buffer.concat(chunks, size)));
    const onGone = (): void => settle(() => reject(new ClientGoneError('client disconnected during the request body')));
    const onClose = (): void => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}

/** The body after Content-Encoding: gunzipped (bounded by `maxBytes`) or as is. */
export function decodeBody(raw: Buffer, encoding: 'identity' | 'gzip', maxBytes: number): Promise<Buffer> {
  if (encoding === 'identity') return Promise.resolve(raw);
  return new Promise((resolve, reject) => {
    gunzip(raw, { maxOutputLength: maxBytes }, (error, out) => {
      if (error === null) resolve(out);
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
        reject(payloadTooLarge(`decompressed request body exceeds ${maxBytes} bytes`));
      } else reject(new HttpError(400, SERVER_ERROR_CODES.badEncoding, `body is not valid gzip: ${error.message}`));
    });
  });
}
