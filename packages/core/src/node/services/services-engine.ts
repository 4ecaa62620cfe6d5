/**
 * The heavy half of the services, loaded by ServerlessServices with a dynamic import on
 * start(): the codecs (protobufjs, msgpack) and the Node modules behind the sockets (http,
 * https, tls, dgram, zlib). Importing the SDK must not pay for them (~20 ms of module loading
 * on a CLI's startup path) when the services never run.
 */
export { DogStatsDAggregator } from '../../services/dogstatsd/aggregator.js';
export { TraceBuffer } from '../../services/trace/buffer.js';
export { createTraceAgentHandler } from '../../services/trace-agent-handler.js';
export { listenDogStatsD } from './dogstatsd-listener.js';
export { listenTraceAgent, TRACE_AGENT_ENDPOINTS } from './trace-agent-listener.js';
export { IntakeClient } from './intake-client.js';
