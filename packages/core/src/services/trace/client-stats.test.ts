import { describe, expect, it } from 'vitest';
import { decodeMsgpackBody } from '../../../../../test/helpers/fake-intake.js';
import { ddTraceEncodeStats, encodeMsgpack } from '../../../../../test/helpers/trace-payloads.js';
import { decodeClientStats, encodeStatsPayload, processClientStats } from './client-stats.js';

describe('decodeClientStats', () => {
  it('accepts what dd-trace sends and keeps unknown fields', () => {
    const body = ddTraceEncodeStats({
      Hostname: 'h',
      Env: 'prod',
      Version: '1',
      Lang: 'javascript',
      TracerVersion: '5',
      RuntimeID: 'r',
      Sequence: 1,
      Stats: [{ Start: 1, Duration: 2, Stats: [{ Service: 's', Name: 'n', Resource: 'r', HTTPStatusCode: 200, Type: 'web', Hits: 1, Errors: 0, Duration: 3, OkSummary: new Uint8Array([1]), ErrorSummary: new Uint8Array(), Synthetics: false, TopLevelHits: 1, GRPCStatusCode: '' }] }],
    });
    const decoded = decodeClientStats(body);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect((decoded.payload.Stats as { Stats: Record<string, unknown>[] }[])[0]?.Stats[0]).toHaveProperty('GRPCStatusCode', '');
  });

  it('turns nil fields into zero values', () => {
    const decoded = decodeClientStats(encodeMsgpack({ Env: null, Stats: [{ Start: null, Stats: [{ Name: null, Hits: null, OkSummary: null, Synthetics: null }] }] }));
    expect(decoded).toMatchObject({ ok: true, payload: { Env: '', Stats: [{ Start: 0, Stats: [{ Name: '', Hits: 0, OkSummary: new Uint8Array(), Synthetics: false }] }] } });
  });

  it.each([
    ['bad msgpack', new Uint8Array([0xc1]), 'bad_msgpack'],
    ['not a map', encodeMsgpack('stats'), 'wrong_shape'],
    ['a bucket that is not a map', encodeMsgpack({ Stats: [1] }), 'wrong_shape'],
    ['a string Hits', encodeMsgpack({ Stats: [{ Stats: [{ Hits: 'x' }] }] }), 'wrong_field_type'],
    ['a negative Hits', encodeMsgpack({ Stats: [{ Stats: [{ Hits: -3 }] }] }), 'out_of_range'],
    ['an HTTPStatusCode above uint32', encodeMsgpack({ Stats: [{ Stats: [{ HTTPStatusCode: 2 ** 33 }] }] }), 'out_of_range'],
    ['Tags not strings', encodeMsgpack({ Tags: [1] }), 'wrong_field_type'],
    ['a numeric Synthetics', encodeMsgpack({ Stats: [{ Stats: [{ Synthetics: 1 }] }] }), 'wrong_field_type'],
  ])('rejects %s', (_name, body, reason) => {
    expect(decodeClientStats(body)).toMatchObject({ ok: false, reason });
  });
});

describe('processClientStats', () => {
  it('applies the agent defaults and normalization', () => {
    const payload = { Env: '', Lang: '', TracerVersion: '', Stats: [{ Stats: [{ Service: '', Name: '', Resource: '' }] }] };
    processClientStats(payload, { lang: 'nodejs', tracerVersion: '5.1', containerId: 'c1' }, 'Prod');
    expect(payload).toEqual({
      Env: 'prod',
      Lang: 'nodejs',
      TracerVersion: '5.1',
      ContainerID: 'c1',
      Stats: [{ Stats: [{ Service: 'unnamed-nodejs-service', Name: 'unnamed_operation', Resource: 'unnamed_operation' }] }],
    });
  });
});

describe('encodeStatsPayload', () => {
  it('writes the StatsPayload keys the agent writes (Go field names)', () => {
    const decoded = decodeMsgpackBody(encodeStatsPayload({ agentHostname: 'h', agentEnv: 'e', agentVersion: 'v', stats: [{ Env: 'e' }] }));
    expect(decoded).toEqual({ AgentHostname: 'h', AgentEnv: 'e', Stats: [{ Env: 'e' }], AgentVersion: 'v', ClientComputed: true, SplitPayload: false });
  });
});
