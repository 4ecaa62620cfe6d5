import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  DROPPED_KEY,
  MARKER_CIRCULAR,
  MARKER_FUNCTION,
  MARKER_MAX_DEPTH,
  MARKER_SYMBOL,
  MARKER_TRUNCATED,
  MARKER_UNSERIALIZABLE,
  TRUNCATED_KEYS_KEY,
  binaryMarker,
  moreItemsMarker,
  normalizeData,
  normalizeValue,
  truncatedStringSuffix,
  utf8Length,
  type NormalizeLimits,
} from './normalize.js';
import type { JsonObject, JsonValue } from './types.js';

function limits(overrides: Partial<NormalizeLimits>): NormalizeLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}

function bytesOf(value: JsonValue): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

describe('markers', () => {
  it('are the contract strings', () => {
    expect([MARKER_FUNCTION, MARKER_SYMBOL, MARKER_CIRCULAR, MARKER_MAX_DEPTH, MARKER_UNSERIALIZABLE]).toEqual([
      '[Function]',
      '[Symbol]',
      '[Circular]',
      '[MaxDepth]',
      '[Unserializable]',
    ]);
    expect(MARKER_TRUNCATED).toBe('[Truncated]');
    expect(TRUNCATED_KEYS_KEY).toBe('_truncated_keys');
    expect(DROPPED_KEY).toBe('_dropped');
    expect(truncatedStringSuffix(5)).toBe('…[truncated 5 chars]');
    expect(moreItemsMarker(7)).toBe('[… 7 more items]');
    expect(binaryMarker(3)).toBe('[Binary: 3 bytes]');
    expect(DEFAULT_LIMITS).toEqual({
      maxStringLength: 8192,
      maxDepth: 16,
      maxArrayLength: 1000,
      maxKeys: 1000,
      maxBytes: 65536,
    });
  });
});

describe('normalizeValue: primitives', () => {
  it('keeps strings, finite numbers, booleans and null', () => {
    expect(normalizeValue('héllo 🎉')).toBe('héllo 🎉');
    expect(normalizeValue(42.5)).toBe(42.5);
    expect(normalizeValue(true)).toBe(true);
    expect(normalizeValue(false)).toBe(false);
    expect(normalizeValue(null)).toBe(null);
  });

  it('turns -0 into 0 and non-finite numbers into null', () => {
    expect(Object.is(normalizeValue(-0), 0)).toBe(true);
    expect(normalizeValue(Number.NaN)).toBe(null);
    expect(normalizeValue(Number.POSITIVE_INFINITY)).toBe(null);
    expect(normalizeValue(Number.NEGATIVE_INFINITY)).toBe(null);
    expect(normalizeValue([Number.NaN, -0, 1e308])).toEqual([null, 0, 1e308]);
  });

  it('turns bigint into its decimal string', () => {
    expect(normalizeValue(12345678901234567890n)).toBe('12345678901234567890');
    expect(normalizeValue({ n: -98765432109876543210n })).toEqual({ n: '-98765432109876543210' });
  });

  it('omits undefined in objects, uses null in arrays and at the root', () => {
    expect(normalizeValue({ a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(Object.keys(normalizeValue({ a: undefined }) as JsonObject)).toEqual([]);
    expect(normalizeValue([undefined, 1])).toEqual([null, 1]);
    // eslint-disable-next-line no-sparse-arrays
    expect(normalizeValue([1, , 3])).toEqual([1, null, 3]);
    expect(normalizeValue(undefined)).toBe(null);
  });

  it('marks functions and symbols, and ignores symbol keys', () => {
    class Foo {}
    expect(
      normalizeValue({
        f: () => 1,
        g: function named() {},
        c: Foo,
        s: Symbol('x'),
        [Symbol('hidden')]: 'secret',
      }),
    ).toEqual({ f: '[Function]', g: '[Function]', c: '[Function]', s: '[Symbol]' });
    expect(normalizeValue([Symbol.iterator, () => 0])).toEqual(['[Symbol]', '[Function]']);
  });

  it('unwraps boxed primitives', () => {
    // eslint-disable-next-line no-new-wrappers
    expect(normalizeValue([new String('ab'), new Number(3), new Boolean(false)])).toEqual(['ab', 3, false]);
  });
});

describe('normalizeValue: strings', () => {
  it('truncates over-long strings and says how many units were removed', () => {
    const small = limits({ maxStringLength: 5 });
    expect(normalizeValue('abcde', small)).toBe('abcde');
    expect(normalizeValue('abcdefgh', small)).toBe('abcde…[truncated 3 chars]');
  });

  it('never cuts a surrogate pair in half', () => {
    const small = limits({ maxStringLength: 5 });
    // 'abcd' + 😀 (2 units) + 'e': a cut at 5 would split the emoji, so it keeps 4 units.
    expect(normalizeValue('abcd😀e', small)).toBe('abcd…[truncated 3 chars]');
    expect(normalizeValue('abc😀e', small)).toBe('abc😀…[truncated 1 chars]');
  });

  it('cuts a 10 MB string to 8 KiB', () => {
    const huge = 'x'.repeat(10_000_000);
    const started = Date.now();
    const out = normalizeData({ log: huge });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(out).toEqual({ log: `${'x'.repeat(8192)}…[truncated 9991808 chars]` });
  });

  it('truncates over-long keys like strings', () => {
    const key = 'k'.repeat(10);
    expect(normalizeValue({ [key]: 1 }, limits({ maxStringLength: 4 }))).toEqual({ 'kkkk…[truncated 6 chars]': 1 });
  });
});

describe('normalizeValue: objects', () => {
  it('renders dates as ISO strings, invalid ones as null', () => {
    expect(normalizeValue(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('2026-01-02T03:04:05.678Z');
    expect(normalizeValue({ d: new Date(Number.NaN) })).toEqual({ d: null });
  });

  it('summarizes binary data by size', () => {
    expect(normalizeValue(Buffer.from('hello'))).toBe('[Binary: 5 bytes]');
    expect(normalizeValue(new Uint8Array(3))).toBe('[Binary: 3 bytes]');
    expect(normalizeValue(new Float64Array(2))).toBe('[Binary: 16 bytes]');
    expect(normalizeValue(new DataView(new ArrayBuffer(10), 2, 4))).toBe('[Binary: 4 bytes]');
    expect(normalizeValue(new ArrayBuffer(7))).toBe('[Binary: 7 bytes]');
    expect(normalizeValue({ b: new Uint8Array(8).subarray(2) })).toEqual({ b: '[Binary: 6 bytes]' });
  });

  it('keeps only the name and message of errors', () => {
    class ConfigError extends Error {
      override name = 'ConfigError';
      code = 'E_CONFIG';
      toJSON(): unknown {
        return { stack: this.stack };
      }
    }
    expect(normalizeValue(new TypeError('bad /home/u/x'))).toEqual({ name: 'TypeError', message: 'bad /home/u/x' });
    expect(normalizeValue({ e: new ConfigError('nope') })).toEqual({ e: { name: 'ConfigError', message: 'nope' } });
  });

  it('turns a Map into an object with string keys and a Set into an array', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, 'two'],
      [{}, true],
      ['gone', undefined],
    ]);
    expect(normalizeValue(map)).toEqual({ a: 1, '2': 'two', '[object Object]': true });
    expect(normalizeValue(new Set([1, 'x', 1, undefined]))).toEqual([1, 'x', null]);
    expect(normalizeValue({ nested: new Map([['s', new Set([new Date(0)])]]) })).toEqual({
      nested: { s: ['1970-01-01T00:00:00.000Z'] },
    });
  });

  it('caps Maps and Sets like objects and arrays', () => {
    const small = limits({ maxKeys: 2, maxArrayLength: 2 });
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(normalizeValue(map, small)).toEqual({ a: 1, b: 2, _truncated_keys: 1 });
    expect(normalizeValue(new Set([1, 2, 3, 4]), small)).toEqual([1, 2, '[… 2 more items]']);
  });

  it('uses own enumerable string keys of class instances', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      get length(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const hidden = Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false });
    expect(normalizeValue(new Point(3, 4))).toEqual({ x: 3, y: 4 });
    expect(normalizeValue(hidden)).toEqual({ shown: 1 });
    expect(normalizeValue(Object.assign(Object.create(null) as object, { a: 1 }))).toEqual({ a: 1 });
  });

  it('calls toJSON and normalizes its result', () => {
    const url = new URL('https://example.com/a?b=1');
    expect(normalizeValue({ url })).toEqual({ url: 'https://example.com/a?b=1' });
    expect(normalizeValue({ v: { toJSON: () => ({ n: 1n, f: () => 0 }) } })).toEqual({ v: { n: '1', f: '[Function]' } });
    const self = { a: 1, toJSON(): unknown { return this; } };
    expect(normalizeValue(self)).toEqual({ a: 1, toJSON: '[Function]' });
    const wrapped: { toJSON(): unknown } = { toJSON: () => ({ inner: wrapped }) };
    expect(normalizeValue(wrapped)).toEqual({ inner: '[Circular]' });
    // The result's own toJSON is not called again, as with JSON.stringify.
    const twice = { toJSON: () => ({ toJSON: () => 'deeper', k: 1 }) };
    expect(normalizeValue(twice)).toEqual({ toJSON: '[Function]', k: 1 });
  });

  it('keeps a __proto__ key as an own key', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const out = normalizeValue(parsed) as JsonObject;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });
});

describe('normalizeValue: cycles and depth', () => {
  it('marks a circular object reference', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.child = { parent: a, x: 1 };
    expect(normalizeValue(a)).toEqual({ name: 'a', self: '[Circular]', child: { parent: '[Circular]', x: 1 } });
  });

  it('marks a circular array reference', () => {
    const arr: unknown[] = [1];
    arr.push(arr);
    arr.push({ back: arr });
    expect(normalizeValue(arr)).toEqual([1, '[Circular]', { back: '[Circular]' }]);
  });

  it('marks cycles through Maps and Sets', () => {
    const map = new Map<string, unknown>();
    map.set('me', map);
    const set = new Set<unknown>();
    set.add(set);
    expect(normalizeValue({ map, set })).toEqual({ map: { me: '[Circular]' }, set: ['[Circular]'] });
  });

  it('normalizes a shared but acyclic reference every time', () => {
    const shared = { v: 1 };
    expect(normalizeValue({ a: shared, b: shared, c: [shared, shared] })).toEqual({
      a: { v: 1 },
      b: { v: 1 },
      c: [{ v: 1 }, { v: 1 }],
    });
  });

  it('stops at maxDepth without overflowing the stack on 1000 levels', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 1000; i++) deep = { child: deep, level: 1000 - i };
    let expected: JsonValue = '[MaxDepth]';
    for (let level = 16; level >= 1; level--) expected = { child: expected, level };
    expect(normalizeValue(deep)).toEqual(expected);
  });

  it('counts the root container as level 1 and leaves primitives at the limit alone', () => {
    const small = limits({ maxDepth: 2 });
    expect(normalizeValue({ a: { b: { c: 1 }, s: 'x' } }, small)).toEqual({ a: { b: '[MaxDepth]', s: 'x' } });
    expect(normalizeValue([[[1]]], small)).toEqual([['[MaxDepth]']]);
    // Leaf-like objects (dates, binary) are not containers.
    expect(normalizeValue([[new Date(0)]], limits({ maxDepth: 1 }))).toEqual(['[MaxDepth]']);
    expect(normalizeValue([new Date(0), new Uint8Array(1)], limits({ maxDepth: 1 }))).toEqual([
      '1970-01-01T00:00:00.000Z',
      '[Binary: 1 bytes]',
    ]);
  });

  it('bounds the work on shared references that would expand exponentially', () => {
    const leaf = Array.from({ length: 1000 }, (_, i) => i);
    const mid = Array.from({ length: 1000 }, () => leaf);
    const top = Array.from({ length: 1000 }, () => mid); // 10^9 numbers if fully expanded
    const started = Date.now();
    const out = normalizeValue(top) as JsonValue[][];
    expect(Date.now() - started).toBeLessThan(2000);
    // Nodes are counted on entry; the 67th leaf array starts past the 65536-node budget.
    expect(out[0]?.[65]).toEqual(leaf);
    expect(out[0]?.[66]).toBe('[Truncated]');
    expect(out[1]).toBe('[Truncated]');
    expect(out[999]).toBe('[Truncated]');
  });
});

describe('normalizeValue: size limits', () => {
  it('keeps the first maxArrayLength items and says how many were left out', () => {
    const out = normalizeValue(Array.from({ length: 1500 }, (_, i) => i)) as JsonValue[];
    expect(out).toHaveLength(1001);
    expect(out[999]).toBe(999);
    expect(out[1000]).toBe('[… 500 more items]');
    expect(normalizeValue([1, 2, 3], limits({ maxArrayLength: 3 }))).toEqual([1, 2, 3]);
  });

  it('keeps the first maxKeys keys of an object with 5000 keys', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) wide[`k${i}`] = i;
    const out = normalizeValue(wide) as JsonObject;
    const keys = Object.keys(out);
    expect(keys).toHaveLength(1001);
    expect(keys[0]).toBe('k0');
    expect(keys[999]).toBe('k999');
    expect(out.k999).toBe(999);
    expect(out.k1000).toBeUndefined();
    expect(out._truncated_keys).toBe(4000);
  });
});

describe('normalizeValue: hostile values', () => {
  it('marks a throwing getter and keeps the rest', () => {
    const obj = {
      ok: 1,
      get bad(): never {
        throw new Error('no');
      },
      after: 'kept',
    };
    expect(normalizeValue(obj)).toEqual({ ok: 1, bad: '[Unserializable]', after: 'kept' });
  });

  it('marks a Proxy whose ownKeys trap throws', () => {
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(normalizeValue({ a: 1, p: proxy })).toEqual({ a: 1, p: '[Unserializable]' });
    expect(normalizeData(proxy)).toEqual({ value: '[Unserializable]' });
  });

  it('marks a Proxy whose get trap throws, per property', () => {
    const proxy = new Proxy(
      { a: 1, b: 2 },
      {
        get(target, key) {
          if (key === 'b') throw new Error('trap');
          return Reflect.get(target, key) as unknown;
        },
      },
    );
    expect(normalizeValue(proxy)).toEqual({ a: 1, b: '[Unserializable]' });
  });

  it('marks a revoked proxy, a throwing toJSON and a throwing Map key', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const key = {
      toString(): string {
        throw new Error('no');
      },
    };
    expect(
      normalizeValue({
        revoked: proxy,
        json: {
          toJSON() {
            throw new Error('no');
          },
        },
        map: new Map([[key, 1]]),
        ok: true,
      }),
    ).toEqual({ revoked: '[Unserializable]', json: '[Unserializable]', map: { '[Unserializable]': 1 }, ok: true });
  });

  it('marks an error whose message getter throws', () => {
    const error = new Error('x');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(normalizeValue(error)).toEqual({ name: 'Error', message: '[Unserializable]' });
  });
});

describe('normalizeData', () => {
  it('returns {} for null and undefined', () => {
    expect(normalizeData(null)).toEqual({});
    expect(normalizeData(undefined)).toEqual({});
  });

  it('wraps anything that does not normalize to an object', () => {
    expect(normalizeData('text')).toEqual({ value: 'text' });
    expect(normalizeData(5n)).toEqual({ value: '5' });
    expect(normalizeData([1, undefined])).toEqual({ value: [1, null] });
    expect(normalizeData(new Date(0))).toEqual({ value: '1970-01-01T00:00:00.000Z' });
    expect(normalizeData(() => 0)).toEqual({ value: '[Function]' });
  });

  it('uses objects, Maps and Errors directly', () => {
    expect(normalizeData({ a: 1 })).toEqual({ a: 1 });
    expect(normalizeData(new Map([['k', 'v']]))).toEqual({ k: 'v' });
    expect(normalizeData(new RangeError('r'))).toEqual({ name: 'RangeError', message: 'r' });
  });

  it('returns small data untouched', () => {
    const data = { command: 'build', flags: ['--fast'], nested: { ok: true } };
    expect(normalizeData(data, ['command'])).toEqual(data);
  });

  it('drops the largest entries to fit 64 KiB, keeping keepKeys', () => {
    const big: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) big[`k${i}`] = 'x'.repeat(8192);
    const started = Date.now();
    const out = normalizeData(big, ['k500', 'k5']);
    expect(Date.now() - started).toBeLessThan(2000);
    // Entry sizes: k100..k999 are largest (8201 bytes), then k10..k99, then k0..k9 (ties: key order).
    const dropped = [
      ...Array.from({ length: 900 }, (_, i) => `k${i + 100}`).filter((k) => k !== 'k500'),
      ...Array.from({ length: 90 }, (_, i) => `k${i + 10}`),
      'k0',
      'k1',
      'k2',
      'k3',
    ];
    const value = 'x'.repeat(8192);
    expect(out).toEqual({
      k4: value,
      k5: value,
      k6: value,
      k7: value,
      k8: value,
      k9: value,
      k500: value,
      _dropped: dropped,
    });
    expect(Object.keys(out)).toEqual(['k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k500', '_dropped']);
    expect(bytesOf(out)).toBe(64269);
  });

  it('measures UTF-8 bytes, not UTF-16 units', () => {
    // a: 30 × 'é' = 32 units of JSON but 62 bytes; b: 40 × 'x' = 42 units and 42 bytes.
    const out = normalizeData({ a: 'é'.repeat(30), b: 'x'.repeat(40) }, [], limits({ maxBytes: 100 }));
    expect(out).toEqual({ b: 'x'.repeat(40), _dropped: ['a'] });
    expect(bytesOf(out)).toBeLessThanOrEqual(100);
  });

  it('keeps keepKeys even when they alone exceed the cap', () => {
    const out = normalizeData({ command: 'c'.repeat(200), other: 'o' }, ['command'], limits({ maxBytes: 100 }));
    expect(out).toEqual({ command: 'c'.repeat(200), _dropped: ['other'] });
  });

  it('replaces a caller-supplied _dropped entry when it has to drop', () => {
    const out = normalizeData({ _dropped: 'mine', big: 'x'.repeat(200) }, [], limits({ maxBytes: 100 }));
    expect(out).toEqual({ _dropped: ['_dropped', 'big'] });
    expect(normalizeData({ _dropped: 'mine' })).toEqual({ _dropped: 'mine' });
  });

  it('cuts the _dropped list itself when even that does not fit', () => {
    const data = {
      aaaaaaaaaa: 'x'.repeat(20),
      bbbbbbbbbb: 'x'.repeat(20),
      cccccccccc: 'x'.repeat(20),
      dddddddddd: 'x'.repeat(20),
    };
    const out = normalizeData(data, [], limits({ maxBytes: 60 }));
    expect(out).toEqual({ _dropped: ['aaaaaaaaaa', '[… 3 more items]'] });
    expect(bytesOf(out)).toBeLessThanOrEqual(60);
  });

  it('never throws', () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('no');
        },
      },
    );
    expect(normalizeData(hostile)).toEqual({ value: '[Unserializable]' });
    expect(normalizeData({ x: hostile })).toEqual({ x: '[Unserializable]' });
  });
});

describe('utf8Length', () => {
  it('agrees with TextEncoder', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', 'x\udc00y']) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});

interface NormalizeVectors {
  cases: { name: string; limits?: Partial<NormalizeLimits>; keepKeys?: string[]; input: JsonValue; expected: JsonObject }[];
}

describe('test/vectors/normalize.json', () => {
  const file = new URL('../../../test/vectors/normalize.json', import.meta.url);
  const vectors = JSON.parse(readFileSync(file, 'utf8')) as NormalizeVectors;

  it('has cases', () => {
    expect(vectors.cases.length).toBeGreaterThan(5);
  });

  for (const testCase of vectors.cases) {
    it(testCase.name, () => {
      const out = normalizeData(testCase.input, testCase.keepKeys ?? [], limits(testCase.limits ?? {}));
      expect(out).toEqual(testCase.expected);
    });
  }
});
