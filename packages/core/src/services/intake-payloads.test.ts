import { describe, expect, it } from 'vitest';
import { binaryPayload, eventPayloads, seriesPayloads, serviceCheckPayloads } from './intake-payloads.js';

const text = (body: Uint8Array): string => new TextDecoder().decode(body);

describe('intake payloads', () => {
  it('wraps series in {"series":[...]} and splits by size', () => {
    const series = Array.from({ length: 10 }, (_, i) => ({ metric: `m.${i}`, type: 3, points: [{ timestamp: 1, value: i }] }));
    const [single] = seriesPayloads(series);
    expect(single?.items).toBe(10);
    expect(JSON.parse(text(single?.body ?? new Uint8Array()))).toEqual({ series });
    const split = seriesPayloads(series, 400);
    expect(split.length).toBeGreaterThan(1);
    expect(split.reduce((sum, payload) => sum + payload.items, 0)).toBe(10);
    expect(split.flatMap((payload) => (JSON.parse(text(payload.body)) as { series: unknown[] }).series)).toEqual(series);
    for (const payload of split) expect(payload.body.byteLength).toBeLessThanOrEqual(400);
  });

  it('nothing to send → no payload', () => {
    expect(seriesPayloads([])).toEqual([]);
    expect(eventPayloads([])).toEqual([]);
    expect(serviceCheckPayloads([])).toEqual([]);
    expect(binaryPayload('sketches', null, 0)).toEqual([]);
  });

  it('one body per event, one for all checks', () => {
    expect(eventPayloads([{ title: 'a' }, { title: 'b' }]).map((payload) => text(payload.body))).toEqual(['{"title":"a"}', '{"title":"b"}']);
    const [checks] = serviceCheckPayloads([{ check: 'a' }, { check: 'b' }]);
    expect(checks).toMatchObject({ endpoint: 'check_run', items: 2 });
  });
});
