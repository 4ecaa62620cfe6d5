import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../../test/helpers/vectors.js';
import { nobleSha256Hex } from './noble-sha256.js';
import { deriveUserId, isValidInstallId, newInstallId, newSessionId, uuidV4 } from './ids.js';

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

describe('ids', () => {
  it.each(loadVectors<{ installId: string; serviceName: string }, string>('user-id.json'))('user_id vector: $name', ({ input, expected }) => {
    expect(deriveUserId(input.installId, input.serviceName, nobleSha256Hex)).toBe(expected);
  });

  it('gives two services on one install unlinkable ids', () => {
    const install = newInstallId(random);
    expect(deriveUserId(install, 'a', nobleSha256Hex)).not.toBe(deriveUserId(install, 'b', nobleSha256Hex));
  });

  it('creates install ids of 64 hex characters and validates them', () => {
    const id = newInstallId(random);
    expect(isValidInstallId(id)).toBe(true);
    expect(isValidInstallId(id.toUpperCase())).toBe(false);
    expect(isValidInstallId(`${id}0`)).toBe(false);
    expect(isValidInstallId('')).toBe(false);
  });

  it('creates session ids and RFC 4122 v4 uuids', () => {
    expect(newSessionId(random)).toMatch(/^sess_[0-9a-f]{32}$/);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      const id = uuidV4(random);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
});
