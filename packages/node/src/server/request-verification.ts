/**
 * The checks of an ingest request that need no storage: its headers, and its signature. The
 * signature is compared in constant time over equal-length buffers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HEADER, SERVER_ERROR_CODES, signedString } from '@telemetry-kit/core/node';
import { HttpError } from './http-io.js';

export interface IngestHeaders {
  token: string;
  /** X-Timestamp exactly as sent (it is part of the signed string). */
  timestamp: string;
  timestampSeconds: number;
  nonce: string;
  signature: string;
  batchSize: number;
  schemaVersion: string;
  encoding: 'identity' | 'gzip';
  /** Content-Length, when the client declared one. */
  contentLength: number | null;
}

/** Header names as documented (the lookup itself is case-insensitive). */
const REQUIRED: ReadonlyArray<readonly [keyof typeof HEADER, string]> = [
  ['authorization', 'Authorization'],
  ['timestamp', 'X-Timestamp'],
  ['nonce', 'X-Nonce'],
  ['signature', 'X-Signature'],
  ['batchSize', 'X-Batch-Size'],
  ['schemaVersion', 'X-Schema-Version'],
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BEARER = /^Bearer +([^\s]+)$/i;
const SIGNATURE = /^[0-9a-f]{64}$/i;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function malformed(message: string): HttpError {
  return new HttpError(400, SERVER_ERROR_CODES.malformed, message);
}

/** Reads and checks the headers of an ingest request; throws the 400/401 the first problem calls for. */
export function readIngestHeaders(headers: IncomingHttpHeaders): IngestHeaders {
  for (const [key, display] of REQUIRED) {
    const value = single(headers, HEADER[key]);
    if (value === undefined || value.trim() === '') {
      throw new HttpError(400, SERVER_ERROR_CODES.missingHeader, `missing header ${display}`);
    }
  }
  const authorization = single(headers, HEADER.authorization) ?? '';
  const bearer = BEARER.exec(authorization.trim());
  if (bearer?.[1] === undefined) throw new HttpError(401, SERVER_ERROR_CODES.unauthorized, 'Authorization must be "Bearer <token>"');

  const timestamp = (single(headers, HEADER.timestamp) ?? '').trim();
  if (!/^\d{1,15}$/.test(timestamp)) throw malformed(`X-Timestamp must be unix seconds (an integer), got ${JSON.stringify(timestamp.slice(0, 40))}`);

  const nonce = (single(headers, HEADER.nonce) ?? '').trim();
  if (!UUID.test(nonce)) throw malformed(`X-Nonce must be a UUID, got ${JSON.stringify(nonce.slice(0, 80))}`);

  const batchSizeText = (single(headers, HEADER.batchSize) ?? '').trim();
  if (!/^\d{1,9}$/.test(batchSizeText)) throw malformed(`X-Batch-Size must be a non-negative integer, got ${JSON.stringify(batchSizeText.slice(0, 40))}`);

  const schemaVersion = (single(headers, HEADER.schemaVersion) ?? '').trim();
  if (!/^1\.\d+\.\d+$/.test(schemaVersion)) throw malformed(`unsupported X-Schema-Version ${JSON.stringify(schemaVersion.slice(0, 40))}: this server accepts 1.x.y`);

  const rawEncoding = (single(headers, HEADER.contentEncoding) ?? 'identity').trim().toLowerCase();
  let encoding: IngestHeaders['encoding'];
  if (rawEncoding === 'identity' || rawEncoding === '') encoding = 'identity';
  else if (rawEncoding === 'gzip' || rawEncoding === 'x-gzip') encoding = 'gzip';
  else throw new HttpError(400, SERVER_ERROR_CODES.badEncoding, `unsupported Content-Encoding ${JSON.stringify(rawEncoding.slice(0, 40))}: use gzip or none`);

  const lengthText = single(headers, 'content-length');
  const contentLength = lengthText !== undefined && /^\d+$/.test(lengthText.trim()) ? Number(lengthText) : null;

  return {
    token: bearer[1],
    timestamp,
    timestampSeconds: Number(timestamp),
    nonce,
    signature: (single(headers, HEADER.signature) ?? '').trim(),
    batchSize: Number(batchSizeText),
    schemaVersion,
    encoding,
    contentLength,
  };
}

/** Whether `signature` is HMAC-SHA256(secret, `<timestamp>:<nonce>:<body>`), compared in constant time. */
export function signatureMatches(secret: string, timestamp: string, nonce: string, body: Buffer, signature: string): boolean {
  // The body is hashed as the bytes received: no decoding and re-encoding on the way.
  const expected = createHmac('sha256', secret).update(signedString(timestamp, nonce, ''), 'utf8').update(body).digest();
  // Only the format is checked before comparing, and it says nothing about the secret.
  if (!SIGNATURE.test(signature)) return false;
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The token of `Authorization: Bearer <token>` on a query request; 401 when absent. */
export function bearerToken(headers: IncomingHttpHeaders): string {
  const value = single(headers, HEADER.authorization);
  const bearer = value === undefined ? null : BEARER.exec(value.trim());
  if (bearer?.[1] === undefined) {
    throw new HttpError(401, SERVER_ERROR_CODES.unauthorized, 'missing or malformed Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
  }
  return bearer[1];
}
