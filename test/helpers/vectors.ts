/** Reads a shared vector file from test/vectors (the Rust tests read the same files). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR = fileURLToPath(new URL('../vectors/', import.meta.url));

export interface VectorCase<I, E> {
  name: string;
  input: I;
  expected: E;
}

export function loadVectors<I, E>(file: string): VectorCase<I, E>[] {
  const parsed = JSON.parse(readFileSync(`${VECTORS_DIR}${file}`, 'utf8')) as { cases: VectorCase<I, E>[] };
  return parsed.cases;
}
