// Bad datagrams over real UDP: each is counted by kind in stats() and never stops the server;
// the good lines around them still reach the intake.
import type { ParseErrorKind } from '@telemetry-kit/node';
import { describe, expect, it } from 'vitest';
import type { FakeIntake } from '../helpers/fake-intake.js';
import { createServices, fakeIntake, localConfig, sendDatagrams, servicesBackends, until } from '../helpers/services-backends.js';

interface SeriesItem {
  metric: string;
  type: number;
  points: { timestamp: number; value: number }[];
  tags: string[];
}

function seriesOf(intake: FakeIntake): SeriesItem[] {
  return intake.byPath('/api/v2/series').flatMap((request) => (request.decoded as { series: SeriesItem[] }).series);
}

describe.each(servicesBackends())('DogStatsD bad input (%s)', (backend) => {
  async function running(): Promise<{ services: ReturnType<typeof createServices>; intake: FakeIntake; port: number }> {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useTraceAgent: false }));
    return { services, intake, port: services.ports().dogstatsd ?? 0 };
  }

  const cases: Array<[ParseErrorKind, string, string | Uint8Array]> = [
    ['missing_value', 'no value', 'a|c'],
    ['missing_value', 'an empty value', 'a:|c'],
    ['missing_type', 'no type', 'a:1'],
    ['unknown_type', 'an unknown type', 'a:1|x'],
    ['bad_sample_rate', 'a sample rate of 0', 'a:1|c|@0'],
    ['bad_sample_rate', 'an out-of-range sample rate', 'a:1|c|@1.5'],
    ['bad_sample_rate', 'a sample rate that is not a number', 'a:1|c|@abc'],
    ['bad_value', 'NaN', 'a:NaN|g'],
    ['bad_value', 'Infinity', 'a:Infinity|g'],
    ['bad_value', 'a value that overflows to infinity', 'a:1e400|g'],
    ['empty_name', 'an empty name', ':1|c'],
    ['name_too_long', 'a name over 200 bytes', `${'n'.repeat(201)}:1|c`],
    ['too_many_tags', 'over 100 tags', `a:1|c|#${Array.from({ length: 101 }, (_, i) => `t${i}`).join(',')}`],
    ['invalid_utf8', 'non-UTF-8 bytes', Uint8Array.from([0x61, 0xff, 0xfe, 0x3a, 0x31, 0x7c, 0x63])],
    ['bad_timestamp', 'a millisecond timestamp', 'a:1|g|T1700000000000'],
    ['bad_event', 'a malformed event', '_e{5,4}:title|tx'],
    ['bad_service_check', 'a malformed service check', '_sc|name|9'],
  ];

  it.each(cases)('%s: %s is counted and skipped', async (kind, _label, datagram) => {
    const { services, port } = await running();
    await sendDatagrams(port, [datagram, 'after.bad:1|c']);
    const stats = await until(
      () => services.stats().dogstatsd,
      (current) => current.metrics >= 1 && current.errors[kind] >= 1,
    );
    expect(stats.errors[kind]).toBe(1);
    expect(stats.parseErrors).toBe(1);
    expect(stats.packets).toBe(2);
    expect(services.isRunning()).toBe(true);
  });

  it('a datagram mixing good and bad lines keeps the good ones', async () => {
    const { services, intake, port } = await running();
    await sendDatagrams(port, ['mixed.a:1|c\nbad\nmixed.b:2|x\nmixed.c:3|g\n:4|c\nmixed.d:5|ms|@2\nmixed.e:7|g']);
    const stats = await until(
      () => services.stats().dogstatsd,
      (current) => current.parseErrors >= 4,
    );
    expect(stats.errors).toMatchObject({ missing_value: 1, unknown_type: 1, empty_name: 1, bad_sample_rate: 1 });
    expect(stats.metrics).toBe(3);
    await services.stop();
    const names = seriesOf(intake).map((series) => series.metric);
    expect(names).toEqual(expect.arrayContaining(['mixed.a', 'mixed.c', 'mixed.e']));
    expect(names.some((name) => name.startsWith('mixed.b') || name.startsWith('mixed.d'))).toBe(false);
  });

  it('a 64 KiB datagram (the largest UDP payload) is read whole: no line is cut', async () => {
    const { services, intake, port } = await running();
    const line = (i: number): string => `big.line:${i % 10}|c|#i:${String(i).padStart(5, '0')}`;
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size + line(i).length + 1 <= 65_507; i += 1) {
      lines.push(line(i));
      size += line(i).length + 1;
    }
    const datagram = Buffer.from(lines.join('\n'));
    expect(datagram.byteLength).toBeGreaterThan(65_000);
    expect(datagram.byteLength).toBeLessThanOrEqual(65_507);
    await sendDatagrams(port, [datagram]);
    const stats = await until(
      () => services.stats().dogstatsd,
      (current) => current.metrics === lines.length,
    );
    expect(stats.parseErrors).toBe(0);
    expect(stats.bytes).toBe(datagram.byteLength);
    await services.stop();
    expect(seriesOf(intake).filter((series) => series.metric === 'big.line')).toHaveLength(lines.length);
  });

  it('a flood of garbage never stops the server', async () => {
    const { services, port } = await running();
    const garbage = Array.from({ length: 200 }, (_, i) => Buffer.from(Array.from({ length: 64 }, (_, j) => (i * 31 + j * 7) % 256)));
    await sendDatagrams(port, [...garbage, 'survivor:1|c']);
    await until(
      () => services.stats().dogstatsd,
      (current) => current.packets === 201 && current.metrics >= 1,
    );
    expect(services.isRunning()).toBe(true);
  });

  it('contexts beyond maxContexts are dropped and counted', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useTraceAgent: false, maxContexts: 3 }));
    await sendDatagrams(services.ports().dogstatsd ?? 0, [Array.from({ length: 5 }, (_, i) => `ctx.m${i}:1|c`).join('\n')]);
    const stats = await until(
      () => services.stats().dogstatsd,
      (current) => current.metrics + current.contextsDropped >= 5,
    );
    expect(stats.contextsDropped).toBe(2);
    await services.stop();
    expect(seriesOf(intake).filter((series) => series.metric.startsWith('ctx.'))).toHaveLength(3);
  });
});
