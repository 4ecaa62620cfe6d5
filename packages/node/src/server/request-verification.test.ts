import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HttpError } from './http-io.js';
import { readIngestHeaders, signatureMatches } from './request-verification.js';

interface SignatureCase {
  name: string;
  secret: string;
  timestamp: string;
  nonce: string;
  body: string;
  signature: string;
}

const CASES = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../../../test/vectors/signature.json', import.meta.url)), 'utf8')) as { cases: SignatureCase[] }
).cases;

const HEADERS = {
  authorization: 'Bearer tk_abc',
  'x-timestamp': '1767322800',
  'x-nonce': '3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f',
  'x-signature': 'a'.repeat(64),
  'x-batch-size': '2',
  'x-schema-version': '1.0.0',
};

function failure(headers: Record<string, string>): { status: number; code: string } {
  try {
    readIngestHeaders(headers);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('signatureMatches', () => {
  it.each(CASES)('accepts the vector "$name" over its UTF-8 bytes', (c) => {
    expect(signatureMatches(c.secret, c.timestamp, c.nonce, Buffer.from(c.body, 'utf8'), c.signature)).toBe(true);
    expect(signatureMatches(c.secret, c.timestamp, c.nonce, Buffer.from(c.body, 'utf8'), c.signature.toUpperCase())).toBe(true);
  });

  it.each(CASES)('refuses "$name" with one byte changed, another secret, or a cut signature', (c) => {
    const body = Buffer.from(c.body, 'utf8');
    const changed = Buffer.from(body);
    changed.writeUInt8((changed.at(-1) ?? 0) ^ 1, changed.length - 1);
    expect(signatureMatches(c.secret, c.timestamp, c.nonce, changed, c.signature)).toBe(false);
    expect(signatureMatches(`${c.secret}x`, c.timestamp, c.nonce, body, c.signature)).toBe(false);
    expect(signatureMatches(c.secret, c.timestamp, c.nonce, body, c.signature.slice(0, 62))).toBe(false);
    expect(signatureMatches(c.secret, c.timestamp, c.nonce, body, '')).toBe(false);
  });
});

describe('readIngestHeaders', () => {
  it('reads well-formed headers', () => {
    expect(readIngestHeaders({ ...HEADERS, 'content-encoding': 'GZIP', 'content-length': '120' })).toMatchObject({
      token: 'tk_abc',
      timestamp: '1767322800',
      timestampSeconds: 1_767_322_800,
      batchSize: 2,
      encoding: 'gzip',
      contentLength: 120,
    });
  });

  it.each(Object.keys(HEADERS))('names a missing %s', (name) => {
    const headers: Record<string, string> = { ...HEADERS };
    delete headers[name];
    expect(failure(headers)).toEqual({ status: 400, code: 'missing_header' });
    expect(failure({ ...HEADERS, [name]: '  ' })).toEqual({ status: 400, code: 'missing_header' });
  });

  it.each([
    ['x-timestamp', '1767322800.5', 400, 'malformed'],
    ['x-timestamp', '-1', 400, 'malformed'],
    ['x-nonce', 'not-a-uuid', 400, 'malformed'],
    ['x-batch-size', 'two', 400, 'malformed'],
    ['x-schema-version', '2.0.0', 400, 'malformed'],
    ['content-encoding', 'deflate', 400, 'bad_encoding'],
    ['authorization', 'Token tk_abc', 401, 'unauthorized'],
    ['authorization', 'Bearer two tokens', 401, 'unauthorized'],
  ])('refuses %s: %s with %i %s', (name, value, status, code) => {
    expect(failure({ ...HEADERS, [name]: value })).toEqual({ status, code });
  });
});
