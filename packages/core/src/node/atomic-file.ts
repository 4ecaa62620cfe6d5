/**
 * Small files replaced whole: written beside the target, fsynced, then renamed over it, so a
 * crash leaves either the old or the new content, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync, linkSync, unlinkSync } from 'node:fs';
import { open, rename, link, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function writeTemp(path: string, content: string): Promise<string> {
  const temp = tempPath(path);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

function writeTempSync(path: string, content: string): string {
  const temp = tempPath(path);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await rename(await writeTemp(path, content), path);
}

export function writeFileAtomicSync(path: string, content: string): void {
  renameSync(writeTempSync(path, content), path);
}

/**
 * Creates `path` with `content` unless it already exists (then returns false). Two processes
 * racing to create it agree on one winner, because link(2) fails on an existing name.
 */
export async function createFileExclusive(path: string, content: string): Promise<boolean> {
  const temp = await writeTemp(path, content);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

export function createFileExclusiveSync(path: string, content: string): boolean {
  const temp = writeTempSync(path, content);
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}
