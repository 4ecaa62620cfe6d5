import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeAgentPayload } from '../../../../../test/helpers/fake-intake.js';
import { traceAgentPayloadDescriptor } from '../proto/trace-agent-payload.js';
import { encodeAgentPayload, toLongBits } from './agent-payload.js';

const require = createRequire(import.meta.url);
const PROTO = fileURLToPath(new URL('../../../../../proto/', import.meta.url));

describe('trace AgentPayload descriptor', () => {
  it('is what pbjs generates from proto/datadog/trace (run node scripts/gen-proto.mjs if not)', async () => {
    const { pbjs } = require('protobufjs-cli') as { pbjs: { main(args: string[], cb: (err: Error | null, out?: string) => void): void } };
    const json = await new Promise<string>((resolve, reject) =>
      pbjs.main(['-t', 'json', '--keep-case', '-p', PROTO, `${PROTO}datadog/trace/agent_payload.proto`], (err, out) => (err ? reject(err) : resolve(out ?? ''))),
    );
    expect(traceAgentPayloadDescriptor).toEqual(JSON.parse(json));
  });
});

describe('toLongBits', () => {
  it('splits 64-bit values into exact unsigned halves', () => {
    expect(toLongBits((1n << 64n) - 1n)).toEqual({ low: 0xffffffff, high: 0xffffffff, unsigned: true });
    expect(toLongBits((1n << 63n) + 1n)).toEqual({ low: 1, high: 0x80000000, unsigned: true });
    expect(toLongBits(-1n)).toEqual({ low: 0xffffffff, high: 0xffffffff, unsigned: true });
    expect(toLongBits(0x1_0000_0002n)).toEqual({ low: 2, high: 1, unsigned: true });
  });
});

describe('encodeAgentPayload', () => {
  it('writes the top-level fields where the .proto file says', () => {
    const bytes = encodeAgentPayload({ hostName: 'h', env: 'e', tags: { a: 'b' }, agentVersion: 'v', targetTPS: 10, errorTPS: 5, tracerPayloads: [] });
    expect(decodeAgentPayload(bytes)).toMatchObject({ hostName: 'h', env: 'e', tags: { a: 'b' }, agentVersion: 'v', targetTPS: 10, errorTPS: 5, tracerPayloads: [] });
  });
});
