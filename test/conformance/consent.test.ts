import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setEnv, tempDir } from '../helpers/env.js';
import { useKits } from './kit.js';

const open = useKits();

describe('environment opt-outs', () => {
  const variables: Array<[string, string]> = [
    ['DO_NOT_TRACK', '1'],
    ['DO_NOT_TRACK', 'true'],
    ['TELEMETRY_KIT_DISABLED', '1'],
    ['CONFORMANCE_TELEMETRY_DISABLED', 'yes'],
  ];
  it.each(variables)('%s=%s disables tracking whatever the builder said', async (name, value) => {
    setEnv({ [name]: value });
    const dir = tempDir();
    const kit = open(dir, (b) => b.consent({ required: false, defaultGranted: true }));
    expect(await kit.trackCommand('x')).toEqual({ status: 'disabled', eventId: null });
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 0, trackingEnabled: false, disabledReason: name });
    // Not even an anonymous install id is created while tracking is disabled.
    expect(existsSync(join(dir, 'install_id'))).toBe(false);
  });

  it.each(['', '0', 'false'])('DO_NOT_TRACK=%j does not disable tracking', async (value) => {
    setEnv({ DO_NOT_TRACK: value });
    const kit = open(tempDir());
    expect((await kit.trackCommand('x')).status).toBe('stored');
  });
});

describe('consent', () => {
  it('required consent: nothing is stored until granted, and the decision persists', async () => {
    const dir = tempDir();
    const kit = open(dir, (b) => b.consent({ required: true }));
    expect(kit.consentStatus()).toBe('unknown');
    expect((await kit.trackCommand('before')).status).toBe('no_consent');
    await kit.grantConsent();
    expect((await kit.trackCommand('after')).status).toBe('stored');
    const record = JSON.parse(readFileSync(join(dir, 'consent.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ status: 'granted', service: 'conformance' });
    expect(typeof record.timestamp).toBe('string');
    const again = open(dir, (b) => b.consent({ required: true }));
    expect(again.consentStatus()).toBe('granted');
    expect((await again.events()).map((s) => s.event.event.data.command)).toEqual(['after']);
  });

  it('denied consent stops tracking', async () => {
    const kit = open(tempDir());
    await kit.denyConsent();
    expect(kit.consentStatus()).toBe('denied');
    expect((await kit.trackCommand('x')).status).toBe('no_consent');
    expect((await kit.stats()).disabledReason).toBe('consent denied');
  });

  it('defaultGranted false with consent not required tracks nothing until granted', async () => {
    const kit = open(tempDir(), (b) => b.consent({ defaultGranted: false }));
    expect((await kit.trackCommand('x')).status).toBe('no_consent');
  });

  it('optOut wins, required or not, and deletes pending events', async () => {
    const dir = tempDir();
    const kit = open(dir, (b) => b.consent({ required: false, defaultGranted: true }));
    await kit.trackCommand('one');
    await kit.trackCommand('two');
    const unawaited = kit.trackCommand('queued');
    await kit.optOut();
    expect(['no_consent', 'stored']).toContain((await unawaited).status);
    expect(kit.consentStatus()).toBe('opted_out');
    expect((await kit.stats()).pending).toBe(0);
    expect((await kit.trackCommand('three')).status).toBe('no_consent');
    const reopened = open(dir);
    expect(reopened.consentStatus()).toBe('opted_out');
    expect((await reopened.trackCommand('four')).status).toBe('no_consent');
  });

  it('a corrupt consent file reads as unknown', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'consent.json'), '{"status": "granted", oops');
    const kit = open(dir, (b) => b.consent({ required: true }));
    expect(kit.consentStatus()).toBe('unknown');
    expect((await kit.trackCommand('x')).status).toBe('no_consent');
    await kit.grantConsent();
    expect(kit.consentStatus()).toBe('granted');
  });

  it('a consent file with an unknown status reads as unknown', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'consent.json'), JSON.stringify({ status: 'maybe', timestamp: 'x', service: 'conformance' }));
    expect(open(dir).consentStatus()).toBe('unknown');
  });
});
