import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nobleHmacSha256Hex } from '../noble-sha256.js';
import { ingestUrl, parseRetryAfter, signRequest, signedString } from './protocol.js';

interface SignatureCase {
  name: string;
  secret: string;
  timestamp: string;
  nonce: string;
  body: string;
  signature: string;
}

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../test/vectors/signature.json', import.meta.url)), 'utf8')) as {
  cases: SignatureCase[];
};
const nodeHmac = (key: string, message: string): string => createHmac('sha256', key).update(message).digest('hex');

describe('signature vectors', () => {
  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(signRequest(nobleHmacSha256Hex, c.secret, c.timestamp, c.nonce, c.body)).toBe(c.signature);
    expect(signRequest(nodeHmac, c.secret, c.timestamp, c.nonce, c.body)).toBe(c.signature);
  });

  it('signs timestamp:nonce:body', () => {
    expect(signedString('1', 'n', '{}')).toBe('1:n:{}');
  });
});

describe('ingestUrl', () => {
  it('joins the endpoint, org and app with or without a trailing slash', () => {
    expect(ingestUrl('http://h:1', 'o', 'a')).toBe('http://h:1/v1/ingest/o/a');
    expect(ingestUrl('http://h:1/base/', 'o', 'a b')).toBe('http://h:1/base/v1/ingest/o/a%20b');
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(' 0 ', 0)).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, 0)).toBeNull();
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter('-1', 0)).toBeNull();
  });
});
