//! Storage: journal segments + SQLite, the same data dir protocol as `packages/core/src/node`
//! (the protocol is specified in the header of `file-event-store.ts`), so a data dir written
//! by one backend is read and continued by the other, even while both are in use.
//!
//! Layout of `<dataDir>`:
//! - `events.db`: SQLite (schema in `sqlite_database.rs`, `user_version` 1), only ever
//!   replaced by rename (`db_file.rs`).
//! - `events.db.lock`: the consolidation lock (`lock_file.rs`).
//! - `events.db.corrupt-<ms>`: a database that failed its check, moved aside.
//! - `pending/<pid>-<hex>.jsonl`: journal segments, one writer each (`journal_segment.rs`),
//!   consumed into events.db by `journal_consumer.rs` under the lock (`consolidation.rs`).

mod consolidation;
mod db_file;
mod file_event_store;
mod journal_consumer;
mod journal_line;
mod journal_segment;
mod lock_file;
mod sqlite_database;
mod system;

pub use file_event_store::{FileEventStore, StoreLimits};
