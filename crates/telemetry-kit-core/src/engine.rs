//! The native engine: what `packages/core/src/js-engine.ts` does in TypeScript. It turns
//! drafts into events (install id, consent, environment, sanitization) and keeps them in the
//! data dir; an unusable data dir switches it to memory with one warning.
//!
//! Methods block (file I/O, fsync, and for `sync` the network): the Node binding runs them on
//! worker threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::clock::now_iso;
use crate::environment::{environment_info, Env};
use crate::event::{finalized_json, EventContext};
use crate::gate::{consent_allows, env_disabled_reason, is_debug_mode};
use crate::ids::{derive_user_id, new_install_id, new_session_id};
use crate::memory_store::MemoryEventStore;
use crate::privacy::{SanitizeOptions, Sanitizer};
use crate::state_files::{ConsentStore, IdentityStore};
use crate::storage::{FileEventStore, StoreLimits};
use crate::sync::{run_sync_pass, HttpClient, PassGate, SyncCredentials, SyncOutcome, SyncPassOptions, SyncSettings, SyncStore};
use crate::types::{
    ConsentRecord, ConsentStatus, EventCounts, EventDraft, EventState, PendingEvent, ServiceInfo, StoredEvent,
};
use crate::{Error, Result};

pub struct EngineConfig {
    pub service_name: String,
    pub service_version: String,
    pub data_dir: PathBuf,
    pub max_pending_events: u64,
    pub retention_days: u64,
    pub sanitize_paths: bool,
    pub sanitize_emails: bool,
    pub redact_keys: Vec<String>,
    pub consent_required: bool,
    pub consent_default_granted: bool,
    pub env: Env,
    pub home_dir: Option<String>,
    /// The host runtime's version (Node's), reported as `service.language_version`.
    pub language_version: String,
    /// `telemetry-kit-node/<version>`.
    pub sdk_version: String,
    /// None: no endpoint is configured and `sync` sends nothing.
    pub sync_credentials: Option<SyncCredentials>,
    /// Events per sync request.
    pub batch_size: u64,
    /// Gzip sync request bodies.
    pub sync_gzip: bool,
    /// Bound on each sync request, in ms.
    pub sync_timeout_ms: u64,
}

/// The backend named in `X-SDK-Version` and in each event's metadata.
const BACKEND: &str = "native";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackStatus {
    Stored,
    NoConsent,
}

impl TrackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackStatus::Stored => "stored",
            TrackStatus::NoConsent => "no_consent",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineStats {
    pub counts: EventCounts,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
    pub storage: &'static str,
    pub data_dir: Option<String>,
    pub consent: ConsentStatus,
    pub tracking_enabled: bool,
    pub disabled_reason: Option<String>,
}

enum Store {
    File(Box<FileEventStore>),
    Memory(MemoryEventStore),
}

struct State {
    store: Store,
    /// None once the data dir proved unusable (memory fallback).
    identity: Option<IdentityStore>,
    memory_install_id: Option<String>,
    consent_store: Option<ConsentStore>,
    /// None until read; Some(None) when nothing is stored.
    consent: Option<Option<ConsentRecord>>,
    context: Option<EventContext>,
    last_error: Option<String>,
}

/// `known_consent` runs on the JS thread for every tracked call, so it must not wait for the
/// state lock a worker may hold through an fsync: the status is mirrored in an atomic.
const CONSENT_NOT_LOADED: u8 = 0;

fn consent_code(status: ConsentStatus) -> u8 {
    match status {
        ConsentStatus::Unknown => 1,
        ConsentStatus::Granted => 2,
        ConsentStatus::Denied => 3,
        ConsentStatus::OptedOut => 4,
    }
}

fn consent_from_code(code: u8) -> Option<ConsentStatus> {
    match code {
        1 => Some(ConsentStatus::Unknown),
        2 => Some(ConsentStatus::Granted),
        3 => Some(ConsentStatus::Denied),
        4 => Some(ConsentStatus::OptedOut),
        _ => None,
    }
}

fn session_id() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(new_session_id)
}

pub struct Engine {
    config: EngineConfig,
    env_disabled: Option<String>,
    debug: bool,
    known_consent: AtomicU8,
    state: Mutex<State>,
    warnings: Mutex<(Vec<String>, Vec<String>)>,
    sync: Option<SyncSettings>,
    sync_gate: PassGate,
    /// Built on the first sync, then reused so connections stay alive across passes.
    http: OnceLock<HttpClient>,
}

impl Engine {
    /// Does no I/O: files are opened by the first call that needs them.
    pub fn new(config: EngineConfig) -> Engine {
        let limits = StoreLimits { max_pending_events: config.max_pending_events, retention_days: config.retention_days };
        let state = State {
            store: Store::File(Box::new(FileEventStore::new(config.data_dir.clone(), limits))),
            identity: Some(IdentityStore::new(config.data_dir.clone())),
            memory_install_id: None,
            consent_store: Some(ConsentStore::new(config.data_dir.clone())),
            consent: None,
            context: None,
            last_error: None,
        };
        let sync = config.sync_credentials.clone().map(|credentials| SyncSettings {
            credentials,
            batch_size: config.batch_size.max(1),
            gzip: config.sync_gzip,
            timeout_ms: config.sync_timeout_ms,
            sdk_version: format!("{} ({BACKEND})", config.sdk_version),
        });
        Engine {
            sync,
            sync_gate: PassGate::new(),
            http: OnceLock::new(),
            env_disabled: env_disabled_reason(&config.env, &config.service_name),
            debug: is_debug_mode(&config.env),
            config,
            known_consent: AtomicU8::new(CONSENT_NOT_LOADED),
            state: Mutex::new(state),
            warnings: Mutex::new((Vec::new(), Vec::new())),
        }
    }

    pub fn env_disabled_reason(&self) -> Option<&str> {
        self.env_disabled.as_deref()
    }

    pub fn known_consent(&self) -> Option<ConsentStatus> {
        consent_from_code(self.known_consent.load(Ordering::Acquire))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state (files are the truth).
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks consent, sanitizes and stores; returns once stored events are durable.
    ///
    /// # Errors
    /// Only when even the memory fallback cannot take the events (serialization failure).
    pub fn persist(&self, drafts: &[EventDraft]) -> Result<Vec<TrackStatus>> {
        let mut state = self.lock();
        self.ensure_context(&mut state);
        if !self.allows_tracking(&state) {
            return Ok(vec![TrackStatus::NoConsent; drafts.len()]);
        }
        let Some(context) = state.context.as_ref() else {
            return Ok(vec![TrackStatus::NoConsent; drafts.len()]);
        };
        let mut bodies = Vec::with_capacity(drafts.len());
        for draft in drafts {
            bodies.push(finalized_json(draft, context)?);
        }
        if self.debug {
            for body in &bodies {
                eprintln!("{body}");
            }
        }
        let appended = match &mut state.store {
            Store::File(store) => {
                let mut data = String::with_capacity(bodies.iter().map(|b| b.len() + 1).sum());
                for body in &bodies {
                    data.push_str(body);
                    data.push('\n');
                }
                store.append_lines(&data, bodies.len() as u64)
            }
            Store::Memory(store) => {
                store.append(drafts.iter().map(|d| d.event_id.clone()).zip(bodies.iter().cloned()).collect());
                Ok(())
            }
        };
        if let Err(error) = appended {
            state.last_error = Some(error.to_string());
            self.fall_back_to_memory(&mut state, &error);
            if let Store::Memory(store) = &mut state.store {
                store.append(drafts.iter().map(|d| d.event_id.clone()).zip(bodies).collect());
            }
        }
        Ok(vec![TrackStatus::Stored; drafts.len()])
    }

    fn allows_tracking(&self, state: &State) -> bool {
        let status = state.consent.as_ref().and_then(|c| c.as_ref()).map_or(ConsentStatus::Unknown, |r| r.status);
        consent_allows(status, self.config.consent_required, self.config.consent_default_granted)
    }

    fn load_consent(&self, state: &mut State) {
        if state.consent.is_some() {
            return;
        }
        let record = state.consent_store.as_ref().and_then(|store| store.load().ok().flatten());
        let status = record.as_ref().map_or(ConsentStatus::Unknown, |r| r.status);
        state.consent = Some(record);
        self.known_consent.store(consent_code(status), Ordering::Release);
    }

    fn ensure_context(&self, state: &mut State) {
        self.load_consent(state);
        if state.context.is_some() {
            return;
        }
        let install_id = match state.identity.as_ref().map(IdentityStore::load) {
            Some(Ok(id)) => id,
            Some(Err(error)) => {
                // The data dir cannot hold the install id, so it cannot hold events either.
                self.fall_back_to_memory(state, &error);
                state.memory_install_id.get_or_insert_with(new_install_id).clone()
            }
            None => state.memory_install_id.get_or_insert_with(new_install_id).clone(),
        };
        state.context = Some(self.build_context(&install_id));
    }

    fn build_context(&self, install_id: &str) -> EventContext {
        let config = &self.config;
        EventContext {
            service: ServiceInfo {
                name: config.service_name.clone(),
                version: config.service_version.clone(),
                language: "javascript".to_string(),
                language_version: config.language_version.clone(),
            },
            environment: environment_info(&config.env),
            user_id: derive_user_id(install_id, &config.service_name),
            session_id: session_id().to_string(),
            sdk_version: config.sdk_version.clone(),
            backend: BACKEND.to_string(),
            sanitizer: Sanitizer::new(&SanitizeOptions {
                home_dir: config.home_dir.clone(),
                sanitize_paths: config.sanitize_paths,
                sanitize_emails: config.sanitize_emails,
                redact_keys: config.redact_keys.clone(),
                email_salt: install_id.to_string(),
            }),
        }
    }

    fn fall_back_to_memory(&self, state: &mut State, cause: &Error) {
        if matches!(state.store, Store::Memory(_)) {
            return;
        }
        self.warn(format!(
            "telemetry-kit: cannot write to {} ({cause}); events are kept in memory for this process only",
            self.config.data_dir.display()
        ));
        state.store = Store::Memory(MemoryEventStore::new(self.config.max_pending_events, self.config.retention_days));
        state.identity = None;
        state.consent_store = None;
    }

    fn warn(&self, message: String) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !warnings.1.contains(&message) {
            warnings.1.push(message.clone());
            warnings.0.push(message);
        }
    }

    /// Warnings raised since the last call, each only once per engine.
    pub fn take_warnings(&self) -> Vec<String> {
        let mut warnings = self.warnings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut warnings.0)
    }

    /// Reads go through the context first so that an unusable data dir falls back to memory;
    /// with tracking disabled by the environment nothing may create an install id.
    fn ready(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        if self.env_disabled.is_none() {
            self.ensure_context(&mut state);
        }
        state
    }

    /// # Errors
    /// `Storage` when the data dir cannot be read.
    pub fn stats(&self) -> Result<EngineStats> {
        let mut state = self.ready();
        self.load_consent(&mut state);
        let (counts, last_sync, last_error, storage, data_dir) = match &state.store {
            Store::File(store) => (
                store.counts()?,
                store.get_meta("last_sync")?,
                store.get_meta("last_error")?,
                "file",
                Some(self.config.data_dir.display().to_string()),
            ),
            Store::Memory(store) => (store.counts(), store.get_meta("last_sync"), store.get_meta("last_error"), "memory", None),
        };
        let consent = state.consent.as_ref().and_then(|c| c.as_ref()).map_or(ConsentStatus::Unknown, |r| r.status);
        let consent_blocks = !consent_allows(consent, self.config.consent_required, self.config.consent_default_granted);
        Ok(EngineStats {
            counts,
            last_sync,
            last_error: last_error.or_else(|| state.last_error.clone()),
            storage,
            data_dir,
            consent,
            tracking_enabled: self.env_disabled.is_none() && !consent_blocks,
            disabled_reason: self
                .env_disabled
                .clone()
                .or_else(|| consent_blocks.then(|| format!("consent {}", consent.as_str()))),
        })
    }

    /// # Errors
    /// `Storage` when the data dir cannot be read.
    pub fn events(&self, limit: u64, state_filter: Option<EventState>) -> Result<Vec<StoredEvent>> {
        let state = self.ready();
        match &state.store {
            Store::File(store) => store.list(limit, state_filter),
            Store::Memory(store) => Ok(store.list(limit, state_filter)),
        }
    }

    pub fn consent_status(&self) -> ConsentStatus {
        let mut state = self.lock();
        self.load_consent(&mut state);
        state.consent.as_ref().and_then(|c| c.as_ref()).map_or(ConsentStatus::Unknown, |r| r.status)
    }

    /// Records a decision; `OptedOut` also deletes every pending event.
    ///
    /// # Errors
    /// `Storage` when pending events cannot be deleted.
    pub fn set_consent(&self, status: ConsentStatus) -> Result<()> {
        let mut state = self.lock();
        let record = ConsentRecord { status, timestamp: now_iso(), service: self.config.service_name.clone() };
        self.known_consent.store(consent_code(status), Ordering::Release);
        state.consent = Some(Some(record.clone()));
        if let Some(store) = state.consent_store.as_ref() {
            if let Err(error) = store.save(&record) {
                self.fall_back_to_memory(&mut state, &error);
            }
        }
        drop(state);
        if status == ConsentStatus::OptedOut {
            let mut state = self.ready();
            match &mut state.store {
                Store::File(store) => {
                    store.delete_pending()?;
                }
                Store::Memory(store) => {
                    store.delete_pending();
                }
            }
        }
        Ok(())
    }

    /// One sync pass (docs/PROTOCOL.md, "Client behaviour"): sends pending events in signed
    /// batches and records every answer. Sends nothing, and reports the pending count, when no
    /// endpoint is configured, when tracking is disabled by the environment or consent does not
    /// allow it, in debug mode (`TELEMETRY_KIT_DEBUG`, DESIGN.md §5), or when another pass of
    /// this engine still runs at the deadline. Holds no lock while a request is in flight, so
    /// tracking goes on meanwhile.
    ///
    /// # Errors
    /// `Storage` when the store fails. The network's and the server's failures are reported in
    /// `SyncOutcome::error`, not here.
    pub fn sync(&self, options: &SyncPassOptions) -> Result<SyncOutcome> {
        let store = EngineSyncStore { engine: self };
        let settings = match self.sync.as_ref() {
            Some(settings) if self.env_disabled.is_none() && !self.debug && self.sync_allowed() => settings,
            _ => return Ok(SyncOutcome::idle(store.pending_count()?)),
        };
        let limits = options.limits();
        let Some(_ticket) = self.sync_gate.enter(limits.deadline) else {
            return Ok(SyncOutcome::idle(store.pending_count()?));
        };
        let client = self.http.get_or_init(|| HttpClient::new(&settings.sdk_version));
        run_sync_pass(&store, client, settings, limits)
    }

    fn sync_allowed(&self) -> bool {
        let mut state = self.lock();
        self.load_consent(&mut state);
        self.allows_tracking(&state)
    }

    /// Forgets the install id; the next event carries a new anonymous `user_id`.
    ///
    /// # Errors
    /// `Storage` when the install id file cannot be removed.
    pub fn reset_id(&self) -> Result<()> {
        let mut state = self.lock();
        if let Some(identity) = state.identity.as_ref() {
            identity.reset()?;
        }
        state.memory_install_id = None;
        state.context = None;
        Ok(())
    }

    /// # Errors
    /// `Storage` when the journal segment cannot be closed.
    pub fn close(&self) -> Result<()> {
        let state = self.lock();
        match &state.store {
            Store::File(store) => store.close(),
            Store::Memory(_) => Ok(()),
        }
    }
}

/// The engine's store, whichever it is now, locked for each operation only: a pass never
/// holds the state lock across a request, and a memory fallback mid-pass is followed.
struct EngineSyncStore<'a> {
    engine: &'a Engine,
}

impl SyncStore for EngineSyncStore<'_> {
    fn pending_events(&self, limit: u64) -> Result<Vec<PendingEvent>> {
        match &self.engine.ready().store {
            Store::File(store) => store.pending_events(limit),
            Store::Memory(store) => Ok(store.pending_events(limit)),
        }
    }

    fn mark_synced(&self, event_ids: &[String], synced_at_ms: i64) -> Result<()> {
        match &mut self.engine.ready().store {
            Store::File(store) => store.mark_synced(event_ids, synced_at_ms),
            Store::Memory(store) => {
                store.mark_synced(event_ids, synced_at_ms);
                Ok(())
            }
        }
    }

    fn mark_dead_lettered(&self, event_ids: &[String], reason: &str) -> Result<()> {
        match &mut self.engine.ready().store {
            Store::File(store) => store.mark_dead_lettered(event_ids, reason),
            Store::Memory(store) => {
                store.mark_dead_lettered(event_ids);
                Ok(())
            }
        }
    }

    fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        match &mut self.engine.ready().store {
            Store::File(store) => store.set_meta(key, value),
            Store::Memory(store) => {
                store.set_meta(key, value);
                Ok(())
            }
        }
    }

    fn pending_count(&self) -> Result<u64> {
        match &self.engine.ready().store {
            Store::File(store) => Ok(store.counts()?.pending),
            Store::Memory(store) => Ok(store.counts().pending),
        }
    }
}
