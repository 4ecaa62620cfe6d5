/**
 * String rules of the Datadog Agent's trace normalizer, ported from DataDog/datadog-agent
 * pkg/trace/traceutil/normalize/normalize.go and pkg/trace/traceutil/truncate.go:
 * `NormalizeName`, `NormalizeService`, `NormalizePeerService`, `NormalizeTag`/`NormalizeTagValue`
 * and `TruncateUTF8`. Lengths are UTF-8 byte lengths, as in Go.
 */

export const DEFAULT_SPAN_NAME = 'unnamed_operation';
export const DEFAULT_SERVICE_NAME = 'unnamed-service';
export const MAX_NAME_LEN = 100;
export const MAX_SERVICE_LEN = 100;
const MAX_TAG_LEN = 200;

/** Why a value was changed, as the agent's error values (`ErrEmpty`, `ErrTooLong`, `ErrInvalid`). */
export type NormalizeIssue = 'empty' | 'too_long' | 'invalid' | null;

export interface Normalized {
  value: string;
  issue: NormalizeIssue;
}

/** UTF-8 byte length of a JS string (a lone surrogate counts 3, as TextEncoder writes U+FFFD). */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // surrogate pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Whether `s` is longer than `limit` UTF-8 bytes, without measuring short strings. */
export function exceedsUtf8(s: string, limit: number): boolean {
  // Each UTF-16 code unit is at most 3 UTF-8 bytes.
  if (s.length * 3 <= limit) return false;
  if (s.length > limit) return true;
  return utf8Length(s) > limit;
}

/** The longest prefix of `s` of at most `limit` UTF-8 bytes that does not split a character. */
export function truncateUtf8(s: string, limit: number): string {
  if (!exceedsUtf8(s, limit)) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let width: number;
    let units = 1;
    if (c < 0x80) width = 1;
    else if (c < 0x800) width = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 4;
      units = 2;
    } else width = 3;
    if (bytes + width > limit) return s.slice(0, i);
    bytes += width;
    i += units - 1;
  }
  return s;
}

function isAsciiAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isAsciiAlphaNum(c: number): boolean {
  return isAsciiAlpha(c) || (c >= 0x30 && c <= 0x39);
}

/** `isValidNormalizedMetricName`: the fast path of the name parser. */
function isNormalizedMetricName(name: string): boolean {
  if (name.length === 0 || !isAsciiAlpha(name.charCodeAt(0))) return false;
  for (let j = 1; j < name.length; j++) {
    const b = name.charCodeAt(j);
    const prevUnderscore = name.charCodeAt(j - 1) === 0x5f;
    if (!(isAsciiAlphaNum(b) || ((b === 0x2e || b === 0x5f) && !prevUnderscore))) return false;
  }
  return true;
}

/**
 * `normMetricNameParse`: skip leading non-letters, keep [A-Za-z0-9], turn runs of anything else
 * into one `_` (none after a `.`; an `_` before a `.` becomes the `.`), drop a trailing `_`.
 * Non-ASCII input works per UTF-16 unit here and per byte in Go; both collapse to one `_`.
 */
function parseMetricName(name: string): string | null {
  let i = 0;
  while (i < name.length && !isAsciiAlpha(name.charCodeAt(i))) i++;
  if (i === name.length) return null;
  const rest = name.slice(i);
  if (isNormalizedMetricName(rest)) return rest.endsWith('_') ? rest.slice(0, -1) : rest;
  let out = '';
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const last = out.charCodeAt(out.length - 1);
    if (isAsciiAlphaNum(c)) out += name[i];
    else if (c === 0x2e) {
      out = last === 0x5f ? `${out.slice(0, -1)}.` : `${out}.`;
    } else if (last !== 0x2e && last !== 0x5f) out += '_';
  }
  return out.endsWith('_') ? out.slice(0, -1) : out;
}

/** `NormalizeName`. */
export function normalizeName(name: string): Normalized {
  if (name === '') return { value: DEFAULT_SPAN_NAME, issue: 'empty' };
  let issue: NormalizeIssue = null;
  if (exceedsUtf8(name, MAX_NAME_LEN)) {
    name = truncateUtf8(name, MAX_NAME_LEN);
    issue = 'too_long';
  }
  const parsed = parseMetricName(name);
  if (parsed === null) return { value: DEFAULT_SPAN_NAME, issue: 'invalid' };
  return { value: parsed, issue };
}

/** `fallbackService`: `unnamed-<lang>-service`, or `unnamed-service` without a language. */
export function fallbackService(lang: string | undefined): string {
  return lang ? `unnamed-${lang}-service` : DEFAULT_SERVICE_NAME;
}

/** `NormalizeService`: tag-value rules, 100 bytes, a language-specific fallback. */
export function normalizeService(service: string, lang: string | undefined): Normalized {
  if (service === '') return { value: fallbackService(lang), issue: 'empty' };
  let issue: NormalizeIssue = null;
  if (exceedsUtf8(service, MAX_SERVICE_LEN)) {
    service = truncateUtf8(service, MAX_SERVICE_LEN);
    issue = 'too_long';
  }
  const value = normalizeTagValue(service);
  if (value === '') return { value: fallbackService(lang), issue: 'invalid' };
  return { value, issue };
}

/** `NormalizePeerService` (also used for `_dd.base_service`): like a service, but empty when invalid. */
export function normalizePeerService(service: string): Normalized {
  if (service === '') return { value: '', issue: null };
  let issue: NormalizeIssue = null;
  if (exceedsUtf8(service, MAX_SERVICE_LEN)) {
    service = truncateUtf8(service, MAX_SERVICE_LEN);
    issue = 'too_long';
  }
  const value = normalizeTagValue(service);
  if (value === '') return { value: '', issue: 'invalid' };
  return { value, issue };
}

function isValidAsciiStartChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || c === 0x3a;
}

function isValidAsciiTagChar(c: number): boolean {
  return isValidAsciiStartChar(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2f || c === 0x2d;
}

/** `isNormalizedASCIITag`: the fast path (already lower-case ASCII, `_` only between valid chars). */
function isNormalizedAsciiTag(tag: string, checkStart: boolean): boolean {
  if (tag.length === 0) return true;
  if (tag.length > MAX_TAG_LEN) return false;
  let i = 0;
  if (checkStart) {
    if (!isValidAsciiStartChar(tag.charCodeAt(0))) return false;
    i = 1;
  }
  for (; i < tag.length; i++) {
    const b = tag.charCodeAt(i);
    if (isValidAsciiTagChar(b)) continue;
    if (b !== 0x5f) return false;
    i++;
    if (i === tag.length || !isValidAsciiTagChar(tag.charCodeAt(i))) return false;
  }
  return true;
}

const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const DIGIT = /\p{Nd}/u;

function codePointWidth(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * `normalize(v, removeDigitStartChar)`: lower-case; letters, digits, `:` `.` `/` `-` are kept;
 * each run of anything else becomes one `_`, and a run at the end is dropped; stops after 200
 * characters or 400 bytes. As a tag (`removeDigitStartChar`), leading non-letters are trimmed;
 * as a tag value they are not.
 */
function normalizeTagText(v: string, removeDigitStartChar: boolean): string {
  if (isNormalizedAsciiTag(v, removeDigitStartChar)) return v;
  let out = '';
  let chars = 0;
  let bytes = 0;
  let inCut = false;
  for (const ch of v) {
    let cp = ch.codePointAt(0) ?? 0xfffd;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate is Go's RuneError
    const width = codePointWidth(cp);
    let piece = cp === 0xfffd ? '\ufffd' : ch;
    if ((cp >= 0x61 && cp <= 0x7a) || cp === 0x3a) {
      chars++;
      out += piece;
      inCut = false;
    } else if (cp >= 0x41 && cp <= 0x5a) {
      chars++;
      out += String.fromCharCode(cp + 0x20);
      inCut = false;
    } else {
      if (UPPER.test(piece)) {
        // Go lower-cases only when the lower-case rune has the same UTF-8 width.
        const lower = piece.toLowerCase();
        const lowerCp = lower.codePointAt(0) ?? cp;
        if (lower.length === piece.length && [...lower].length === 1 && codePointWidth(lowerCp) === width) piece = lower;
      }
      if (LETTER.test(piece)) {
        chars++;
        out += piece;
        inCut = false;
      } else if (removeDigitStartChar && chars === 0) {
        // trimmed: cannot start a tag
      } else if (DIGIT.test(piece) || cp === 0x2e || cp === 0x2f || cp === 0x2d) {
        chars++;
        out += piece;
        inCut = false;
      } else {
        chars++;
        if (!inCut) out += '_';
        inCut = true;
      }
    }
    bytes += width;
    if (bytes >= 2 * MAX_TAG_LEN || chars >= MAX_TAG_LEN) break;
  }
  return inCut ? out.slice(0, -1) : out;
}

/** `NormalizeTag`: a full `key:value` tag. */
export function normalizeTag(v: string): string {
  return normalizeTagText(v, true);
}

/** `NormalizeTagValue`: the value part only (may start with a digit). */
export function normalizeTagValue(v: string): string {
  return normalizeTagText(v, false);
}
