/** Validates events against test/vectors/event.schema.json. */
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { VECTORS_DIR } from './vectors.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(readFileSync(`${VECTORS_DIR}event.schema.json`, 'utf8')) as object);

export function expectValidEvent(event: unknown): void {
  const ok = validate(event);
  expect(ok ? [] : validate.errors).toEqual([]);
}
