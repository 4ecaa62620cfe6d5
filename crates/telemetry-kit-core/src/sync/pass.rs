//! One sync pass (the algorithm of /work/notes/sync-contract.md, answer for answer the TS
//! `SyncPass`): sends the oldest pending events in signed batches until none is left, the
//! limits are reached or an answer ends the pass, and records each answer in the store.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::http_client::{HttpAnswer, HttpClient};
use super::outcome::{PassLimits, SyncError, SyncOutcome};
use super::protocol::MAX_BODY_BYTES;
use super::request::{batch_body, build_request, Attempt, SyncCredentials};
use super::response::{classify, Rejection, Verdict};
use crate::clock::{now_iso, now_ms};
use crate::storage::FileEventStore;
use crate::types::PendingEvent;
use crate::{Error, Result};

pub const META_LAST_SYNC: &str = "last_sync";
pub const META_LAST_ERROR: &str = "last_error";

/// The store operations a pass needs.
pub trait SyncStore {
    /// # Errors
    /// A storage error; it ends the pass and is returned as is.
    fn pending_events(&self, limit: u64) -> Result<Vec<PendingEvent>>;
    /// # Errors
    /// As `pending_events`.
    fn mark_synced(&self, event_ids: &[String], synced_at_ms: i64) -> Result<()>;
    /// # Errors
    /// As `pending_events`.
    fn mark_dead_lettered(&self, event_ids: &[String], reason: &str) -> Result<()>;
    /// # Errors
    /// As `pending_events`.
    fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()>;
    /// # Errors
    /// As `pending_events`.
    fn pending_count(&self) -> Result<u64>;
}

impl SyncStore for FileEventStore {
    fn pending_events(&self, limit: u64) -> Result<Vec<PendingEvent>> {
        FileEventStore::pending_events(self, limit)
    }

    fn mark_synced(&self, event_ids: &[String], synced_at_ms: i64) -> Result<()> {
        FileEventStore::mark_synced(self, event_ids, synced_at_ms)
    }

    fn mark_dead_lettered(&self, event_ids: &[String], reason: &str) -> Result<()> {
        FileEventStore::mark_dead_lettered(self, event_ids, reason)
    }

    fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        FileEventStore::set_meta(self, key, value)
    }

    fn pending_count(&self) -> Result<u64> {
        Ok(self.counts()?.pending)
    }
}

/// How to sync, from the resolved config.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub credentials: SyncCredentials,
    /// Events per request. Defaults to 100 in the config.
    pub batch_size: u64,
    /// Compress request bodies (the signature covers the uncompressed body).
    pub gzip: bool,
    /// Bound on each request. Defaults to 10,000 ms in the config.
    pub timeout_ms: u64,
    /// The `X-SDK-Version` value: `telemetry-kit-node/<version> (<backend>)`.
    pub sdk_version: String,
}

/// Why `send` returned early.
enum Halt {
    /// An answer (or its absence) ends the pass; the error is reported in the outcome.
    Ended(SyncError),
    /// The store failed; the pass returns the error.
    Store(Error),
}

impl From<Error> for Halt {
    fn from(error: Error) -> Halt {
        Halt::Store(error)
    }
}

struct Pass<'a, S: SyncStore + ?Sized> {
    store: &'a S,
    client: &'a HttpClient,
    settings: &'a SyncSettings,
    limits: PassLimits,
    tally: SyncOutcome,
}

/// Runs one pass over `store`.
///
/// # Errors
/// Only storage errors; everything the network or the server does is reported in
/// `SyncOutcome::error` (and in the `last_error` meta) instead.
pub fn run_sync_pass<S: SyncStore + ?Sized>(
    store: &S,
    client: &HttpClient,
    settings: &SyncSettings,
    limits: PassLimits,
) -> Result<SyncOutcome> {
    let mut pass = Pass { store, client, settings, limits, tally: SyncOutcome::default() };
    let error = loop {
        if pass.budget_spent() {
            break None;
        }
        let batch = store.pending_events(settings.batch_size)?;
        if batch.is_empty() {
            break None;
        }
        match pass.send(&batch) {
            Ok(()) => {}
            Err(Halt::Ended(error)) => break Some(error),
            Err(Halt::Store(error)) => return Err(error),
        }
    };
    if let Some(error) = &error {
        let record = serde_json::json!({ "code": error.code, "message": error.message, "at": now_iso() });
        store.set_meta(META_LAST_ERROR, Some(&record.to_string()))?;
    } else if pass.tally.batches > 0 {
        store.set_meta(META_LAST_ERROR, None)?;
    }
    let remaining = store.pending_count()?;
    Ok(SyncOutcome { remaining, error, ..pass.tally })
}

impl<S: SyncStore + ?Sized> Pass<'_, S> {
    fn budget_spent(&self) -> bool {
        self.limits.max_batches.is_some_and(|max| self.tally.batches >= max)
            || self.limits.deadline.is_some_and(|deadline| Instant::now() >= deadline)
    }

    fn send(&mut self, batch: &[PendingEvent]) -> std::result::Result<(), Halt> {
        let body = batch_body(batch);
        if batch.len() > 1 && body.len() > MAX_BODY_BYTES {
            return self.split(batch);
        }
        let mut verdict = classify(&self.post(&body, batch.len())?, SystemTime::now());
        if matches!(verdict, Verdict::Replayed { .. }) {
            // A replayed nonce is bad luck or a proxy's retry: one fresh nonce settles it.
            verdict = classify(&self.post(&body, batch.len())?, SystemTime::now());
        }
        match verdict {
            Verdict::Delivered { accepted, duplicates, rejections } => self.settle(batch, accepted, duplicates, &rejections),
            Verdict::Refused { reason } => {
                // Halving isolates what the server refuses; a single refused event is dead-lettered.
                match batch {
                    [event] => {
                        self.store.mark_dead_lettered(std::slice::from_ref(&event.event_id), &reason)?;
                        self.tally.rejected += 1;
                        self.answered()
                    }
                    _ => self.split(batch),
                }
            }
            Verdict::Replayed { if_again } => Err(Halt::Ended(if_again)),
            Verdict::Stop(error) => Err(Halt::Ended(error)),
        }
    }

    fn split(&mut self, batch: &[PendingEvent]) -> std::result::Result<(), Halt> {
        let (first, second) = batch.split_at(batch.len().div_ceil(2));
        self.send(first)?;
        if !self.budget_spent() {
            self.send(second)?;
        }
        Ok(())
    }

    fn settle(
        &mut self,
        batch: &[PendingEvent],
        accepted: u64,
        duplicates: u64,
        rejections: &[Rejection],
    ) -> std::result::Result<(), Halt> {
        let mut by_reason: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for rejection in rejections {
            by_reason.entry(&rejection.reason).or_default().push(rejection.event_id.clone());
        }
        for (reason, ids) in &by_reason {
            self.store.mark_dead_lettered(ids, reason)?;
        }
        let refused: HashSet<&str> = rejections.iter().map(|r| r.event_id.as_str()).collect();
        let delivered: Vec<String> =
            batch.iter().filter(|e| !refused.contains(e.event_id.as_str())).map(|e| e.event_id.clone()).collect();
        if !delivered.is_empty() {
            self.store.mark_synced(&delivered, now_ms())?;
        }
        self.tally.accepted += accepted;
        self.tally.duplicates += duplicates;
        self.tally.rejected += rejections.len() as u64;
        self.answered()
    }

    fn answered(&mut self) -> std::result::Result<(), Halt> {
        self.tally.batches += 1;
        self.store.set_meta(META_LAST_SYNC, Some(&now_iso()))?;
        Ok(())
    }

    /// The time a request may take: the request timeout, cut short by the pass's deadline.
    fn time_left(&self) -> Duration {
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        match self.limits.deadline {
            Some(deadline) => timeout.min(deadline.saturating_duration_since(Instant::now())),
            None => timeout,
        }
    }

    fn post(&self, body: &str, event_count: usize) -> std::result::Result<HttpAnswer, Halt> {
        let timeout = self.time_left();
        if timeout.is_zero() {
            return Err(Halt::Ended(SyncError::network("sync deadline reached before the request")));
        }
        let timestamp_s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let nonce = uuid::Uuid::new_v4().to_string();
        let settings = self.settings;
        let attempt = Attempt { timestamp_s, nonce: &nonce };
        let request = build_request(&settings.credentials, &settings.sdk_version, settings.gzip, body, event_count, attempt)
            .map_err(|error| Halt::Ended(SyncError::network(error.to_string())))?;
        self.client.post(&request, timeout).map_err(|error| Halt::Ended(SyncError::network(error.to_string())))
    }
}
