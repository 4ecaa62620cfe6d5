/**
 * The number grammar of DogStatsD values and sample rates, read straight from the line without
 * slicing it: `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`. No whitespace, hex,
 * `_`, `NaN` or `Infinity`; a value that overflows to ±Infinity is rejected too. The result is
 * the correctly rounded double, as `Number()` and Rust's `str::parse::<f64>` give.
 */

// 10^k is exact in a double up to k = 22, so m / 10^k (m < 2^53) is one correctly rounded
// division: the classic fast path that skips Number(slice) for ordinary decimals.
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_FAST_DIGITS = 15;

/** The value of `text[from, to)`, or NaN when it is not a finite number of the grammar above. */
export function parseDecimal(text: string, from: number, to: number): number {
  let i = from;
  if (i >= to) return Number.NaN;
  let c = text.charCodeAt(i);
  const negative = c === 45; // '-'
  if (negative || c === 43) i++; // '+'

  let mantissa = 0;
  let digits = 0;
  let fractionDigits = 0;
  while (i < to) {
    c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    mantissa = mantissa * 10 + (c - 48);
    digits++;
    i++;
  }
  if (i < to && c === 46) {
    // '.'
    i++;
    while (i < to) {
      c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      fractionDigits++;
      i++;
    }
  }
  if (digits === 0) return Number.NaN;

  let hasExponent = false;
  if (i < to && (c === 101 || c === 69)) {
    // 'e' | 'E'
    hasExponent = true;
    i++;
    if (i < to) {
      c = text.charCodeAt(i);
      if (c === 45 || c === 43) i++;
    }
    let exponentDigits = 0;
    while (i < to) {
      c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      exponentDigits++;
      i++;
    }
    if (exponentDigits === 0) return Number.NaN;
  }
  if (i !== to) return Number.NaN;

  if (!hasExponent && digits <= MAX_FAST_DIGITS) {
    const magnitude = fractionDigits === 0 ? mantissa : mantissa / (POW10[fractionDigits] as number);
    return negative ? -magnitude : magnitude;
  }
  const value = Number(text.slice(from, to));
  return Number.isFinite(value) ? value : Number.NaN;
}

/**
 * `text[from, to)` as a positive integer of 1 to `maxDigits` ASCII digits (no sign), or -1.
 * Used for `|T` timestamps and event header lengths.
 */
export function parseUnsignedInt(text: string, from: number, to: number, maxDigits: number): number {
  const length = to - from;
  if (length <= 0 || length > maxDigits) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
  }
  return value;
}
