/**
 * Event schema v1 (DESIGN.md §4) as the server validates it. A copy of
 * test/vectors/event.schema.json, which is not shipped with the package; a test keeps the two equal.
 */
export const EVENT_SCHEMA_V1 = {
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://telemetry-kit.dev/schemas/event-v1.json",
  "title": "telemetry-kit event, schema v1 (DESIGN.md §4)",
  "type": "object",
  "additionalProperties": false,
  "required": ["schema_version", "event_id", "timestamp", "service", "user_id", "session_id", "environment", "event", "metadata"],
  "properties": {
    "schema_version": { "const": "1.0.0" },
    "event_id": {
      "type": "string",
      "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    },
    "timestamp": {
      "type": "string",
      "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$"
    },
    "service": {
      "type": "object",
      "additionalProperties": false,
      "required": ["name", "version", "language", "language_version"],
      "properties": {
        "name": { "type": "string", "pattern": "^[a-z0-9_-]{1,64}$" },
        "version": { "type": "string", "minLength": 1, "maxLength": 64 },
        "language": { "const": "javascript" },
        "language_version": { "type": "string", "minLength": 1 }
      }
    },
    "user_id": { "type": "string", "pattern": "^client_[0-9a-f]{64}$" },
    "session_id": { "type": "string", "pattern": "^sess_[0-9a-f]{32}$" },
    "environment": {
      "type": "object",
      "additionalProperties": false,
      "required": ["os", "os_version", "arch", "ci", "ci_name", "shell"],
      "properties": {
        "os": { "type": "string", "minLength": 1 },
        "os_version": { "type": "string" },
        "arch": { "type": "string", "minLength": 1 },
        "ci": { "type": "boolean" },
        "ci_name": { "type": ["string", "null"] },
        "shell": { "type": ["string", "null"] }
      }
    },
    "event": {
      "type": "object",
      "additionalProperties": false,
      "required": ["type", "category", "data"],
      "properties": {
        "type": { "type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$" },
        "category": { "type": "string", "minLength": 1 },
        "data": { "type": "object" }
      },
      "allOf": [
        {
          "if": { "properties": { "type": { "const": "command_execution" } } },
          "then": {
            "properties": {
              "category": { "const": "usage" },
              "data": {
                "type": "object",
                "required": ["command"],
                "properties": {
                  "command": { "type": "string", "minLength": 1 },
                  "subcommand": { "type": "string" },
                  "flags": { "type": "array" },
                  "success": { "type": "boolean" },
                  "duration_ms": { "type": "integer", "minimum": 0 },
                  "exit_code": { "type": "integer" }
                }
              }
            }
          }
        },
        {
          "if": { "properties": { "type": { "const": "feature_used" } } },
          "then": {
            "properties": {
              "category": { "const": "library" },
              "data": {
                "type": "object",
                "required": ["feature"],
                "properties": {
                  "feature": { "type": "string", "minLength": 1 },
                  "method": { "type": "string" },
                  "success": { "type": "boolean" }
                }
              }
            }
          }
        },
        {
          "if": { "properties": { "type": { "not": { "enum": ["command_execution", "feature_used"] } } } },
          "then": { "properties": { "category": { "const": "custom" } } }
        }
      ]
    },
    "metadata": {
      "type": "object",
      "additionalProperties": false,
      "required": ["sdk_version", "backend"],
      "properties": {
        "sdk_version": { "type": "string", "pattern": "^telemetry-kit-node/\\d+\\.\\d+\\.\\d+" },
        "backend": { "enum": ["js", "native"] }
      }
    }
  }
} as const;
