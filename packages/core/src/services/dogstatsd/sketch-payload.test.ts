import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DogStatsDAggregator } from './aggregator.js';
import { quantileFromBins } from './ddsketch.js';
import { encodeSketchPayload } from './sketch-payload.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const PROTO = `${REPO}proto/datadog/agent-payload/agent_payload.proto`;
const T0 = 1_700_000_000;

interface DecodedDogsketch {
  ts: number;
  cnt: number;
  min: number;
  max: number;
  avg: number;
  sum: number;
  k: number[];
  n: number[];
}
interface DecodedSketch {
  metric: string;
  host: string;
  tags: string[];
  distributions: unknown[];
  metadata: unknown;
  dogsketches: DecodedDogsketch[];
}

/** Decodes with protobufjs parsing the vendored .proto itself: no code shared with the encoder. */
function decodeSketchPayload(bytes: Uint8Array): { sketches: DecodedSketch[] } {
  const root = new protobuf.Root().loadSync(PROTO, { keepCase: true });
  const type = root.lookupType('datadog.agentpayload.SketchPayload');
  return type.toObject(type.decode(bytes), { longs: Number, arrays: true, defaults: true }) as { sketches: DecodedSketch[] };
}

describe('encodeSketchPayload', () => {
  it('writes a flush that protobufjs reads back field by field from the .proto file', () => {
    const agg = new DogStatsDAggregator({ globalTags: ['env:prod'], maxContexts: 100, hostname: 'fn-1', namespace: 'app' });
    const at = (seconds: number, text: string) => agg.ingest(new TextEncoder().encode(text), seconds * 1000);
    at(T0 + 1, 'lat:1|d|#route:/a\nlat:2:-3|d|#route:/a\nlat:0|d|#route:/a|@0.5');
    at(T0 + 12, 'lat:1e6|d|#route:/a|@0.25');
    at(T0 + 2, 'size:5|d');
    const flush = agg.flush((T0 + 20) * 1000, false);
    expect(flush.series).toEqual([]);
    expect(flush.sketches).toBeInstanceOf(Uint8Array);

    const decoded = decodeSketchPayload(flush.sketches as Uint8Array);
    expect(decoded.sketches).toEqual([
      {
        metric: 'app.lat',
        host: 'fn-1',
        tags: ['env:prod', 'route:/a'],
        distributions: [],
        metadata: null,
        dogsketches: [
          {
            ts: T0,
            cnt: 5,
            min: -3,
            max: 2,
            avg: 0,
            sum: 0,
            // ln v / ln 1.015625 rounded, plus 1338: 3 → 70.86, 1 → 0, 2 → 44.71.
            k: [-1409, 0, 1338, 1383],
            n: [1, 2, 1, 1],
          },
          { ts: T0 + 10, cnt: 4, min: 1e6, max: 1e6, avg: 1e6, sum: 4e6, k: [2229], n: [4] },
        ],
      },
      {
        metric: 'app.size',
        host: 'fn-1',
        tags: ['env:prod'],
        distributions: [],
        metadata: null,
        dogsketches: [{ ts: T0, cnt: 1, min: 5, max: 5, avg: 5, sum: 5, k: [1442], n: [1] }],
      },
    ]);
  });

  it('splits a bin over 65535 into repeated keys on the wire', () => {
    const bytes = encodeSketchPayload([
      { metric: 'm', host: '', tags: [], dogsketches: [{ ts: T0, cnt: 70_000, min: 1, max: 1, avg: 1, sum: 70_000, k: [1338, 1338], n: [65_535, 4465] }] },
    ]);
    expect(decodeSketchPayload(bytes).sketches[0]?.dogsketches[0]).toMatchObject({ cnt: 70_000, k: [1338, 1338], n: [65_535, 4465] });
  });

  it('carries p50, p95 and p99 of 10,000 samples within 1% through a flush and a decode', () => {
    const agg = new DogStatsDAggregator({ globalTags: [], maxContexts: 10 });
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return (seed + 0.5) / 2 ** 31;
    };
    const samples: number[] = [];
    for (let datagram = 0; datagram < 500; datagram++) {
      const values = Array.from({ length: 20 }, () => Math.round(-250 * Math.log(next()) * 1000) / 1000);
      samples.push(...values);
      agg.ingest(new TextEncoder().encode(values.map((v) => `rt:${v}|d`).join('\n')), (T0 + 1) * 1000);
    }
    const decoded = decodeSketchPayload(agg.flush((T0 + 10) * 1000, true).sketches as Uint8Array);
    const sketch = decoded.sketches[0]?.dogsketches[0] as DecodedDogsketch;
    expect(sketch.cnt).toBe(10_000);
    samples.sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = samples[Math.round(q * (samples.length - 1))] as number;
      expect(Math.abs(quantileFromBins(sketch, q, sketch.min, sketch.max) - exact) / exact).toBeLessThan(0.01);
    }
  });

  it('uses a generated descriptor that is up to date with proto/ (node scripts/gen-proto.mjs --check)', async () => {
    const run = promisify(execFile);
    await expect(run(process.execPath, ['scripts/gen-proto.mjs', '--check'], { cwd: REPO, timeout: 20_000 })).resolves.toBeDefined();
  });
});
