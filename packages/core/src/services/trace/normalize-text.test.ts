import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../../../../test/helpers/vectors.js';
import {
  normalizeName,
  normalizePeerService,
  normalizeService,
  normalizeTag,
  normalizeTagValue,
  truncateUtf8,
  utf8Length,
  type NormalizeIssue,
} from './normalize-text.js';

interface Input {
  fn: 'tag' | 'tagValue' | 'name' | 'service' | 'peerService';
  value: string;
  lang?: string;
}
interface Expected {
  value: string;
  issue: NormalizeIssue;
}

function run(input: Input): Expected {
  switch (input.fn) {
    case 'tag':
      return { value: normalizeTag(input.value), issue: null };
    case 'tagValue':
      return { value: normalizeTagValue(input.value), issue: null };
    case 'name':
      return normalizeName(input.value);
    case 'service':
      return normalizeService(input.value, input.lang);
    case 'peerService':
      return normalizePeerService(input.value);
  }
}

describe('trace string normalization (test/vectors/trace-normalize.json)', () => {
  const cases = loadVectors<Input, Expected>('trace-normalize.json');
  it('has vectors', () => {
    expect(cases.length).toBeGreaterThan(60);
  });
  for (const c of cases) {
    it(c.name, () => {
      expect(run(c.input)).toEqual(c.expected);
    });
  }
});

describe('normalizeTag limits', () => {
  it('stops at 200 characters', () => {
    expect(normalizeTag('a'.repeat(888))).toBe('a'.repeat(200));
  });

  it('stops at 400 bytes, dropping a trailing run of invalid characters', () => {
    expect(normalizeTag(`a${'🐶'.repeat(799)}b`)).toBe('a');
  });
});

describe('truncateUtf8', () => {
  it('counts UTF-8 bytes and never splits a character', () => {
    expect(truncateUtf8('abc', 5)).toBe('abc');
    expect(truncateUtf8('abcdef', 3)).toBe('abc');
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('a🐶b', 4)).toBe('a');
    expect(truncateUtf8('a🐶b', 5)).toBe('a🐶');
    expect(utf8Length('a🐶é')).toBe(7);
  });
});
