//! Events kept in memory: the fallback when the data dir cannot be written. Same semantics as
//! the TS `MemoryEventStore` (packages/core/src/memory-store.ts); nothing survives the process.

use std::collections::{HashMap, HashSet};

use crate::clock::now_ms;
use crate::types::{EventCounts, EventState, PendingEvent, StoredEvent};

const DAY_MS: i64 = 86_400_000;

struct Row {
    event_id: String,
    state: EventState,
    body: String,
    synced_at_ms: Option<i64>,
}

pub struct MemoryEventStore {
    rows: Vec<Row>,
    meta: HashMap<String, String>,
    dropped: u64,
    max_pending_events: u64,
    retention_days: u64,
}

impl MemoryEventStore {
    pub fn new(max_pending_events: u64, retention_days: u64) -> MemoryEventStore {
        MemoryEventStore { rows: Vec::new(), meta: HashMap::new(), dropped: 0, max_pending_events, retention_days }
    }

    /// `events`: `(event_id, JSON body)` pairs; an id already stored is skipped.
    pub fn append(&mut self, events: Vec<(String, String)>) {
        for (event_id, body) in events {
            if self.rows.iter().any(|row| row.event_id == event_id) {
                continue;
            }
            self.rows.push(Row { event_id, state: EventState::Pending, body, synced_at_ms: None });
        }
        self.enforce_limits(now_ms());
    }

    fn enforce_limits(&mut self, now_ms: i64) {
        let pending = self.count(EventState::Pending);
        let mut excess = pending.saturating_sub(self.max_pending_events);
        self.dropped += excess;
        let cutoff = now_ms - i64::try_from(self.retention_days).unwrap_or(i64::MAX / DAY_MS).saturating_mul(DAY_MS);
        self.rows.retain(|row| match row.state {
            EventState::Pending if excess > 0 => {
                excess -= 1;
                false
            }
            EventState::Synced => row.synced_at_ms.is_none_or(|at| at > cutoff),
            _ => true,
        });
    }

    fn count(&self, state: EventState) -> u64 {
        self.rows.iter().filter(|row| row.state == state).count() as u64
    }

    pub fn list(&self, limit: u64, state: Option<EventState>) -> Vec<StoredEvent> {
        let rows: Vec<&Row> = self.rows.iter().filter(|row| state.is_none_or(|s| row.state == s)).collect();
        let skip = rows.len().saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
        rows[skip..].iter().map(|row| StoredEvent { state: row.state, body: row.body.clone() }).collect()
    }

    pub fn counts(&self) -> EventCounts {
        EventCounts {
            pending: self.count(EventState::Pending),
            synced: self.count(EventState::Synced),
            dead_lettered: self.count(EventState::DeadLetter),
            dropped: self.dropped,
            corrupt: 0,
        }
    }

    pub fn delete_pending(&mut self) -> u64 {
        let before = self.rows.len();
        self.rows.retain(|row| row.state != EventState::Pending);
        (before - self.rows.len()) as u64
    }

    pub fn get_meta(&self, key: &str) -> Option<String> {
        self.meta.get(key).cloned()
    }

    /// The oldest pending events, at most `limit`, oldest first.
    pub fn pending_events(&self, limit: u64) -> Vec<PendingEvent> {
        self.rows
            .iter()
            .filter(|row| row.state == EventState::Pending)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|row| PendingEvent { event_id: row.event_id.clone(), body: row.body.clone() })
            .collect()
    }

    /// As the file store: rows not already synced become synced at `synced_at_ms`.
    pub fn mark_synced(&mut self, event_ids: &[String], synced_at_ms: i64) {
        let wanted: HashSet<&str> = event_ids.iter().map(String::as_str).collect();
        for row in self.rows.iter_mut().filter(|row| row.state != EventState::Synced && wanted.contains(row.event_id.as_str())) {
            row.state = EventState::Synced;
            row.synced_at_ms = Some(synced_at_ms);
        }
        self.enforce_limits(now_ms());
    }

    /// As the file store: only pending rows move to the dead letter state.
    pub fn mark_dead_lettered(&mut self, event_ids: &[String]) {
        let wanted: HashSet<&str> = event_ids.iter().map(String::as_str).collect();
        for row in self.rows.iter_mut().filter(|row| row.state == EventState::Pending && wanted.contains(row.event_id.as_str())) {
            row.state = EventState::DeadLetter;
        }
    }

    pub fn set_meta(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => {
                self.meta.insert(key.to_string(), value.to_string());
            }
            None => {
                self.meta.remove(key);
            }
        }
    }
}
