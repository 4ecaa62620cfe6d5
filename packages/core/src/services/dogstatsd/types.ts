/**
 * What the DogStatsD parser produces (DESIGN.md §8) and the limits it enforces. The shapes are
 * the ones test/vectors/dogstatsd.json spells out, so the Rust parser can mirror them field by
 * field.
 */

/** `c` count, `g` gauge, `ms` timing, `h` histogram, `d` distribution, `s` set. */
export type MetricType = 'c' | 'g' | 'ms' | 'h' | 'd' | 's';

/** Every reason a line (or a whole datagram) is rejected; stats() counts each kind. */
export const PARSE_ERROR_KINDS = [
  'missing_value',
  'missing_type',
  'unknown_type',
  'bad_value',
  'bad_sample_rate',
  'empty_name',
  'name_too_long',
  'too_many_tags',
  'bad_timestamp',
  'invalid_utf8',
  'bad_event',
  'bad_service_check',
  'datagram_too_large',
] as const;

export type ParseErrorKind = (typeof PARSE_ERROR_KINDS)[number];

/**
 * A metric name longer than this many UTF-8 bytes is rejected (`name_too_long`): Datadog
 * truncates names past 200 characters, and a silently truncated name would merge contexts.
 */
export const MAX_NAME_BYTES = 200;

/** More tags than this on one line (after dropping empty ones) → `too_many_tags`. */
export const MAX_TAGS = 100;

/**
 * Datagrams up to 64 KiB are parsed in full; a larger one (only possible through the API or a
 * stream transport, since a UDP payload is at most 65,507 bytes) is rejected whole with one
 * `datagram_too_large`, because cutting it would turn its last line into a wrong value.
 */
export const MAX_DATAGRAM_BYTES = 65_536;

/** `|T` takes Unix seconds of at most 10 digits: a 13-digit millisecond stamp is an error. */
export const MAX_TIMESTAMP_SECONDS = 9_999_999_999;

export interface MetricSample {
  /** As received, without the aggregator's namespace. */
  name: string;
  type: MetricType;
  /** Every packed value (`name:1:2:3|h`), in order; empty for sets. */
  values: number[];
  /** The raw text after the first `:` for sets (`s`), else null. */
  setValue: string | null;
  /** In (0, 1]; 1 when absent. */
  sampleRate: number;
  /** As received, empty tags dropped, several `|#` fields concatenated; not sorted. */
  tags: string[];
  /** `|T<unix seconds>`, else null. */
  timestamp: number | null;
  /** `|c:<id>`, else null. */
  containerId: string | null;
}

export type EventPriority = 'normal' | 'low';
export type EventAlertType = 'error' | 'warning' | 'info' | 'success';

export interface DogStatsDEvent {
  /** `\n` escapes (backslash, n) in title and text are turned into newlines. */
  title: string;
  text: string;
  /** `d:` Unix seconds, else null. */
  timestamp: number | null;
  hostname: string | null;
  aggregationKey: string | null;
  priority: EventPriority;
  alertType: EventAlertType;
  sourceTypeName: string | null;
  tags: string[];
  containerId: string | null;
}

/** 0 ok, 1 warning, 2 critical, 3 unknown. */
export type ServiceCheckStatus = 0 | 1 | 2 | 3;

export interface ServiceCheck {
  name: string;
  status: ServiceCheckStatus;
  timestamp: number | null;
  hostname: string | null;
  message: string | null;
  tags: string[];
  containerId: string | null;
}

/**
 * Receives what parseDatagram finds, in datagram order. Objects handed over are fresh and may
 * be kept.
 */
export interface DogStatsDSink {
  metric(sample: MetricSample): void;
  event(event: DogStatsDEvent): void;
  serviceCheck(check: ServiceCheck): void;
  /** `line` is the offending line (lossily decoded for `invalid_utf8`), or a size note for `datagram_too_large`. */
  error(kind: ParseErrorKind, line: string): void;
}
