/**
 * The two small state files of a data dir: `install_id` (64 hex characters, created on first
 * use) and `consent.json` ({status, timestamp, service}). A corrupt file is never fatal: the
 * install id is regenerated and consent reads as unknown.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidInstallId, newInstallId, type RandomBytes } from '../ids.js';
import type { ConsentStore, IdentityStore } from '../storage.js';
import type { ConsentRecord, ConsentStatus } from '../types.js';
import { createFileExclusive, createFileExclusiveSync, writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';

export const INSTALL_ID_FILE = 'install_id';
export const CONSENT_FILE = 'consent.json';

const CONSENT_STATUSES: readonly ConsentStatus[] = ['unknown', 'granted', 'denied', 'opted_out'];

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FileIdentityStore implements IdentityStore {
  private readonly path: string;

  constructor(
    private readonly dataDir: string,
    private readonly random: RandomBytes,
  ) {
    this.path = join(dataDir, INSTALL_ID_FILE);
  }

  async load(): Promise<string> {
    const existing = await readFile(this.path, 'utf8').catch((error: unknown) => {
      if (isMissing(error)) return null;
      throw error;
    });
    if (existing !== null && isValidInstallId(existing.trim())) return existing.trim();
    await mkdir(this.dataDir, { recursive: true });
    const fresh = newInstallId(this.random);
    if (existing === null) {
      // Another process may create it at the same moment: whoever links first wins for both.
      if (!(await createFileExclusive(this.path, fresh))) return this.load();
    } else {
      await writeFileAtomic(this.path, fresh);
    }
    return fresh;
  }

  loadSync(): string {
    let existing: string | null = null;
    try {
      existing = readFileSync(this.path, 'utf8');
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    if (existing !== null && isValidInstallId(existing.trim())) return existing.trim();
    mkdirSync(this.dataDir, { recursive: true });
    const fresh = newInstallId(this.random);
    if (existing === null) {
      if (!createFileExclusiveSync(this.path, fresh)) return this.loadSync();
    } else {
      writeFileAtomicSync(this.path, fresh);
    }
    return fresh;
  }

  async reset(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

function parseConsent(text: string): ConsentRecord | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') return null;
    const { status, timestamp, service } = value as Record<string, unknown>;
    if (typeof status !== 'string' || !CONSENT_STATUSES.includes(status as ConsentStatus)) return null;
    return {
      status: status as ConsentStatus,
      timestamp: typeof timestamp === 'string' ? timestamp : '',
      service: typeof service === 'string' ? service : '',
    };
  } catch {
    return null;
  }
}

export class FileConsentStore implements ConsentStore {
  private readonly path: string;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, CONSENT_FILE);
  }

  async load(): Promise<ConsentRecord | null> {
    try {
      return parseConsent(await readFile(this.path, 'utf8'));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  loadSync(): ConsentRecord | null {
    try {
      return parseConsent(readFileSync(this.path, 'utf8'));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async save(record: ConsentRecord): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    await writeFileAtomic(this.path, `${JSON.stringify(record)}\n`);
  }
}
