// The fake Datadog intake for TypeScript tests. It is written in JavaScript (fake-intake.mjs,
// typed by fake-intake.d.mts) so that plain `node` child processes can import it as well.
export {
  PROTO_ROOT,
  decodeAgentPayload,
  decodeMsgpackBody,
  decodeSketchPayload,
  startFakeIntake,
  type DecodedAgentPayload,
  type DecodedSpan,
  type DecodedSpanLink,
  type DecodedTraceChunk,
  type DecodedTracerPayload,
  type FakeIntake,
  type FakeIntakeOptions,
  type IntakeKind,
  type RecordedRequest,
  type ResponseScript,
} from './fake-intake.mjs';
