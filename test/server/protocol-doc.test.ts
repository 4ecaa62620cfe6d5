/**
 * docs/PROTOCOL.md stays true: its worked example is the first signature vector, verbatim, its
 * signature is what node:crypto computes, the reference server answers its request as shown,
 * and every server error code is documented.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVER_ERROR_CODES } from '../../packages/core/src/sync/protocol.js';
import { createIngestServer, openIngestStorage, type AppRegistry, type IngestStorage } from '../../packages/node/src/server/index.js';
import { tempDir } from '../helpers/env.js';
import { VECTORS_DIR } from '../helpers/vectors.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/PROTOCOL.md', import.meta.url)), 'utf8');

interface SignatureCase {
  secret: string;
  timestamp: string;
  nonce: string;
  body: string;
  signature: string;
}

const vector = (JSON.parse(readFileSync(`${VECTORS_DIR}signature.json`, 'utf8')) as { cases: SignatureCase[] }).cases[0] as SignatureCase;

/** The content of the fenced block whose info string ends with `label` (```json example-body). */
function block(label: string): string {
  const match = new RegExp('^```[a-z]* ' + label + '\\n([\\s\\S]*?)\\n```$', 'm').exec(DOC);
  if (match?.[1] === undefined) throw new Error(`docs/PROTOCOL.md has no block labelled ${label}`);
  return match[1];
}

/** A value of the worked example's table: | name | `value` | */
function tableValue(name: string): string {
  const match = new RegExp('^\\| ' + name + ' \\| `([^`]*)` \\|$', 'm').exec(DOC);
  if (match?.[1] === undefined) throw new Error(`docs/PROTOCOL.md has no "${name}" row`);
  return match[1];
}

describe('docs/PROTOCOL.md worked example', () => {
  const secret = tableValue('secret');
  const timestamp = tableValue('timestamp');
  const nonce = tableValue('nonce');
  const body = block('example-body');
  const signature = block('example-signature');

  it('is the first case of test/vectors/signature.json, verbatim', () => {
    expect({ secret, timestamp, nonce, body, signature }).toEqual({
      secret: vector.secret,
      timestamp: vector.timestamp,
      nonce: vector.nonce,
      body: vector.body,
      signature: vector.signature,
    });
  });

  it('its signature is HMAC-SHA256(secret, "<timestamp>:<nonce>:<body>") as computed by node:crypto', () => {
    const signed = block('example-signed-string');
    expect(signed).toBe(`${timestamp}:${nonce}:${body}`);
    const computed = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(signed, 'utf8')).digest('hex');
    expect(computed).toBe(signature);
    expect(computed).toBe(vector.signature);
  });

  it('its HTTP request carries the same values, a matching X-Batch-Size and Content-Length, and the body', () => {
    const request = block('example-request');
    const [head, payload] = request.split('\n\n');
    const lines = (head ?? '').split('\n');
    expect(lines[0]).toMatch(/^POST \/v1\/ingest\/[^/\s]+\/[^/\s]+ HTTP\/1\.1$/);
    const headers = new Map(
      lines.slice(1).map((line) => {
        const at = line.indexOf(': ');
        return [line.slice(0, at).toLowerCase(), line.slice(at + 2)] as const;
      }),
    );
    expect(headers.get('x-timestamp')).toBe(timestamp);
    expect(headers.get('x-nonce')).toBe(nonce);
    expect(headers.get('x-signature')).toBe(signature);
    expect(headers.get('authorization')).toMatch(/^Bearer \S+$/);
    expect(headers.get('x-schema-version')).toBe('1.0.0');
    expect(payload).toBe(body);
    expect(Number(headers.get('content-length'))).toBe(Buffer.byteLength(body, 'utf8'));
    expect(Number(headers.get('x-batch-size'))).toBe((JSON.parse(body) as { events: unknown[] }).events.length);
  });
});

describe('docs/PROTOCOL.md error table', () => {
  it.each(Object.values(SERVER_ERROR_CODES))('documents the error code %s with its status', (code) => {
    expect(DOC).toMatch(new RegExp('^\\| \\d{3} \\| `' + code + '` \\|', 'm'));
  });
});

describe('docs/PROTOCOL.md worked example against the reference server', () => {
  it('the documented request, sent byte for byte, gets the documented answer', async () => {
    const request = block('example-request');
    const [head, payload] = request.split('\n\n') as [string, string];
    const path = /^POST (\S+) /.exec(head)?.[1] ?? '';
    const [, , , orgId, appId] = path.split('/') as [string, string, string, string, string];
    const token = /^Authorization: Bearer (\S+)$/m.exec(head)?.[1] ?? '';
    // The example's app, with the example's secret, in front of a real embedded storage.
    const real = await openIngestStorage({ dataDir: tempDir('tk-protocol-doc-') });
    const app = { orgId, appId, name: 'example', createdAt: 0, revokedAt: null, secret: tableValue('secret') };
    const storage: IngestStorage = {
      kind: real.kind,
      apps: { ...real.apps, findByToken: async (candidate: string) => (candidate === token ? app : null) } as AppRegistry,
      claimNonce: (...args) => real.claimNonce(...args),
      storeBatch: (batch) => real.storeBatch(batch),
      listEvents: (...args) => real.listEvents(...args),
      summary: (appIdArg) => real.summary(appIdArg),
      ping: () => real.ping(),
      close: () => real.close(),
    };
    const server = createIngestServer({ storage, clock: () => Date.parse('2026-01-02T03:00:00Z'), log: () => undefined });
    const url = new URL(await server.listen(0, '127.0.0.1'));
    try {
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname);
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
        socket.write(`${head.replace(/\n/g, '\r\n').replace(/^Host: .*$/m, `Host: ${url.host}`)}\r\nConnection: close\r\n\r\n${payload}`);
      });
      const expected = block('example-response');
      expect(raw.slice(0, raw.indexOf('\r\n'))).toBe(expected.slice(0, expected.indexOf('\n')));
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual(JSON.parse(expected.slice(expected.indexOf('\n\n') + 2)));
    } finally {
      await server.close();
      await real.close();
    }
  });
});
