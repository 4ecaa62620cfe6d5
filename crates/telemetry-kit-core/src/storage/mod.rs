//! Storage: journal segments + SQLite, the same data dir protocol as packages/core/src/node.
