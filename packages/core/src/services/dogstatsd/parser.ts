/**
 * DogStatsD datagram parser (DESIGN.md §8): bytes in, samples, events, service checks and
 * per-line errors out through a sink. Pure and stateless; specified by
 * test/vectors/dogstatsd.json.
 *
 *   name:value[:value…]|type[|@rate][|#tag,tag:v][|T<unix>][|c:<container>]
 *
 * Lines are separated by `\n` (one trailing `\r` is dropped); empty lines are skipped. A bad line
 * is reported with its kind and skipped; the other lines still count. Optional fields with an
 * unknown prefix are ignored, as the Datadog Agent does, so newer client fields pass through.
 */
import { parseDecimal, parseUnsignedInt } from './decimal.js';
import { parseEvent, parseServiceCheck } from './event-parser.js';
import { countTags, detachString, pushTags, utf8Length } from './line-fields.js';
import {
  MAX_DATAGRAM_BYTES,
  MAX_NAME_BYTES,
  MAX_TAGS,
  MAX_TIMESTAMP_SECONDS,
  type DogStatsDEvent,
  type DogStatsDSink,
  type MetricType,
  type ParseErrorKind,
  type ServiceCheck,
} from './types.js';

// One decoder for the whole datagram: a single native call is far cheaper than one per line.
// ignoreBOM keeps a leading U+FEFF as data, as a byte-oriented (Rust) parser does.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

const COLON = 58;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const UNDERSCORE = 95;
const TIMESTAMP_DIGITS = 10;

/**
 * The parser's own sink: metrics arrive as arguments rather than an object, with their tags as
 * the received text (several `|#` fields joined by `,`, empty tags still in it), so the
 * aggregator's hot path allocates neither a sample nor a tag array per line. The metric strings
 * are views into the datagram: pass what you keep through detachString (events and service
 * checks arrive detached).
 */
export interface RawDogStatsDSink {
  rawMetric(
    name: string,
    type: MetricType,
    values: number[],
    setValue: string | null,
    sampleRate: number,
    rawTags: string,
    timestamp: number | null,
    containerId: string | null,
  ): void;
  event(event: DogStatsDEvent): void;
  serviceCheck(check: ServiceCheck): void;
  error(kind: ParseErrorKind, line: string): void;
}

/** Parses one datagram and reports every line to `sink`, in order. Never throws on bad input. */
export function parseDatagram(bytes: Uint8Array, sink: DogStatsDSink): void {
  parseDatagramRaw(bytes, {
    rawMetric(name, type, values, setValue, sampleRate, rawTags, timestamp, containerId) {
      const tags: string[] = [];
      pushTags(rawTags, 0, rawTags.length, tags);
      sink.metric({
        name: detachString(name),
        type,
        values,
        setValue: setValue === null ? null : detachString(setValue),
        sampleRate,
        tags: tags.map(detachString),
        timestamp,
        containerId: containerId === null ? null : detachString(containerId),
      });
    },
    event: (event) => sink.event(event),
    serviceCheck: (check) => sink.serviceCheck(check),
    error: (kind, line) => sink.error(kind, line),
  });
}

/** parseDatagram for a RawDogStatsDSink. */
export function parseDatagramRaw(bytes: Uint8Array, sink: RawDogStatsDSink): void {
  if (bytes.length > MAX_DATAGRAM_BYTES) {
    sink.error('datagram_too_large', `${bytes.length} bytes`);
    return;
  }
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    parseLinesOneByOne(bytes, sink);
    return;
  }
  // Multi-byte sequences always yield fewer UTF-16 units than bytes, so equal lengths mean
  // pure ASCII, where UTF-8 byte counts (names, event lengths) are plain string lengths.
  const ascii = text.length === bytes.length;
  const length = text.length;
  let start = 0;
  while (start < length) {
    let newline = text.indexOf('\n', start);
    if (newline === -1) newline = length;
    let end = newline;
    if (end > start && text.charCodeAt(end - 1) === CARRIAGE_RETURN) end--;
    if (end > start) parseLine(text.slice(start, end), ascii, sink);
    start = newline + 1;
  }
}

/** The slow path for a datagram with invalid UTF-8: only the lines holding it are rejected. */
function parseLinesOneByOne(bytes: Uint8Array, sink: RawDogStatsDSink): void {
  let start = 0;
  while (start < bytes.length) {
    let newline = bytes.indexOf(NEWLINE, start);
    if (newline === -1) newline = bytes.length;
    let end = newline;
    if (end > start && bytes[end - 1] === CARRIAGE_RETURN) end--;
    if (end > start) {
      const lineBytes = bytes.subarray(start, end);
      let line: string | null = null;
      try {
        line = strictDecoder.decode(lineBytes);
      } catch {
        sink.error('invalid_utf8', lossyDecoder.decode(lineBytes));
      }
      if (line !== null) parseLine(line, line.length === lineBytes.length, sink);
    }
    start = newline + 1;
  }
}

/** One non-empty line without its terminator. `ascii` says the line has no multi-byte character. */
function parseLine(line: string, ascii: boolean, sink: RawDogStatsDSink): void {
  if (line.charCodeAt(0) === UNDERSCORE) {
    if (line.startsWith('_e{')) {
      parseEvent(line, ascii, sink);
      return;
    }
    if (line.startsWith('_sc|')) {
      parseServiceCheck(line, sink);
      return;
    }
  }
  parseMetric(line, ascii, sink);
}

function parseMetric(line: string, ascii: boolean, sink: RawDogStatsDSink): void {
  const length = line.length;
  const firstPipe = line.indexOf('|');
  const headEnd = firstPipe === -1 ? length : firstPipe;
  const colon = line.indexOf(':');
  if (colon === -1 || colon > headEnd) return sink.error('missing_value', line);
  if (colon === 0) return sink.error('empty_name', line);
  if (colon > MAX_NAME_BYTES || (!ascii && colon * 3 > MAX_NAME_BYTES && utf8Length(line, 0, colon) > MAX_NAME_BYTES)) {
    return sink.error('name_too_long', line);
  }
  if (colon + 1 === headEnd) return sink.error('missing_value', line);
  if (firstPipe === -1) return sink.error('missing_type', line);

  let typeEnd = line.indexOf('|', firstPipe + 1);
  if (typeEnd === -1) typeEnd = length;
  const type = metricType(line, firstPipe + 1, typeEnd);
  if (type === null) return sink.error(typeEnd === firstPipe + 1 ? 'missing_type' : 'unknown_type', line);

  let values: number[];
  let setValue: string | null = null;
  if (type === 's') {
    // Sets take the raw text: a `:` inside is part of the member, as in the Agent.
    values = [];
    setValue = line.slice(colon + 1, headEnd);
  } else {
    values = [];
    let valueStart = colon + 1;
    for (;;) {
      let valueEnd = line.indexOf(':', valueStart);
      if (valueEnd === -1 || valueEnd > headEnd) valueEnd = headEnd;
      const value = parseDecimal(line, valueStart, valueEnd);
      if (value !== value) return sink.error('bad_value', line); // NaN: not a finite number
      values.push(value);
      if (valueEnd === headEnd) break;
      valueStart = valueEnd + 1;
    }
  }

  let sampleRate = 1;
  let rawTags = '';
  let tagCount = 0;
  let timestamp: number | null = null;
  let containerId: string | null = null;
  let fieldStart = typeEnd + 1;
  while (fieldStart <= length) {
    let fieldEnd = line.indexOf('|', fieldStart);
    if (fieldEnd === -1) fieldEnd = length;
    switch (line.charCodeAt(fieldStart)) {
      case 64: {
        // '@'
        const rate = parseDecimal(line, fieldStart + 1, fieldEnd);
        if (!(rate > 0 && rate <= 1)) return sink.error('bad_sample_rate', line);
        sampleRate = rate;
        break;
      }
      case 35: {
        // '#': kept as text; splitting is left to whoever needs single tags (the aggregator
        // looks the whole text up in its cache and splits only on a miss).
        const count = countTags(line, fieldStart + 1, fieldEnd);
        if (count === 0) break;
        tagCount += count;
        if (tagCount > MAX_TAGS) return sink.error('too_many_tags', line);
        const text = line.slice(fieldStart + 1, fieldEnd);
        rawTags = rawTags === '' ? text : `${rawTags},${text}`;
        break;
      }
      case 84: {
        // 'T'
        const seconds = parseUnsignedInt(line, fieldStart + 1, fieldEnd, TIMESTAMP_DIGITS);
        if (seconds < 1 || seconds > MAX_TIMESTAMP_SECONDS) return sink.error('bad_timestamp', line);
        timestamp = seconds;
        break;
      }
      case 99: // 'c'
        if (line.charCodeAt(fieldStart + 1) === COLON && fieldEnd > fieldStart + 2) {
          containerId = line.slice(fieldStart + 2, fieldEnd);
        }
        break;
      default:
        break;
    }
    fieldStart = fieldEnd + 1;
  }

  sink.rawMetric(line.slice(0, colon), type, values, setValue, sampleRate, rawTags, timestamp, containerId);
}

function metricType(line: string, from: number, to: number): MetricType | null {
  const c = line.charCodeAt(from);
  if (to - from === 1) {
    switch (c) {
      case 99:
        return 'c';
      case 103:
        return 'g';
      case 104:
        return 'h';
      case 100:
        return 'd';
      case 115:
        return 's';
      default:
        return null;
    }
  }
  if (to - from === 2 && c === 109 && line.charCodeAt(from + 1) === 115) return 'ms';
  return null;
}
