import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACT_KEYS } from './config.js';
import {
  REDACTED,
  createSanitizer,
  emailToken,
  isRedactedKey,
  keyWords,
  sanitizeData,
  sanitizeString,
  sanitizeValue,
  type SanitizeOptions,
} from './privacy.js';
import { nobleSha256Hex } from './noble-sha256.js';
import type { Sha256Hex } from './sha256.js';

/** Both SHA-256 implementations a runtime may supply must give the vectors' answers. */
const HASHES: Array<[string, Sha256Hex]> = [
  ['@noble/hashes', nobleSha256Hex],
  ['node:crypto', (text) => createHash('sha256').update(text).digest('hex')],
];
import type { JsonObject, JsonValue } from './types.js';

interface PrivacyVectors {
  defaults: Omit<SanitizeOptions, 'sha256Hex'>;
  cases: { name: string; options?: Partial<SanitizeOptions>; input: JsonObject; expected: JsonObject }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/vectors/privacy.json', import.meta.url), 'utf8'),
) as PrivacyVectors;

const SALT = vectors.defaults.emailSalt;

function options(overrides: Partial<SanitizeOptions> = {}): SanitizeOptions {
  return { ...vectors.defaults, sha256Hex: nobleSha256Hex, ...overrides };
}

describe('test/vectors/privacy.json', () => {
  it('is a complete specification', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(vectors.cases.map((c) => c.name)).size).toBe(vectors.cases.length);
    expect(vectors.defaults.redactKeys).toEqual(DEFAULT_REDACT_KEYS);
    expect(vectors.defaults.emailSalt).toMatch(/^[0-9a-f]{64}$/);
  });

  for (const testCase of vectors.cases) {
    it.each(HASHES)(`${testCase.name} (%s)`, (_name, sha256Hex) => {
      const opts = options({ ...testCase.options, sha256Hex });
      const before = structuredClone(testCase.input);
      expect(sanitizeData(testCase.input, opts)).toEqual(testCase.expected);
      // The precompiled sanitizer agrees with the one-shot function, and neither mutates input.
      expect(createSanitizer(opts).sanitizeData(testCase.input)).toEqual(testCase.expected);
      expect(testCase.input).toEqual(before);
    });
  }
});

describe('isRedactedKey', () => {
  it('matches the default keys by words', () => {
    for (const key of [
      'token',
      'apiKey',
      'api_key',
      'x-api-key',
      'X-API-Key',
      'Authorization',
      'authToken',
      'SET_COOKIE',
      'clientSecret',
      'password',
      'APIKey',
      'oauth2Token',
      'db.password',
    ]) {
      expect(isRedactedKey(key, DEFAULT_REDACT_KEYS), key).toBe(true);
    }
  });

  it('does not match lookalikes; plurals are single words', () => {
    for (const key of ['keyboard', 'monkey', 'tokenizer', 'secretary', 'passwords', 'keys', 'tokens', 'token2', '']) {
      expect(isRedactedKey(key, DEFAULT_REDACT_KEYS), key).toBe(false);
    }
  });

  it('normalizes redact entries to lowercase alphanumerics and joins runs of words', () => {
    expect(isRedactedKey('apiKey', ['api_key'])).toBe(true);
    expect(isRedactedKey('myApiKeyValue', ['API-KEY'])).toBe(true);
    expect(isRedactedKey('key', ['api_key'])).toBe(false);
    expect(isRedactedKey('anything', ['__', ''])).toBe(false);
    expect(isRedactedKey('token', [])).toBe(false);
  });

  it('splits keys into words', () => {
    expect(keyWords('apiKey')).toEqual(['api', 'key']);
    expect(keyWords('X-API-Key')).toEqual(['x', 'api', 'key']);
    expect(keyWords('access_token')).toEqual(['access', 'token']);
    expect(keyWords('XMLHttpRequest')).toEqual(['xml', 'http', 'request']);
    expect(keyWords('oauth2Token')).toEqual(['oauth2', 'token']);
    expect(keyWords('token2')).toEqual(['token2']);
    expect(keyWords('__a..b__')).toEqual(['a', 'b']);
    expect(keyWords('tökén')).toEqual(['t', 'k', 'n']);
  });
});

describe('emailToken', () => {
  it('hashes salt:lowercased e-mail (known answers)', () => {
    for (const [, hash] of HASHES) {
      expect(emailToken('alice@example.com', SALT, hash)).toBe('<email:e621d5f8>');
      expect(emailToken('Alice@Example.COM', SALT, hash)).toBe('<email:e621d5f8>');
      expect(emailToken('bob@example.org', 'salt', hash)).toBe('<email:6cdf4a9e>');
      expect(emailToken('x@y.io', 'sél', hash)).toBe('<email:8998e0df>');
    }
  });
});

describe('sanitizeValue and sanitizeString', () => {
  it('sanitize values outside an object', () => {
    const opts = options();
    expect(sanitizeString('/home/alice/x?token=1', opts)).toBe('~/x?token=<redacted>');
    expect(sanitizeValue(['--password', 'p', 3, null], opts)).toEqual(['--password', REDACTED, 3, null]);
    expect(sanitizeValue(7, opts)).toBe(7);
    expect(sanitizeValue(null, opts)).toBe(null);
  });

  it('does not mutate nested input', () => {
    const input: JsonObject = {
      '/home/alice/a': { token: 'x', list: ['--secret', 's', { mail: 'a@b.io' }] },
      keep: [1, 2],
    };
    const snapshot = structuredClone(input);
    const out = sanitizeData(input, options());
    expect(input).toEqual(snapshot);
    expect(out).toEqual({
      '~/a': { token: REDACTED, list: ['--secret', REDACTED, { mail: emailToken('a@b.io', SALT, nobleSha256Hex) }] },
      keep: [1, 2],
    });
    expect(out.keep).not.toBe(input.keep);
  });

  it('keeps a __proto__ key as an own key', () => {
    const input = JSON.parse('{"__proto__": {"token": "x"}, "a": "/home/alice"}') as JsonObject;
    const out = sanitizeData(input, options());
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"token":"<redacted>"},"a":"~"}');
  });
});

/** Deterministic pseudo-random strings over an alphabet chosen to hit the edge cases. */
function randomStrings(alphabet: readonly string[], count: number, maxLength: number): string[] {
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.floor(next() * maxLength);
    let text = '';
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)];
    out.push(text);
  }
  return out;
}

describe('equivalence with the reference regexes', () => {
  it('finds the same e-mails as the global regex from DESIGN.md', () => {
    const regex = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
    const opts = options({ sanitizePaths: false, redactKeys: [] });
    const sanitizer = createSanitizer(opts);
    const alphabet = ['a', 'b', 'Co', 'm', '1', '.', '.', '@', '@', '-', '+', '_', '%', ' ', ':', 'é'];
    for (const text of randomStrings(alphabet, 20_000, 24)) {
      const expected = text.replace(regex, (match) => emailToken(match, SALT, nobleSha256Hex));
      expect(sanitizer.sanitizeString(text), JSON.stringify(text)).toBe(expected);
    }
  });

  it('replaces the home dir exactly where a lookbehind regex would', () => {
    const regex = /(?<![A-Za-z0-9_.~-])\/h\/u(?![A-Za-z0-9_.~-])/g;
    const sanitizer = createSanitizer(options({ homeDir: '/h/u', sanitizeEmails: false, redactKeys: [] }));
    const alphabet = ['/h/u', '/h/u', '/h', '/u', 'u', '/', 'x', '.', '~', '-', ' ', '"', '\\'];
    for (const text of randomStrings(alphabet, 20_000, 10)) {
      expect(sanitizer.sanitizeString(text), JSON.stringify(text)).toBe(text.replace(regex, '~'));
    }
  });

  it('redacts flags inside strings like a split-into-words reference', () => {
    const sanitizer = createSanitizer(
      options({ sanitizePaths: false, sanitizeEmails: false, redactKeys: ['token', 'p'] }),
    );
    const isKey = (name: string): boolean => sanitizer.isRedactedKey(name);
    const flag = '--?([A-Za-z0-9][A-Za-z0-9_.-]*)';
    const withValue = new RegExp(`^${flag}=`);
    const bare = new RegExp(`^${flag}$`);
    const reference = (text: string): string => {
      const whole = withValue.exec(text);
      if (whole !== null && isKey(whole[1] as string)) return whole[0] + REDACTED;
      // Even indexes are words (the first and last may be empty), odd ones the whitespace runs.
      const parts = text.split(/([ \t\n\v\f\r]+)/);
      for (let i = 0; i < parts.length; i += 2) {
        const word = parts[i] as string;
        const eq = withValue.exec(word);
        if (eq !== null) {
          if (isKey(eq[1] as string)) parts[i] = eq[0] + REDACTED;
          continue;
        }
        const name = bare.exec(word);
        const next = parts[i + 2];
        if (name === null || !isKey(name[1] as string) || !next || next.startsWith('-')) continue;
        parts[i + 2] = REDACTED;
        i += 2;
      }
      return parts.join('');
    };
    const alphabet = ['--token', '-p', '--p', '-', '-', '=', 'a', 'token', '.', ' ', ' ', '\t', '\n', '\v', '\u00a0', '"', 'é'];
    for (const text of randomStrings(alphabet, 20_000, 12)) {
      expect(sanitizer.sanitizeString(text), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it('matches a Windows home dir like a case-insensitive regex with either separator', () => {
    const regex = /(?<![A-Za-z0-9_.~-])c:[\\/]users[\\/]al(?![A-Za-z0-9_.~-])/gi;
    const sanitizer = createSanitizer(options({ homeDir: 'C:\\Users\\Al', sanitizeEmails: false, redactKeys: [] }));
    const alphabet = ['C:\\Users\\Al', 'c:/users/al', 'C:/USERS\\aL', 'C:', '\\', '/', 'x', 'l', ' ', '.'];
    for (const text of randomStrings(alphabet, 10_000, 8)) {
      expect(sanitizer.sanitizeString(text), JSON.stringify(text)).toBe(text.replace(regex, '~'));
    }
  });
});

describe('performance', () => {
  it('sanitizes a small event in a few microseconds', () => {
    const sanitizer = createSanitizer(options());
    const event: JsonObject = {
      command: 'deploy',
      subcommand: 'prod',
      flags: ['--region=eu', '--token', 'abc', '--config=/home/alice/.deploy.json'],
      argv: 'deploy prod --region=eu --token abc -v',
      success: true,
      duration_ms: 1234,
      exit_code: 0,
      user: 'alice@example.com',
    };
    for (let i = 0; i < 2_000; i++) sanitizer.sanitizeData(event);
    const rounds = 20_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) sanitizer.sanitizeData(event);
    const perEvent = ((performance.now() - started) * 1000) / rounds;
    // Typically 1–3 µs; the bound leaves room for slow CI machines.
    expect(perEvent).toBeLessThan(50);
  });

  it('stays linear on long runs that would make a backtracking e-mail regex quadratic', () => {
    const opts = options();
    const text = `${'a'.repeat(200_000)}@!${'&x'.repeat(50_000)}`;
    const started = performance.now();
    const out = sanitizeString(text, opts);
    expect(performance.now() - started).toBeLessThan(500);
    expect(out).toBe(text);
  });

  it('scans flags in linear time', () => {
    const opts = options();
    for (const unit of ['--token ', '- ', 'a-', '--token=', '--x y ', '--token x ']) {
      const text = unit.repeat(200_000 / unit.length);
      const started = performance.now();
      sanitizeString(text, opts);
      expect(performance.now() - started, JSON.stringify(unit)).toBeLessThan(500);
    }
  });
});

describe('values of redacted keys', () => {
  it('replace any JSON type', () => {
    const values: JsonValue[] = [{ a: 1 }, [1], null, 0, false, ''];
    for (const value of values) expect(sanitizeData({ secret: value }, options())).toEqual({ secret: REDACTED });
  });
});
