//! The ingestion engine: providers put root Location entities into the store, the processing
//! loop takes due entities in batches, processes them (reading Location targets into children),
//! writes the outcomes in one transaction, stitches the final entities that changed, and wakes
//! the read index. See ARCHITECTURE.md for a walkthrough.

pub mod location;
pub mod placeholders;
pub mod process;
pub mod stitch;
mod watch;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use portico_model::location::generated_location_entity;
use portico_model::{SerializedError, hash::stable_hash};
use portico_reading::Reader;
use portico_store::{
    CatalogStore, DueEntity, LocationRecord, Parent, ProcessingOutcome, ProcessingResult, StoreError,
    UnprocessedEntity, WriteReport, now_millis,
};
use rand::Rng;
use serde_json::Value;
use tokio::sync::Notify;

use self::location::{ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION, Source, SourceKind};
use self::process::{ProcessOutput, Processed, ProcessingHost};
use self::stitch::{Stitched, stitch};
use crate::config::{CatalogConfig, OrphanStrategy};

/// Provider name of the locations in `catalog.locations`.
pub const CONFIG_PROVIDER: &str = "config";
/// Provider name of the locations registered through the API.
pub const REGISTERED_PROVIDER: &str = "registered";

/// How many due entities one tick processes; bigger batches mean fewer transactions.
const BATCH: usize = 1_000;
/// How many tasks share a batch (the model checks are CPU work).
const TASKS: usize = 4;
/// How many entities one task processes at once (they may wait on reads).
const CONCURRENCY: usize = 4;
/// How many refs one stitch round loads at once.
const STITCH_CHUNK: usize = 1_000;
/// Stitching waits until the queue runs dry, so an entity touched by many batches (a group
/// owning thousands of components) is stitched once, not once per batch. Entities whose own
/// processing result changed wait no longer than this, so a long ingestion still shows its
/// new and edited entities as it goes.
const STITCH_MAX_DELAY: Duration = Duration::from_secs(5);
/// Nor past this many pending refs, to bound memory.
const STITCH_MAX_PENDING: usize = 50_000;
/// Entities touched only through other entities' relations (the group of every component
/// processed) wait until the queue runs dry, or this long: during a large ingestion each
/// flush of changed entities would otherwise restitch every hub again. At 100,000 entities
/// that doubled the stitching.
const RELATED_STITCH_MAX_DELAY: Duration = Duration::from_secs(30);
/// Nor past this many pending refs.
const RELATED_STITCH_MAX_PENDING: usize = 200_000;
/// The most entities a dry run follows before giving up.
const DRY_RUN_LIMIT: usize = 10_000;

/// Errors of engine operations that callers must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The catalog's ingestion engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn CatalogStore>,
    config: Arc<CatalogConfig>,
    reader: Reader,
    /// Wakes the processing loop (new work, file changes).
    wake: Notify,
    /// Notified after final entities were written, for the read index to catch up.
    changed: Arc<Notify>,
    watcher: watch::FileWatcher,
    /// Refs whose final entity may have changed, waiting to be stitched.
    pending_stitch: std::sync::Mutex<PendingStitch>,
    /// Whether the providers' roots were put into the store since start.
    providers_synced: std::sync::atomic::AtomicBool,
}

impl Engine {
    pub fn new(store: Arc<dyn CatalogStore>, config: Arc<CatalogConfig>, changed: Arc<Notify>) -> Engine {
        let reader = Reader::new(config.reading_allow.clone(), config.read_limits())
            .with_local_git(config.local_git.clone());
        let watcher = watch::FileWatcher::new(config.watch_files);
        let providers_synced = std::sync::atomic::AtomicBool::new(false);
        Engine {
            inner: Arc::new(Inner {
                store,
                config,
                reader,
                wake: Notify::new(),
                changed,
                watcher,
                pending_stitch: std::sync::Mutex::new(PendingStitch::default()),
                providers_synced,
            }),
        }
    }

    pub fn config(&self) -> &CatalogConfig {
        &self.inner.config
    }

    /// Wakes the processing loop.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    // ----- providers

    /// Puts the roots of both providers into the store: config locations and registered ones.
    pub async fn sync_providers(&self) -> Result<(), EngineError> {
        self.inner.providers_synced.store(true, std::sync::atomic::Ordering::SeqCst);
        let config_roots = self
            .inner
            .config
            .locations
            .iter()
            .map(|location| root_entity(&location.kind, &location.target))
            .collect();
        self.sync_provider(CONFIG_PROVIDER, config_roots).await?;
        self.sync_registered().await
    }

    async fn sync_registered(&self) -> Result<(), EngineError> {
        let roots = self
            .inner
            .store
            .list_locations()
            .await?
            .iter()
            .map(|location| root_entity(&location.kind, &location.target))
            .collect();
        self.sync_provider(REGISTERED_PROVIDER, roots).await
    }

    async fn sync_provider(&self, provider: &str, roots: Vec<UnprocessedEntity>) -> Result<(), EngineError> {
        let report = self.inner.store.replace_provider_roots(provider, roots, now_millis()).await?;
        self.after_write(report).await?;
        self.flush_stitch().await?;
        self.wake();
        Ok(())
    }

    // ----- the processing loop

    /// Runs the processing loop until shutdown. While ticks keep claiming full batches the
    /// loop is working through a backlog, and says so on `backlog`.
    pub async fn run(self, mut shutdown: portico_plugin::Shutdown, backlog: portico_plugin::Backlog) {
        let mut events = self.inner.watcher.take_events();
        let mut orphans_checked = true;
        loop {
            let ticked = self.tick().await;
            backlog.set_working(matches!(ticked, Ok(claimed) if claimed >= BATCH));
            match ticked {
                Ok(0) => {}
                Ok(_) => {
                    orphans_checked = false;
                    continue;
                }
                Err(error) => tracing::error!(%error, "catalog processing failed; retrying shortly"),
            }
            if !orphans_checked {
                if let Err(error) = self.cleanup_orphans().await {
                    tracing::error!(%error, "deleting orphaned entities failed");
                }
                orphans_checked = true;
            }
            let sleep = match self.inner.store.next_due_at().await {
                Ok(Some(at)) => Duration::from_millis((at - now_millis()).clamp(0, 5_000) as u64),
                _ => Duration::from_secs(5),
            };
            tokio::select! {
                _ = shutdown.requested() => return,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                paths = watch::next_batch(&mut events) => self.files_changed(paths).await,
            }
        }
    }

    /// Syncs the providers once, then processes until nothing is due (tests, one-shot commands).
    pub async fn settle(&self) -> Result<(), EngineError> {
        if !self.inner.providers_synced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.sync_providers().await?;
        }
        self.run_until_idle().await
    }

    /// Processes until nothing is due any more (tests and one-shot commands).
    pub async fn run_until_idle(&self) -> Result<(), EngineError> {
        while self.tick().await? > 0 {}
        self.cleanup_orphans().await?;
        while self.tick().await? > 0 {}
        Ok(())
    }

    /// One round: claim due entities, process them, write and stitch. Returns how many were
    /// claimed.
    pub async fn tick(&self) -> Result<usize, EngineError> {
        let now = now_millis();
        let next = now + self.next_interval_ms();
        let due = self.inner.store.claim_due(now, BATCH, next).await?;
        if due.is_empty() {
            self.flush_stitch().await?;
            return Ok(0);
        }
        let claimed = due.len();
        let outputs = self.process_batch(due).await;
        let mut outcomes = Vec::new();
        let mut changed = HashSet::new();
        for (entity, output) in outputs {
            self.inner.watcher.watch(&entity.entity_ref, &output.read);
            let processed = output.processed;
            let result_hash = processed.result_hash();
            if entity.result_hash.as_deref() == Some(result_hash.as_str()) {
                continue;
            }
            let result = match processed {
                Processed::Ok { entity: processed, relations, children, warnings } => {
                    ProcessingResult::Ok { processed, relations, children, warnings }
                }
                Processed::Failed(errors) => {
                    for error in &errors {
                        tracing::warn!(entity = %entity.entity_ref, error = %error, "processing failed");
                    }
                    ProcessingResult::Failed { errors: errors.iter().map(SerializedError::to_json).collect() }
                }
            };
            changed.insert(entity.entity_ref.clone());
            outcomes.push(ProcessingOutcome {
                entity_id: entity.entity_id,
                entity_ref: entity.entity_ref,
                result_hash,
                result,
            });
        }
        if !outcomes.is_empty() {
            let report = self.inner.store.write_outcomes(outcomes, now_millis()).await?;
            self.after_write_changed(report, &changed).await?;
        }
        let due = self.inner.pending_stitch.lock().map_or(StitchDue::Nothing, |pending| {
            if claimed < BATCH || pending.related_due() {
                StitchDue::All
            } else if pending.changed_due() {
                StitchDue::Changed
            } else {
                StitchDue::Nothing
            }
        });
        match due {
            StitchDue::All => self.flush_stitch().await?,
            StitchDue::Changed => self.flush_changed().await?,
            StitchDue::Nothing => {}
        }
        Ok(claimed)
    }

    /// Processes a batch in claim order, spread over tasks so that the model checks use every
    /// core while reads wait on IO.
    async fn process_batch(&self, mut due: Vec<DueEntity>) -> Vec<(DueEntity, ProcessOutput)> {
        let chunk = due.len().div_ceil(TASKS).max(1);
        let mut tasks = Vec::new();
        while !due.is_empty() {
            let rest = due.split_off(chunk.min(due.len()));
            let mine = std::mem::replace(&mut due, rest);
            let engine = self.clone();
            tasks.push(tokio::spawn(async move {
                let host = StoreHost { store: engine.inner.store.clone() };
                futures::stream::iter(mine)
                    .map(|entity| {
                        let (host, inner) = (&host, &engine.inner);
                        async move {
                            let output =
                                process::process(&entity.unprocessed, &inner.reader, &inner.config, host)
                                    .await;
                            (entity, output)
                        }
                    })
                    .buffered(CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await
            }));
        }
        let mut outputs = Vec::new();
        for task in tasks {
            match task.await {
                Ok(done) => outputs.extend(done),
                // A panic in processing is a bug; the claimed rows come due again later.
                Err(error) => tracing::error!(%error, "a processing task failed"),
            }
        }
        outputs
    }

    fn next_interval_ms(&self) -> i64 {
        match self.inner.config.processing_interval {
            None => i64::MAX / 4,
            Some((min, max)) if max > min => {
                rand::rng().random_range(min.as_millis()..=max.as_millis()) as i64
            }
            Some((min, _)) => min.as_millis() as i64,
        }
    }

    /// Queues the stitching of what a write touched, all of it as touched through others
    /// (see [`Engine::after_write_changed`]).
    async fn after_write(&self, report: WriteReport) -> Result<(), EngineError> {
        self.after_write_changed(report, &HashSet::new()).await
    }

    /// Queues the stitching of what a write touched: the refs in `changed` had their own
    /// processing result written, the others were touched through relations, edges or
    /// warnings. Conflicts were already recorded by the store as warnings on the losing
    /// parent; they are logged here too.
    async fn after_write_changed(
        &self,
        mut report: WriteReport,
        changed: &HashSet<String>,
    ) -> Result<(), EngineError> {
        for conflict in &report.conflicts {
            let existing = conflict.existing_location_key.as_deref().unwrap_or("another location");
            let new = conflict.new_location_key.as_deref().unwrap_or("another location");
            let message = format!(
                "Detected conflicting entityRef {} already referenced by {existing} and now also {new}",
                conflict.entity_ref
            );
            tracing::warn!(parent = ?conflict.parent, "{message}");
            // Backstage only logs conflicts; Portico also shows them on the losing Location.
            if let Parent::Entity(parent) = &conflict.parent {
                let warning = serde_json::json!({
                    "type": "backstage.io/catalog-processing",
                    "level": "warning",
                    "message": format!("ConflictError: {message}"),
                    "error": { "name": "ConflictError", "message": message },
                });
                if self.inner.store.append_warnings(parent, vec![warning]).await? {
                    report.stitch.push(parent.clone());
                }
            }
        }
        if let Ok(mut pending) = self.inner.pending_stitch.lock() {
            for entity_ref in report.stitch {
                pending.add(entity_ref, changed);
            }
        }
        Ok(())
    }

    /// Stitches everything pending.
    async fn flush_stitch(&self) -> Result<(), EngineError> {
        let refs = match self.inner.pending_stitch.lock() {
            Ok(mut pending) => pending.take_all(),
            Err(_) => return Ok(()),
        };
        self.stitch_pending(refs).await
    }

    /// Stitches the entities whose own result changed; those touched only through others wait.
    async fn flush_changed(&self) -> Result<(), EngineError> {
        let refs = match self.inner.pending_stitch.lock() {
            Ok(mut pending) => pending.take_changed(),
            Err(_) => return Ok(()),
        };
        self.stitch_pending(refs).await
    }

    async fn stitch_pending(&self, refs: HashSet<String>) -> Result<(), EngineError> {
        let mut refs: Vec<String> = refs.into_iter().collect();
        if refs.is_empty() {
            return Ok(());
        }
        refs.sort();
        tracing::debug!(count = refs.len(), "stitching");
        self.stitch_refs(refs).await
    }

    async fn stitch_refs(&self, refs: Vec<String>) -> Result<(), EngineError> {
        for chunk in refs.chunks(STITCH_CHUNK) {
            let inputs = self.inner.store.stitch_inputs(chunk).await?;
            let mut writes = Vec::new();
            let mut gone = Vec::new();
            for input in &inputs {
                match stitch(input) {
                    Stitched::Write(write) => writes.push(write),
                    Stitched::Unchanged => {}
                    // Never served (not processed successfully yet): nothing to remove.
                    Stitched::NothingToServe if input.final_hash.is_none() => {}
                    Stitched::NothingToServe => gone.push(input.entity_ref.clone()),
                }
            }
            if !writes.is_empty() {
                self.inner.store.write_finals(writes, now_millis()).await?;
            }
            if !gone.is_empty() {
                self.inner.store.delete_finals(&gone).await?;
            }
            // The index applies this chunk while the next one is stitched.
            self.inner.changed.notify_one();
        }
        Ok(())
    }

    async fn cleanup_orphans(&self) -> Result<(), EngineError> {
        if self.inner.config.orphan_strategy != OrphanStrategy::Delete {
            return Ok(());
        }
        let report = self.inner.store.delete_orphans().await?;
        if !report.deleted.is_empty() {
            tracing::info!(count = report.deleted.len(), "deleted orphaned entities");
            self.inner.changed.notify_one();
        }
        self.after_write(report).await?;
        self.flush_stitch().await
    }

    async fn files_changed(&self, paths: Vec<std::path::PathBuf>) {
        let refs = self.inner.watcher.refs_for(&paths);
        if refs.is_empty() {
            return;
        }
        tracing::info!(
            files = paths.len(),
            entities = refs.len(),
            "descriptor files changed; re-reading them"
        );
        if let Err(error) = self.inner.store.schedule_now(&refs, now_millis()).await {
            tracing::error!(%error, "could not schedule changed files");
        }
    }

    // ----- operations behind the API

    /// Registers a location (`POST /locations`) and starts reading it.
    pub async fn register_location(&self, kind: &str, target: &str) -> Result<LocationRecord, EngineError> {
        let store = &self.inner.store;
        if store.find_location(kind, target).await?.is_some() {
            return Err(EngineError::Conflict(format!("Location {kind}:{target} already exists")));
        }
        let record = LocationRecord {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            target: target.to_owned(),
        };
        match store.insert_location(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::Conflict(format!("Location {kind}:{target} already exists")));
            }
            Err(error) => return Err(error.into()),
        }
        self.sync_registered().await?;
        Ok(record)
    }

    pub async fn locations(&self) -> Result<Vec<LocationRecord>, EngineError> {
        Ok(self.inner.store.list_locations().await?)
    }

    pub async fn location(&self, id: &str) -> Result<Option<LocationRecord>, EngineError> {
        Ok(self.inner.store.get_location(id).await?)
    }

    pub async fn find_location(
        &self,
        kind: &str,
        target: &str,
    ) -> Result<Option<LocationRecord>, EngineError> {
        Ok(self.inner.store.find_location(kind, target).await?)
    }

    /// Unregisters a location and deletes everything only it led to.
    pub async fn delete_location(&self, id: &str) -> Result<LocationRecord, EngineError> {
        let Some(record) = self.inner.store.delete_location(id).await? else {
            return Err(EngineError::NotFound(format!("Found no location with ID {id}")));
        };
        self.sync_registered().await?;
        Ok(record)
    }

    /// Changes a registered location's type and target (`PUT /locations/:id`). A changed
    /// location re-syncs the registered provider: the old root and everything only it led to
    /// are removed, the new root is ingested.
    pub async fn update_location(
        &self,
        id: &str,
        kind: &str,
        target: &str,
    ) -> Result<LocationRecord, EngineError> {
        let store = &self.inner.store;
        let Some(current) = store.get_location(id).await? else {
            return Err(EngineError::NotFound(format!("Found no location with ID {id}")));
        };
        let record = LocationRecord { id: id.to_owned(), kind: kind.to_owned(), target: target.to_owned() };
        if current == record {
            return Ok(record);
        }
        let conflict = || EngineError::Conflict(format!("Location {kind}:{target} already exists"));
        match store.update_location(&record).await {
            Ok(true) => {}
            // Deleted between the read and the update.
            Ok(false) => return Err(EngineError::NotFound(format!("Found no location with ID {id}"))),
            Err(StoreError::Conflict(_)) => return Err(conflict()),
            Err(error) => return Err(error.into()),
        }
        self.sync_registered().await?;
        Ok(record)
    }

    /// Makes an entity and its nearest Location ancestor due now (`POST /refresh`).
    pub async fn refresh(&self, entity_ref: &str) -> Result<(), EngineError> {
        let store = &self.inner.store;
        if store.entity_id_of(entity_ref).await?.is_none() {
            return Err(EngineError::NotFound(format!("Entity {entity_ref} not found")));
        }
        let mut refs = vec![entity_ref.to_owned()];
        let mut frontier = vec![entity_ref.to_owned()];
        let mut seen = HashSet::new();
        'search: while let Some(current) = frontier.pop() {
            for parent in store.parents_of(&current).await? {
                if let Parent::Entity(parent) = parent {
                    if parent.starts_with("location:") {
                        refs.push(parent);
                        break 'search;
                    }
                    if seen.insert(parent.clone()) {
                        frontier.push(parent);
                    }
                }
            }
        }
        store.schedule_now(&refs, now_millis()).await?;
        self.wake();
        Ok(())
    }

    /// Deletes one entity (`DELETE /entities/by-uid/:uid`); a still-declared entity comes back
    /// with a new uid once its parent is processed again.
    pub async fn delete_entity(&self, uid: &str) -> Result<(), EngineError> {
        if let Some(deleted) = self.inner.store.delete_entity(uid, now_millis()).await? {
            self.inner.changed.notify_one();
            self.after_write(deleted.report).await?;
            self.flush_stitch().await?;
            self.wake();
        }
        Ok(())
    }

    /// The processing ancestry of an entity: itself, then every parent that emitted it,
    /// depth-first, each once, with their parent refs.
    pub async fn ancestry(&self, entity_ref: &str) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![entity_ref.to_owned()];
        while let Some(current) = stack.pop() {
            if !seen.insert(current.clone()) {
                continue;
            }
            let parents: Vec<String> = self
                .inner
                .store
                .parents_of(&current)
                .await?
                .into_iter()
                .filter_map(|p| match p {
                    Parent::Entity(r) => Some(r),
                    Parent::Provider(_) => None,
                })
                .collect();
            for parent in parents.iter().rev() {
                stack.push(parent.clone());
            }
            out.push((current, parents));
        }
        Ok(out)
    }

    /// Processes a location and everything it leads to in memory, storing nothing
    /// (`POST /locations?dryRun=true`). Returns the processed entities, the root Location first.
    pub async fn dry_run(&self, kind: &str, target: &str) -> Result<Vec<Value>, SerializedError> {
        let root = root_entity(kind, target);
        let host = DryRunHost::default();
        let root: Value = serde_json::from_str(&root.body).unwrap_or(Value::Null);
        let mut queue = VecDeque::from([(root, Vec::<String>::new())]);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        while let Some((entity, ancestors)) = queue.pop_front() {
            let entity_ref = location::claimed_ref(&entity).map(|(r, _)| r).unwrap_or_default();
            if !seen.insert(entity_ref.clone()) {
                return Err(SerializedError::input(format!("Duplicate nested entity: {entity_ref}")));
            }
            if out.len() >= DRY_RUN_LIMIT {
                return Err(SerializedError::input(format!(
                    "The location leads to more than {DRY_RUN_LIMIT} entities; register it to ingest it"
                )));
            }
            host.set_ancestors(&entity_ref, &ancestors);
            let output = process::process(&entity, &self.inner.reader, &self.inner.config, &host).await;
            match output.processed {
                Processed::Failed(errors) => {
                    let message =
                        errors.iter().map(|e| format!("{}: {}", e.name, e.message)).collect::<Vec<_>>();
                    return Err(SerializedError::input(message.join(", ")));
                }
                Processed::Ok { entity, children, warnings, .. } => {
                    if let Some(problem) = warnings.first() {
                        let message = problem.get("message").and_then(Value::as_str).unwrap_or_default();
                        return Err(SerializedError::input(message.to_owned()));
                    }
                    let mut child_ancestors = ancestors.clone();
                    child_ancestors.push(entity_ref.clone());
                    for child in children {
                        let body = serde_json::from_str(&child.body).unwrap_or(Value::Null);
                        queue.push_back((body, child_ancestors.clone()));
                    }
                    out.push(entity);
                }
            }
        }
        Ok(out)
    }

    /// Runs the processing pipeline on one entity without storing anything
    /// (`POST /validate-entity`).
    pub async fn validate_entity(
        &self,
        mut entity: Value,
        location_ref: &str,
    ) -> Result<(), SerializedError> {
        if let Some(annotations) = entity
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .map(|m| m.entry("annotations").or_insert_with(|| Value::Object(Default::default())))
            .and_then(Value::as_object_mut)
        {
            for key in [ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION] {
                annotations.entry(key).or_insert_with(|| Value::String(location_ref.to_owned()));
            }
        }
        let host = DryRunHost::default();
        let output = process::process(&entity, &self.inner.reader, &self.inner.config, &host).await;
        match output.processed {
            Processed::Ok { .. } => Ok(()),
            Processed::Failed(mut errors) => Err(errors.remove(0)),
        }
    }
}

/// Refs waiting to be stitched, and since when.
#[derive(Default)]
struct PendingStitch {
    /// Entities whose own processing result changed.
    changed: HashSet<String>,
    changed_since: Option<std::time::Instant>,
    /// Entities touched only through others (never also in `changed`).
    related: HashSet<String>,
    related_since: Option<std::time::Instant>,
}

/// What a tick stitches before it returns.
enum StitchDue {
    Nothing,
    Changed,
    All,
}

impl PendingStitch {
    fn add(&mut self, entity_ref: String, changed: &HashSet<String>) {
        if changed.contains(&entity_ref) {
            self.changed_since.get_or_insert_with(std::time::Instant::now);
            self.related.remove(&entity_ref);
            self.changed.insert(entity_ref);
        } else if !self.changed.contains(&entity_ref) {
            self.related_since.get_or_insert_with(std::time::Instant::now);
            self.related.insert(entity_ref);
        }
    }

    fn changed_due(&self) -> bool {
        self.changed.len() >= STITCH_MAX_PENDING
            || self.changed_since.is_some_and(|since| since.elapsed() >= STITCH_MAX_DELAY)
    }

    fn related_due(&self) -> bool {
        !self.related.is_empty()
            && (self.related.len() >= RELATED_STITCH_MAX_PENDING
                || self.related_since.is_some_and(|since| since.elapsed() >= RELATED_STITCH_MAX_DELAY))
    }

    /// A stitch reads an entity's current relations, so stitching the changed entities also
    /// settles whatever was pending for them as related.
    fn take_changed(&mut self) -> HashSet<String> {
        self.changed_since = None;
        std::mem::take(&mut self.changed)
    }

    fn take_all(&mut self) -> HashSet<String> {
        let mut refs = self.take_changed();
        self.related_since = None;
        refs.extend(std::mem::take(&mut self.related));
        refs
    }
}

/// The generated root Location entity of a provider location.
pub fn root_entity(kind: &str, target: &str) -> UnprocessedEntity {
    let entity = generated_location_entity(kind, target, None);
    let entity_ref = location::claimed_ref(&entity).map(|(r, _)| r).unwrap_or_default();
    let hash = stable_hash(&entity);
    let body = entity.to_string();
    let location_key =
        Source { kind: SourceKind::parse(kind).unwrap_or(SourceKind::File), target: target.to_owned() }
            .location_ref();
    UnprocessedEntity { entity_ref, body, hash, location_key: Some(location_key) }
}

/// Processing host backed by the store.
struct StoreHost {
    store: Arc<dyn CatalogStore>,
}

#[async_trait::async_trait]
impl ProcessingHost for StoreHost {
    async fn ancestors(&self, entity_ref: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut frontier = vec![entity_ref.to_owned()];
        // Bounded: a chain of Locations deeper than this is itself a problem.
        for _ in 0..64 {
            let mut next = Vec::new();
            for current in frontier {
                for parent in self.store.parents_of(&current).await.unwrap_or_default() {
                    if let Parent::Entity(parent) = parent
                        && seen.insert(parent.clone())
                    {
                        next.push(parent);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        seen
    }

    async fn previous_children(&self, entity_ref: &str) -> Vec<UnprocessedEntity> {
        self.store.children_of(&Parent::Entity(entity_ref.to_owned())).await.unwrap_or_default()
    }
}

/// Processing host for dry runs: ancestry is tracked in memory, nothing was emitted before.
#[derive(Default)]
struct DryRunHost {
    ancestors: std::sync::Mutex<std::collections::HashMap<String, HashSet<String>>>,
}

impl DryRunHost {
    fn set_ancestors(&self, entity_ref: &str, ancestors: &[String]) {
        if let Ok(mut map) = self.ancestors.lock() {
            map.insert(entity_ref.to_owned(), ancestors.iter().cloned().collect());
        }
    }
}

#[async_trait::async_trait]
impl ProcessingHost for DryRunHost {
    async fn ancestors(&self, entity_ref: &str) -> HashSet<String> {
        self.ancestors.lock().map(|map| map.get(entity_ref).cloned().unwrap_or_default()).unwrap_or_default()
    }

    async fn previous_children(&self, _entity_ref: &str) -> Vec<UnprocessedEntity> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(names: &[&str]) -> HashSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn stitching_changed_entities_leaves_those_touched_through_others_pending() {
        let mut pending = PendingStitch::default();
        let changed = refs(&["component:default/a", "component:default/b"]);
        for entity_ref in ["component:default/a", "group:default/team", "component:default/b"] {
            pending.add(entity_ref.to_owned(), &changed);
        }
        assert_eq!(pending.take_changed(), changed);
        assert_eq!(pending.related, refs(&["group:default/team"]));
        assert!(pending.changed_since.is_none() && pending.related_since.is_some());
        assert_eq!(pending.take_all(), refs(&["group:default/team"]));
        assert!(pending.related_since.is_none());
        assert!(!pending.changed_due() && !pending.related_due());
    }

    #[test]
    fn an_entity_is_pending_once_and_as_changed_when_its_own_result_changed() {
        let mut pending = PendingStitch::default();
        pending.add("group:default/team".to_owned(), &HashSet::new());
        // Its own processing result is written later: the changed flush covers it.
        pending.add("group:default/team".to_owned(), &refs(&["group:default/team"]));
        assert!(pending.related.is_empty());
        // Touched through others while already pending as changed: still stitched with them.
        pending.add("group:default/team".to_owned(), &HashSet::new());
        assert!(pending.related.is_empty());
        assert_eq!(pending.take_changed(), refs(&["group:default/team"]));
        // Emptied by moves, the related set never makes a flush due, however long ago it began.
        pending.related_since = std::time::Instant::now().checked_sub(RELATED_STITCH_MAX_DELAY * 2);
        assert!(pending.related_since.is_some());
        assert!(!pending.related_due());
        pending.add("user:default/someone".to_owned(), &HashSet::new());
        assert!(pending.related_due(), "a related ref pending for longer than the delay is due");
    }

    #[test]
    fn pending_stitches_come_due_by_count() {
        let mut pending = PendingStitch::default();
        let changed: HashSet<String> =
            (0..STITCH_MAX_PENDING).map(|i| format!("component:default/c{i}")).collect();
        for entity_ref in &changed {
            pending.add(entity_ref.clone(), &changed);
        }
        assert!(pending.changed_due());
        assert!(!pending.related_due());
        for i in 0..RELATED_STITCH_MAX_PENDING {
            pending.add(format!("user:default/u{i}"), &changed);
        }
        assert!(pending.related_due());
        assert_eq!(pending.take_all().len(), STITCH_MAX_PENDING + RELATED_STITCH_MAX_PENDING);
    }
}
