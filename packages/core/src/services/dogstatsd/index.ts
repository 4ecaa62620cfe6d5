/**
 * DogStatsD, runtime-agnostic (DESIGN.md §8): the datagram parser, the Agent-compatible
 * aggregation and sketch, and the SketchPayload encoder. The UDP server lives in core's Node
 * adapters and only feeds `DogStatsDAggregator.ingest()`.
 */
export { parseDatagram } from './parser.js';
export {
  DogStatsDAggregator,
  MAX_PENDING_EVENTS,
  type AggregatorOptions,
  type DogStatsDFlush,
  type DogStatsDStats,
} from './aggregator.js';
export {
  DDSketch,
  SKETCH_BIAS,
  SKETCH_BIN_LIMIT,
  SKETCH_GAMMA,
  SKETCH_MAX_BIN_COUNT,
  SKETCH_MAX_KEY,
  quantileFromBins,
  sketchKey,
  sketchValue,
  type SketchBins,
} from './ddsketch.js';
export { encodeSketchPayload, type Dogsketch, type SketchSeries } from './sketch-payload.js';
export type { DatadogEventV1, SeriesType, SeriesV2, ServiceCheckRun } from './intake-types.js';
export {
  MAX_DATAGRAM_BYTES,
  MAX_NAME_BYTES,
  MAX_TAGS,
  MAX_TIMESTAMP_SECONDS,
  PARSE_ERROR_KINDS,
  type DogStatsDEvent,
  type DogStatsDSink,
  type EventAlertType,
  type EventPriority,
  type MetricSample,
  type MetricType,
  type ParseErrorKind,
  type ServiceCheck,
  type ServiceCheckStatus,
} from './types.js';
