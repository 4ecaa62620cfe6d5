import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDatagram } from './parser.js';
import {
  MAX_DATAGRAM_BYTES,
  MAX_NAME_BYTES,
  MAX_TAGS,
  type DogStatsDEvent,
  type DogStatsDSink,
  type MetricSample,
  type ParseErrorKind,
  type ServiceCheck,
} from './types.js';

type VectorInput = string | { base64: string } | { repeat: string; times: number; suffix?: string };
interface Vector {
  name: string;
  input: VectorInput;
  expected: { metrics: object[]; events: object[]; serviceChecks: object[]; errors: ParseErrorKind[] };
}
interface VectorFile {
  limits: { maxDatagramBytes: number; maxNameBytes: number; maxTags: number };
  defaults: { metric: object; event: object; serviceCheck: object };
  cases: Vector[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../../../test/vectors/dogstatsd.json', import.meta.url), 'utf8'),
) as VectorFile;

function inputBytes(input: VectorInput): Uint8Array {
  if (typeof input === 'string') return new TextEncoder().encode(input);
  if ('base64' in input) return new Uint8Array(Buffer.from(input.base64, 'base64'));
  return new TextEncoder().encode(input.repeat.repeat(input.times) + (input.suffix ?? ''));
}

interface Collected {
  metrics: MetricSample[];
  events: DogStatsDEvent[];
  serviceChecks: ServiceCheck[];
  errors: ParseErrorKind[];
  lines: string[];
}

function parse(bytes: Uint8Array | string): Collected {
  const out: Collected = { metrics: [], events: [], serviceChecks: [], errors: [], lines: [] };
  const sink: DogStatsDSink = {
    metric: (m) => out.metrics.push(m),
    event: (e) => out.events.push(e),
    serviceCheck: (c) => out.serviceChecks.push(c),
    error: (kind, line) => {
      out.errors.push(kind);
      out.lines.push(line);
    },
  };
  parseDatagram(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes, sink);
  return out;
}

describe('test/vectors/dogstatsd.json', () => {
  it('has at least 60 uniquely named cases and states the parser limits', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(vectors.cases.map((c) => c.name)).size).toBe(vectors.cases.length);
    expect(vectors.limits).toMatchObject({ maxDatagramBytes: MAX_DATAGRAM_BYTES, maxNameBytes: MAX_NAME_BYTES, maxTags: MAX_TAGS });
  });

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, vector) => {
    const got = parse(inputBytes(vector.input));
    expect({
      metrics: got.metrics,
      events: got.events,
      serviceChecks: got.serviceChecks,
      errors: got.errors,
    }).toEqual({
      metrics: vector.expected.metrics.map((m) => ({ ...vectors.defaults.metric, ...m })),
      events: vector.expected.events.map((e) => ({ ...vectors.defaults.event, ...e })),
      serviceChecks: vector.expected.serviceChecks.map((c) => ({ ...vectors.defaults.serviceCheck, ...c })),
      errors: vector.expected.errors,
    });
  });
});

describe('parseDatagram', () => {
  it('hands the offending line to the sink', () => {
    const got = parse('ok:1|c\nbroken:1|zz\r\nfine:2|g');
    expect(got.errors).toEqual(['unknown_type']);
    expect(got.lines).toEqual(['broken:1|zz']);
  });

  it('reports invalid UTF-8 with the line decoded lossily', () => {
    const got = parse(new Uint8Array([0x61, 0xff, 0x3a, 0x31, 0x7c, 0x63]));
    expect(got.errors).toEqual(['invalid_utf8']);
    expect(got.lines).toEqual(['a\ufffd:1|c']);
  });

  it('parses every line of a full 64 KiB datagram of metrics', () => {
    const line = 'req.count:1|c|#env:prod,region:eu\n';
    const count = Math.floor(MAX_DATAGRAM_BYTES / line.length);
    const text = line.repeat(count) + 'x'.repeat(MAX_DATAGRAM_BYTES - count * line.length - 4) + ':2|g';
    const bytes = new TextEncoder().encode(text);
    expect(bytes.length).toBe(MAX_DATAGRAM_BYTES);
    const got = parse(bytes);
    expect(got.errors).toEqual([]);
    expect(got.metrics).toHaveLength(count + 1);
    expect(got.metrics.at(-1)).toMatchObject({ type: 'g', values: [2] });
  });

  it('rejects a datagram one byte over 64 KiB as a whole, with its size', () => {
    const got = parse(new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x0a));
    expect(got.errors).toEqual(['datagram_too_large']);
    expect(got.lines).toEqual([`${MAX_DATAGRAM_BYTES + 1} bytes`]);
    expect(got.metrics).toEqual([]);
  });

  it('parses a value the same way Number() does, on both the fast and the slow path', () => {
    const samples = ['0.1', '0.3', '123456.789', '-0.000001', '1.7976931348623157e308', '5e-324', '123456789012345.6', '9007199254740993'];
    for (const text of samples) {
      expect(parse(`a:${text}|g`).metrics[0]?.values).toEqual([Number(text)]);
    }
  });

  it('never throws on random bytes and accounts for every non-empty line', () => {
    // A fixed-seed xorshift keeps the run reproducible; the alphabet is biased toward the
    // grammar's own characters so that the generator reaches deep into the parser.
    let seed = 0x2545f491;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const alphabet = [...new TextEncoder().encode('ab:|#@,.-+e1T0c\n\r_{}s9'), 0xc3, 0xa9, 0xff, 0x80];
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(Math.floor(next() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = alphabet[Math.floor(next() * alphabet.length)] as number;
      const got = parse(bytes);
      const lines = Buffer.from(bytes)
        .toString('latin1')
        .split('\n')
        .filter((l) => l.replace(/\r$/, '') !== '');
      expect(got.metrics.length + got.events.length + got.serviceChecks.length + got.errors.length).toBe(lines.length);
    }
  });
});
