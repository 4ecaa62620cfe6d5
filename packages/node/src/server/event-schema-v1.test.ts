import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_V1 } from './event-schema-v1.js';
import { createEventValidator } from './event-validator.js';

const VECTOR = fileURLToPath(new URL('../../../../test/vectors/event.schema.json', import.meta.url));

describe('event schema v1 in the server', () => {
  it('is test/vectors/event.schema.json, unchanged', () => {
    expect(EVENT_SCHEMA_V1).toEqual(JSON.parse(readFileSync(VECTOR, 'utf8')));
  });

  it('explains a rejection in one line that names the property', async () => {
    const validate = await createEventValidator();
    expect(validate({ schema_version: '1.0.0' })).toMatch(/^event must have required property '\w+'$/);
    expect(validate('text')).toBe('event must be object');
  });
});
