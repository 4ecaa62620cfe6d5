/** The SDK version reported in `metadata.sdk_version`; a test keeps it equal to package.json. */
export const SDK_VERSION = '0.1.0';
export const SDK_NAME = 'telemetry-kit-node';
export const SCHEMA_VERSION = '1.0.0';
