/**
 * JSON bodies for the Datadog intake endpoints a DogStatsD flush feeds (DESIGN.md §8). Field
 * names are the API's own, so these objects go to JSON.stringify unchanged.
 */

/** v2 series `type`: 0 unspecified, 1 count, 2 rate, 3 gauge. */
export type SeriesType = 0 | 1 | 2 | 3;
export const SERIES_RATE: SeriesType = 2;
export const SERIES_GAUGE: SeriesType = 3;

/** One series of `POST /api/v2/series` (`{ "series": SeriesV2[] }`). */
export interface SeriesV2 {
  metric: string;
  type: SeriesType;
  /** Unix seconds (bucket start) and value. */
  points: { timestamp: number; value: number }[];
  /** Seconds one point covers: the aggregation bucket. */
  interval: number;
  tags: string[];
  /** `[{ type: 'host', name }]` when the aggregator has a hostname. */
  resources?: { type: string; name: string }[];
}

/** A body for `POST /api/v1/events`. */
export interface DatadogEventV1 {
  title: string;
  text: string;
  /** Unix seconds: the event's `d:` or its arrival. */
  date_happened: number;
  priority: 'normal' | 'low';
  alert_type: 'error' | 'warning' | 'info' | 'success';
  host?: string;
  aggregation_key?: string;
  source_type_name?: string;
  tags: string[];
}

/** One item of the `POST /api/v1/check_run` array body. */
export interface ServiceCheckRun {
  check: string;
  host_name: string;
  status: 0 | 1 | 2 | 3;
  /** Unix seconds: the check's `d:` or its arrival. */
  timestamp: number;
  message: string;
  tags: string[];
}
