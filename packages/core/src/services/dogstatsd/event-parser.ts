/**
 * DogStatsD events and service checks:
 *
 *   _e{<title bytes>,<text bytes>}:<title>|<text>[|d:<unix>][|h:<host>][|k:<key>][|p:normal|low]
 *       [|t:error|warning|info|success][|s:<source>][|#tags][|c:<container>]
 *   _sc|<name>|<0..3>[|d:<unix>][|h:<host>][|#tags][|m:<message>][|c:<container>]
 *
 * Event lengths count UTF-8 bytes, as in the Datadog Agent. A malformed header, name or status
 * rejects the line (`bad_event`, `bad_service_check`); an optional field with a bad value (an
 * unknown priority, a non-numeric `d:`) is ignored and the defaults stay, as the Agent does.
 */
import { parseUnsignedInt } from './decimal.js';
import { advanceUtf8Bytes, detachString, pushTags, unescapeNewlines } from './line-fields.js';
import type { DogStatsDEvent, DogStatsDSink, ServiceCheck, ServiceCheckStatus } from './types.js';

const PIPE = 124;
const COLON = 58;
// A datagram is at most 65,536 bytes, so 6 digits cover every length that can fit.
const LENGTH_DIGITS = 6;
const TIMESTAMP_DIGITS = 10;

export function parseEvent(line: string, ascii: boolean, sink: Pick<DogStatsDSink, 'event' | 'error'>): void {
  const comma = line.indexOf(',', 3);
  const brace = line.indexOf('}', 3);
  if (comma === -1 || brace === -1 || comma > brace || line.charCodeAt(brace + 1) !== COLON) {
    return sink.error('bad_event', line);
  }
  const titleLength = parseUnsignedInt(line, 3, comma, LENGTH_DIGITS);
  const textLength = parseUnsignedInt(line, comma + 1, brace, LENGTH_DIGITS);
  if (titleLength < 1 || textLength < 0) return sink.error('bad_event', line);

  const titleStart = brace + 2;
  const titleEnd = advanceUtf8Bytes(line, titleStart, titleLength, ascii);
  if (titleEnd === -1 || line.charCodeAt(titleEnd) !== PIPE) return sink.error('bad_event', line);
  const textStart = titleEnd + 1;
  const textEnd = advanceUtf8Bytes(line, textStart, textLength, ascii);
  if (textEnd === -1 || (textEnd < line.length && line.charCodeAt(textEnd) !== PIPE)) {
    return sink.error('bad_event', line);
  }

  const event: DogStatsDEvent = {
    title: detachString(unescapeNewlines(line.slice(titleStart, titleEnd))),
    text: detachString(unescapeNewlines(line.slice(textStart, textEnd))),
    timestamp: null,
    hostname: null,
    aggregationKey: null,
    priority: 'normal',
    alertType: 'info',
    sourceTypeName: null,
    tags: [],
    containerId: null,
  };
  let fieldStart = textEnd + 1;
  while (fieldStart < line.length) {
    let fieldEnd = line.indexOf('|', fieldStart);
    if (fieldEnd === -1) fieldEnd = line.length;
    const prefix = line.charCodeAt(fieldStart);
    if (prefix === 35) {
      // '#'
      if (!pushTags(line, fieldStart + 1, fieldEnd, event.tags)) return sink.error('too_many_tags', line);
    } else if (line.charCodeAt(fieldStart + 1) === COLON) {
      const value = fieldEnd > fieldStart + 2 ? detachString(line.slice(fieldStart + 2, fieldEnd)) : null;
      switch (prefix) {
        case 100: // 'd'
          event.timestamp = timestampOr(line, fieldStart + 2, fieldEnd, event.timestamp);
          break;
        case 104: // 'h'
          event.hostname = value;
          break;
        case 107: // 'k'
          event.aggregationKey = value;
          break;
        case 112: // 'p'
          if (value === 'normal' || value === 'low') event.priority = value;
          break;
        case 116: // 't'
          if (value === 'error' || value === 'warning' || value === 'info' || value === 'success') {
            event.alertType = value;
          }
          break;
        case 115: // 's'
          event.sourceTypeName = value;
          break;
        case 99: // 'c'
          event.containerId = value;
          break;
        default:
          break;
      }
    }
    fieldStart = fieldEnd + 1;
  }
  event.tags = event.tags.map(detachString);
  sink.event(event);
}

export function parseServiceCheck(line: string, sink: Pick<DogStatsDSink, 'serviceCheck' | 'error'>): void {
  const nameStart = 4; // after `_sc|`
  const nameEnd = line.indexOf('|', nameStart);
  if (nameEnd === -1 || nameEnd === nameStart) return sink.error('bad_service_check', line);
  let statusEnd = line.indexOf('|', nameEnd + 1);
  if (statusEnd === -1) statusEnd = line.length;
  const digit = line.charCodeAt(nameEnd + 1) - 48;
  if (statusEnd !== nameEnd + 2 || !(digit >= 0 && digit <= 3)) return sink.error('bad_service_check', line);

  const check: ServiceCheck = {
    name: detachString(line.slice(nameStart, nameEnd)),
    status: digit as ServiceCheckStatus,
    timestamp: null,
    hostname: null,
    message: null,
    tags: [],
    containerId: null,
  };
  let fieldStart = statusEnd + 1;
  while (fieldStart < line.length) {
    let fieldEnd = line.indexOf('|', fieldStart);
    if (fieldEnd === -1) fieldEnd = line.length;
    const prefix = line.charCodeAt(fieldStart);
    if (prefix === 35) {
      if (!pushTags(line, fieldStart + 1, fieldEnd, check.tags)) return sink.error('too_many_tags', line);
    } else if (line.charCodeAt(fieldStart + 1) === COLON) {
      const value = fieldEnd > fieldStart + 2 ? detachString(line.slice(fieldStart + 2, fieldEnd)) : null;
      switch (prefix) {
        case 100: // 'd'
          check.timestamp = timestampOr(line, fieldStart + 2, fieldEnd, check.timestamp);
          break;
        case 104: // 'h'
          check.hostname = value;
          break;
        case 109: // 'm'
          check.message = value;
          break;
        case 99: // 'c'
          check.containerId = value;
          break;
        default:
          break;
      }
    }
    fieldStart = fieldEnd + 1;
  }
  check.tags = check.tags.map(detachString);
  sink.serviceCheck(check);
}

function timestampOr(line: string, from: number, to: number, fallback: number | null): number | null {
  const seconds = parseUnsignedInt(line, from, to, TIMESTAMP_DIGITS);
  return seconds >= 1 ? seconds : fallback;
}
