/**
 * Sanitizes event data before it is stored (DESIGN.md §5).
 *
 * The rules are shared with the native backend and specified by test/vectors/privacy.json, so
 * they are written as plain scans over ASCII character classes rather than JS-specific regexes:
 * each function here is meant to be ported line by line. Runtime-agnostic: no Node built-ins.
 *
 * Within one string the order is: flag and query redaction, then home directory, then e-mails.
 * Object keys get the home directory and e-mail rules only; redaction looks at the original key.
 *
 * Flags. "Redacted NAME" means `isRedactedKey(NAME)` (the word rule below); NAME is
 * `[A-Za-z0-9][A-Za-z0-9_.-]*`. ASCII whitespace is exactly space, \t, \n, \v (0x0B), \f (0x0C)
 * and \r, for flags and query parameters alike (note: Rust's `is_ascii_whitespace` omits \v). A
 * word is a maximal run of non-whitespace characters; only a word that begins at the start of the
 * string or right after whitespace, with `-`, can be a flag. In a string:
 *   1. If the string starts with `-{1,2}NAME=` and NAME is redacted, everything after that `=`
 *      becomes `<redacted>`, whitespace and newlines included (`--token=a b\nc` →
 *      `--token=<redacted>`), and rule 2 does not apply.
 *   2. Otherwise every word, left to right:
 *      - `-{1,2}NAME=VALUE`, NAME redacted: VALUE (rest of the word, maybe empty) → `<redacted>`
 *        (`deploy --token=abc -v` → `deploy --token=<redacted> -v`);
 *      - exactly `-{1,2}NAME`, NAME redacted, followed by whitespace and a word that does not
 *        start with `-`: that following word → `<redacted>`, and the scan resumes after it
 *        (`--password hunter2 -v` → `--password <redacted> -v`). Followed by nothing, or by a
 *        word starting with `-`, nothing is replaced and that next word is scanned as usual;
 *      - anything else is kept: `x--token=abc`, `---token=x`, `--token:x`, `--region=eu`.
 *      Whitespace is always preserved byte for byte.
 * In an array, an element that is exactly `-{1,2}NAME` with NAME redacted makes the next element
 * `<redacted>`, whatever its type, unless it is a string starting with `-`. Each element is also
 * a string of its own for rules 1 and 2.
 * Limitations (by design, shared with every backend): quotes mean nothing, so `--token "a b"`
 * redacts only `"a` and keeps `b"`; a value that starts with `-` after a bare flag (`--key -5`) is
 * kept; a flag glued to preceding text (`x--token=abc`, `'--token=abc'`) is not a flag.
 */
import { setOwn } from './normalize.js';
import type { Sha256Hex } from './sha256.js';
import type { JsonObject, JsonValue } from './types.js';

export interface SanitizeOptions {
  homeDir: string | null;
  sanitizePaths: boolean;
  sanitizeEmails: boolean;
  redactKeys: readonly string[];
  emailSalt: string;
  sha256Hex: Sha256Hex;
}

export const REDACTED = '<redacted>';

export interface Sanitizer {
  sanitizeData(data: JsonObject): JsonObject;
  sanitizeValue(value: JsonValue): JsonValue;
  sanitizeString(value: string): string;
  /** Home directory and e-mail rules only: keys are never redacted, their values are. */
  sanitizeKey(key: string): string;
  isRedactedKey(key: string): boolean;
}

/** Caches stay small: keys and addresses repeat across events, but input is caller-controlled. */
const CACHE_LIMIT = 1024;
const CACHEABLE_LENGTH = 256;

/**
 * Precompiles the options (redact words, home directory needle, caches). Treat `options` as
 * immutable afterwards; the module-level functions cache one sanitizer per options object.
 */
export function createSanitizer(options: SanitizeOptions): Sanitizer {
  const redactWords = compileRedactKeys(options.redactKeys);
  const home = options.sanitizePaths ? compileHomeDir(options.homeDir) : null;
  const salt = options.emailSalt;
  const redactedCache = new Map<string, boolean>();
  const tokenCache = new Map<string, string>();

  const isRedacted = (key: string): boolean => {
    let hit = redactedCache.get(key);
    if (hit === undefined) {
      hit = matchesRedactWords(key, redactWords);
      if (key.length > CACHEABLE_LENGTH) return hit;
      if (redactedCache.size >= CACHE_LIMIT) redactedCache.clear();
      redactedCache.set(key, hit);
    }
    return hit;
  };

  const token = (email: string): string => {
    let cached = tokenCache.get(email);
    if (cached === undefined) {
      cached = emailToken(email, salt, options.sha256Hex);
      if (email.length > CACHEABLE_LENGTH) return cached;
      if (tokenCache.size >= CACHE_LIMIT) tokenCache.clear();
      tokenCache.set(email, cached);
    }
    return cached;
  };

  const sanitizeKey = (key: string): string => {
    let out = home === null ? key : replaceHomeDir(key, home);
    if (options.sanitizeEmails) out = replaceEmails(out, token);
    return out;
  };

  const sanitizeString = (value: string): string => {
    let out = redactFlags(value, isRedacted);
    out = redactQueryValues(out, isRedacted);
    return sanitizeKey(out);
  };

  const sanitizeArray = (array: readonly JsonValue[]): JsonValue[] => {
    const out: JsonValue[] = [];
    for (let i = 0; i < array.length; i++) {
      const item = array[i] as JsonValue;
      out.push(sanitizeValue(item));
      // `["--token", "abc"]`: the flag's value is the next element, unless that is another flag.
      if (typeof item !== 'string' || i + 1 >= array.length) continue;
      const name = bareFlagName(item);
      if (name === null || !isRedacted(name)) continue;
      const next = array[i + 1];
      if (typeof next === 'string' && next.startsWith('-')) continue;
      out.push(REDACTED);
      i += 1;
    }
    return out;
  };

  const sanitizeObject = (obj: JsonObject): JsonObject => {
    const out: JsonObject = {};
    // Two keys that sanitize to the same text (`/home/u/x` and `~/x`): the later one wins.
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      if (value === undefined) continue;
      setOwn(out, sanitizeKey(key), isRedacted(key) ? REDACTED : sanitizeValue(value));
    }
    return out;
  };

  const sanitizeValue = (value: JsonValue): JsonValue => {
    if (typeof value === 'string') return sanitizeString(value);
    if (value === null || typeof value !== 'object') return value;
    return Array.isArray(value) ? sanitizeArray(value) : sanitizeObject(value);
  };

  return { sanitizeData: sanitizeObject, sanitizeValue, sanitizeString, sanitizeKey, isRedactedKey: isRedacted };
}

const sanitizers = new WeakMap<SanitizeOptions, Sanitizer>();

function sanitizerFor(options: SanitizeOptions): Sanitizer {
  let sanitizer = sanitizers.get(options);
  if (sanitizer === undefined) {
    sanitizer = createSanitizer(options);
    sanitizers.set(options, sanitizer);
  }
  return sanitizer;
}

/** Returns a sanitized copy; the input is not mutated. */
export function sanitizeData(data: JsonObject, options: SanitizeOptions): JsonObject {
  return sanitizerFor(options).sanitizeData(data);
}

export function sanitizeValue(value: JsonValue, options: SanitizeOptions): JsonValue {
  return sanitizerFor(options).sanitizeValue(value);
}

export function sanitizeString(value: string, options: SanitizeOptions): string {
  return sanitizerFor(options).sanitizeString(value);
}

/**
 * Whether values under `key` are redacted. The key is split into lowercase words at every
 * non-alphanumeric ASCII character and at camelCase boundaries (lower or digit → upper, and
 * before the last capital of an acronym: `APIKey` → api,key); each redact entry is reduced to its
 * lowercase ASCII alphanumerics. The key matches when a contiguous run of its words, joined,
 * equals an entry: `apiKey`, `x-api-key`, `SET_COOKIE` and `authToken` match the defaults, while
 * `keyboard`, `monkey`, `tokenizer`, and also the plurals `passwords` and `keys` (one word
 * each) do not.
 */
export function isRedactedKey(key: string, redactKeys: readonly string[]): boolean {
  return matchesRedactWords(key, compileRedactKeys(redactKeys));
}

/** `<email:` + first 8 hex of sha256(utf8(salt + ":" + lowercased email)) + `>`. */
export function emailToken(email: string, salt: string, sha256Hex: Sha256Hex): string {
  const digest = sha256Hex(`${salt}:${email.toLowerCase()}`);
  return `<email:${digest.slice(0, 8)}>`;
}

// ---- Character classes (ASCII only, so every backend agrees) ----

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isUpper(code: number): boolean {
  return code >= 0x41 && code <= 0x5a;
}

function isLower(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

function isAlpha(code: number): boolean {
  return isUpper(code) || isLower(code);
}

function isAlnum(code: number): boolean {
  return isAlpha(code) || isDigit(code);
}

const DASH = 0x2d;
const DOT = 0x2e;
const UNDERSCORE = 0x5f;
const EQUALS = 0x3d;

function isAsciiWhitespace(code: number): boolean {
  // space, \t, \n, \v, \f, \r
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

// ---- Redact keys ----

interface RedactWords {
  readonly entries: ReadonlySet<string>;
  readonly longest: number;
}

function compileRedactKeys(redactKeys: readonly string[]): RedactWords {
  const entries = new Set<string>();
  let longest = 0;
  for (const key of redactKeys) {
    const entry = key.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
    if (entry === '') continue;
    entries.add(entry);
    longest = Math.max(longest, entry.length);
  }
  return { entries, longest };
}

function startsNewWord(key: string, i: number): boolean {
  const code = key.charCodeAt(i);
  if (!isUpper(code)) return false;
  const prev = key.charCodeAt(i - 1);
  if (isLower(prev) || isDigit(prev)) return true;
  return isUpper(prev) && isLower(key.charCodeAt(i + 1));
}

/** Lowercase ASCII words of a key; anything that is not an ASCII letter or digit separates. */
export function keyWords(key: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < key.length; i++) {
    if (!isAlnum(key.charCodeAt(i))) {
      if (start >= 0) words.push(key.slice(start, i).toLowerCase());
      start = -1;
    } else if (start < 0) {
      start = i;
    } else if (startsNewWord(key, i)) {
      words.push(key.slice(start, i).toLowerCase());
      start = i;
    }
  }
  if (start >= 0) words.push(key.slice(start).toLowerCase());
  return words;
}

function matchesRedactWords(key: string, redact: RedactWords): boolean {
  if (redact.entries.size === 0) return false;
  const words = keyWords(key);
  for (let i = 0; i < words.length; i++) {
    let joined = '';
    for (let j = i; j < words.length; j++) {
      joined += words[j];
      if (joined.length > redact.longest) break;
      if (redact.entries.has(joined)) return true;
    }
  }
  return false;
}

// ---- Flags: `--token=abc`, `--token abc` inside a string, and `["--token", "abc"]` ----

function isFlagNameChar(code: number): boolean {
  return isAlnum(code) || code === UNDERSCORE || code === DOT || code === DASH;
}

/**
 * Parses `-{1,2}[A-Za-z0-9][A-Za-z0-9_.-]*` starting exactly at `start` and returns the index
 * just past the name, or -1. `nameStart` receives where the name begins. A name never contains
 * whitespace, so the scan stops inside the word it starts in.
 */
function scanFlagName(value: string, start: number, nameStart: { index: number }): number {
  if (value.charCodeAt(start) !== DASH) return -1;
  const first = value.charCodeAt(start + 1) === DASH ? start + 2 : start + 1;
  if (!isAlnum(value.charCodeAt(first))) return -1;
  let end = first + 1;
  while (end < value.length && isFlagNameChar(value.charCodeAt(end))) end++;
  nameStart.index = first;
  return end;
}

/** Index of the first ASCII whitespace character at or after `from`, or `value.length`. */
function wordEnd(value: string, from: number): number {
  let i = from;
  while (i < value.length && !isAsciiWhitespace(value.charCodeAt(i))) i++;
  return i;
}

/**
 * Flag redaction within one string (see the header comment for the rule as a whole).
 *
 * 1. Whole string: when the string itself starts with `-{1,2}NAME=` and NAME is redacted,
 *    everything after that first `=` becomes `<redacted>`, whitespace and newlines included: a
 *    multi-line secret passed as one argument must not escape redaction.
 * 2. Otherwise, words: a word is a maximal run of non-whitespace characters, and it is a flag
 *    word only when it starts with `-` at the start of the string or right after whitespace.
 *    - `-{1,2}NAME=VALUE` with NAME redacted: VALUE (the rest of the word, possibly empty)
 *      becomes `<redacted>`.
 *    - exactly `-{1,2}NAME` with NAME redacted: when whitespace and then another word follow,
 *      and that word does not start with `-`, the whole following word becomes `<redacted>` and
 *      the scan resumes after it. A following word that starts with `-` is scanned as a word
 *      itself (`--token --token x` → `--token --token <redacted>`).
 *    Whitespace is never rewritten. Any other word is left alone (`x--token=abc`, `---token=x`,
 *    `--token:x`).
 */
function redactFlags(value: string, isRedacted: (key: string) => boolean): string {
  // Fast path: every flag starts with `-`, and most strings contain none.
  let dash = value.indexOf('-');
  if (dash < 0) return value;
  const nameStart = { index: 0 };
  let out = '';
  let copied = 0;
  while (dash >= 0) {
    if (dash > 0 && !isAsciiWhitespace(value.charCodeAt(dash - 1))) {
      dash = value.indexOf('-', dash + 1);
      continue;
    }
    const end = scanFlagName(value, dash, nameStart);
    const after = end < 0 ? -1 : value.charCodeAt(end);
    if (after === EQUALS) {
      // `-{1,2}NAME=VALUE`
      const valueEnd = wordEnd(value, end + 1);
      if (isRedacted(value.slice(nameStart.index, end))) {
        // Rule 1: the string itself is the flag, so its value runs to the end of the string.
        if (dash === 0) return value.slice(0, end + 1) + REDACTED;
        out += value.slice(copied, end + 1) + REDACTED;
        copied = valueEnd;
      }
      dash = value.indexOf('-', valueEnd);
    } else if (end === value.length) {
      break; // `-{1,2}NAME` at the very end: nothing follows it.
    } else if (end >= 0 && isAsciiWhitespace(after)) {
      // `-{1,2}NAME`, then whitespace: look at the next word.
      let next = end + 1;
      while (next < value.length && isAsciiWhitespace(value.charCodeAt(next))) next++;
      if (next < value.length && value.charCodeAt(next) !== DASH && isRedacted(value.slice(nameStart.index, end))) {
        const nextEnd = wordEnd(value, next + 1);
        out += value.slice(copied, next) + REDACTED;
        copied = nextEnd;
        dash = value.indexOf('-', nextEnd);
      } else {
        dash = value.indexOf('-', next);
      }
    } else {
      // Not a flag word: skip the rest of it.
      dash = value.indexOf('-', wordEnd(value, dash + 1));
    }
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** The NAME of a string that is exactly `-NAME` or `--NAME`, else null. */
function bareFlagName(value: string): string | null {
  const nameStart = { index: 0 };
  const end = scanFlagName(value, 0, nameStart);
  return end === value.length ? value.slice(nameStart.index) : null;
}

// ---- Query parameters: `?token=abc&page=2` ----

const QUESTION = 0x3f;
const AMPERSAND = 0x26;
const HASH = 0x23;

function isQueryKeyChar(code: number): boolean {
  return code !== EQUALS && code !== AMPERSAND && code !== HASH && code !== QUESTION && !isAsciiWhitespace(code);
}

function isQueryValueEnd(code: number): boolean {
  return code === AMPERSAND || code === HASH || isAsciiWhitespace(code);
}

/**
 * After each `?` or `&`: a key (one or more characters other than `=&#?` and ASCII whitespace)
 * then `=`. When the key is redacted its value, up to the next `&`, `#`, ASCII whitespace or the
 * end, becomes `<redacted>` (even when empty) and the scan resumes after it. Otherwise the scan
 * resumes right after the `?`/`&`, so `?next=/a?token=x` still finds the nested `token`.
 */
function redactQueryValues(value: string, isRedacted: (key: string) => boolean): string {
  if (value.indexOf('?') < 0 && value.indexOf('&') < 0) return value;
  let out = '';
  let copied = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code !== QUESTION && code !== AMPERSAND) continue;
    let keyEnd = i + 1;
    while (keyEnd < value.length && isQueryKeyChar(value.charCodeAt(keyEnd))) keyEnd++;
    if (keyEnd === i + 1 || value.charCodeAt(keyEnd) !== EQUALS) continue;
    if (!isRedacted(value.slice(i + 1, keyEnd))) continue;
    let valueEnd = keyEnd + 1;
    while (valueEnd < value.length && !isQueryValueEnd(value.charCodeAt(valueEnd))) valueEnd++;
    out += value.slice(copied, keyEnd + 1) + REDACTED;
    copied = valueEnd;
    i = valueEnd - 1;
  }
  return copied === 0 ? value : out + value.slice(copied);
}

// ---- Home directory ----

interface HomeNeedle {
  readonly text: string;
  /** Windows: ASCII case-insensitive, with `/` and `\` interchangeable. */
  readonly folded: boolean;
}

function compileHomeDir(homeDir: string | null): HomeNeedle | null {
  if (homeDir === null) return null;
  const folded = homeDir.includes('\\');
  const text = homeDir.replace(/[/\\]+$/, '');
  // A root (`/`, `C:\`) would match nearly every path and say nothing about the user.
  if (text === '' || (folded && /^[A-Za-z]:$/.test(text))) return null;
  return { text: folded ? foldPath(text) : text, folded };
}

/** Lowercases ASCII letters and maps `\` to `/`; one unit per unit, so indexes still line up. */
function foldPath(value: string): string {
  return value.replace(/[A-Z\\]/g, (c) => (c === '\\' ? '/' : c.toLowerCase()));
}

/** Characters that continue a path name, so a match next to one is not on a boundary. */
function isPathNameChar(code: number): boolean {
  return isAlnum(code) || code === UNDERSCORE || code === DOT || code === DASH || code === 0x7e; // ~
}

function onBoundary(value: string, index: number): boolean {
  return index < 0 || index >= value.length || !isPathNameChar(value.charCodeAt(index));
}

/**
 * Replaces each occurrence of the home directory with `~`, left to right without overlaps, when
 * the characters on both sides (in the original string) are boundaries: `/home/u` must not
 * rewrite `/home/user2` or `/home/u.bak`.
 */
function replaceHomeDir(value: string, home: HomeNeedle): string {
  if (value.length < home.text.length) return value;
  const haystack = home.folded ? foldPath(value) : value;
  let index = haystack.indexOf(home.text);
  if (index < 0) return value;
  let out = '';
  let copied = 0;
  while (index >= 0) {
    const end = index + home.text.length;
    if (onBoundary(value, index - 1) && onBoundary(value, end)) {
      out += `${value.slice(copied, index)}~`;
      copied = end;
      index = haystack.indexOf(home.text, end);
    } else {
      index = haystack.indexOf(home.text, index + 1);
    }
  }
  return out + value.slice(copied);
}

// ---- E-mail addresses ----

function isLocalPartChar(code: number): boolean {
  // [A-Za-z0-9._%+-]
  return isAlnum(code) || code === DOT || code === UNDERSCORE || code === 0x25 || code === 0x2b || code === DASH;
}

function isLabelChar(code: number): boolean {
  return isAlnum(code) || code === DASH;
}

/**
 * Given the index just past an `@`, returns where a domain matching
 * `[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}` ends, or -1. With a backtracking regex that is
 * the end of the leading letters of the last label (not the first) that starts with at least two
 * letters: `a@b.com2` → `a@b.com`.
 */
function domainEnd(value: string, start: number): number {
  let i = start;
  while (i < value.length && isLabelChar(value.charCodeAt(i))) i++;
  if (i === start) return -1;
  let end = -1;
  while (value.charCodeAt(i) === DOT && isLabelChar(value.charCodeAt(i + 1))) {
    let j = i + 1;
    while (isAlpha(value.charCodeAt(j))) j++;
    if (j - (i + 1) >= 2) end = j;
    while (isLabelChar(value.charCodeAt(j))) j++;
    i = j;
  }
  return end;
}

/**
 * Replaces every match of `[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`
 * exactly as a global regex search would, but in linear time: the regex backtracks
 * quadratically over long runs of local-part characters. Since neither side contains `@`, the
 * leftmost match is found from the first `@` that has a valid domain, with the local part being
 * the run of local-part characters before it (not reaching back into the previous match).
 */
function replaceEmails(value: string, token: (email: string) => string): string {
  let at = value.indexOf('@');
  if (at < 0) return value;
  let out = '';
  let copied = 0;
  while (at >= 0) {
    let start = at;
    while (start > copied && isLocalPartChar(value.charCodeAt(start - 1))) start--;
    const end = start < at ? domainEnd(value, at + 1) : -1;
    if (end >= 0) {
      out += value.slice(copied, start) + token(value.slice(start, end));
      copied = end;
      at = value.indexOf('@', end);
    } else {
      at = value.indexOf('@', at + 1);
    }
  }
  return out + value.slice(copied);
}
