/**
 * Field readers shared by the metric, event and service check parsers. They index into the
 * line rather than split it, so a line costs one slice per kept string.
 */
import { MAX_TAGS } from './types.js';

/**
 * Appends the non-empty comma-separated tags of `line[from, to)` to `tags`. Returns false once
 * more than MAX_TAGS tags are collected.
 */
export function pushTags(line: string, from: number, to: number, tags: string[]): boolean {
  let start = from;
  while (start < to) {
    let comma = line.indexOf(',', start);
    if (comma === -1 || comma > to) comma = to;
    if (comma > start) {
      if (tags.length === MAX_TAGS) return false;
      tags.push(line.slice(start, comma));
    }
    start = comma + 1;
  }
  return true;
}

/** How many non-empty comma-separated tags `line[from, to)` holds. */
export function countTags(line: string, from: number, to: number): number {
  let count = 0;
  let start = from;
  while (start < to) {
    let comma = line.indexOf(',', start);
    if (comma === -1 || comma > to) comma = to;
    if (comma > start) count++;
    start = comma + 1;
  }
  return count;
}

/** UTF-8 byte length of `text[from, to)` (the text is well-formed: it was decoded strictly). */
export function utf8Length(text: string, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The index reached after `byteCount` UTF-8 bytes of `text` from `from`, or -1 when the text
 * ends first or the count stops inside a character. Event headers give lengths in bytes.
 */
export function advanceUtf8Bytes(text: string, from: number, byteCount: number, ascii: boolean): number {
  if (ascii) return from + byteCount <= text.length ? from + byteCount : -1;
  let i = from;
  let remaining = byteCount;
  while (remaining > 0) {
    if (i >= text.length) return -1;
    const c = text.charCodeAt(i);
    let size: number;
    let units = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      size = 4;
      units = 2;
    } else size = 3;
    if (size > remaining) return -1;
    remaining -= size;
    i += units;
  }
  return i;
}

// V8 makes slices of 13+ characters views into their parent string, so one kept name would keep
// its whole datagram (up to 64 KiB) alive. Concatenating first forces a flat copy to slice from.
const MIN_SHARED_SLICE = 13;

/** A copy of `text` that does not keep the string it was sliced from alive. */
export function detachString(text: string): string {
  return text.length < MIN_SHARED_SLICE ? text : ` ${text}`.slice(1);
}

/** Clients escape newlines in event text as the two characters `\n`. */
export function unescapeNewlines(text: string): string {
  return text.includes('\\n') ? text.replaceAll('\\n', '\n') : text;
}
