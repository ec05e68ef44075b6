//! The audit log: one row per write someone asked the portal to make (registering a location,
//! creating a task, signing in, a refused request), with who, what, on what, when and how it
//! ended.
//!
//! The log is append-only. [`AuditStore`] has no method that changes or removes a row, and each
//! backend's schema refuses `UPDATE` and `DELETE` on the table as well, so not even code that
//! reaches the database directly can rewrite history.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::{Millis, StoreResult};

/// How a recorded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// The write happened.
    Succeeded,
    /// The write was attempted and failed (the details say why).
    Failed,
    /// The caller was not allowed to make it.
    Denied,
}

impl AuditOutcome {
    /// Every outcome.
    pub const ALL: [AuditOutcome; 3] = [AuditOutcome::Succeeded, AuditOutcome::Failed, AuditOutcome::Denied];

    /// The outcome as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Denied => "denied",
        }
    }

    /// The outcome named `text`, if any.
    pub fn parse(text: &str) -> Option<AuditOutcome> {
        AuditOutcome::ALL.into_iter().find(|outcome| outcome.as_str() == text)
    }
}

/// An entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When the request was made; the caller decides so that it is the time of the request, not
    /// of the write.
    pub at: Millis,
    /// Who asked: a user or service ref (`user:default/jane`, `service:ci-bot`).
    pub actor: String,
    /// What was asked, as a dotted name, most general part first (`catalog.location.create`).
    pub action: String,
    /// What it was asked on: a location ref, an entity ref, a task id.
    pub target: String,
    pub outcome: AuditOutcome,
    /// Anything else worth keeping (the error message of a failure); empty when there is
    /// nothing.
    pub details: Map<String, Value>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// From one autoincrement, so ids order entries by when they were written.
    pub id: i64,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: AuditOutcome,
    pub details: Map<String, Value>,
}

/// Which actions an [`AuditQuery`] matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionFilter {
    /// This action only.
    Exact(String),
    /// Every action starting with this text (`catalog.` for all of the catalog's).
    Prefix(String),
}

impl ActionFilter {
    /// Reads the filter as people type it: a trailing `*` (`catalog.*`) or `.` (`catalog.`)
    /// asks for a prefix, anything else for that exact action.
    pub fn parse(text: &str) -> ActionFilter {
        let text = text.trim();
        match text.strip_suffix('*') {
            Some(prefix) => ActionFilter::Prefix(prefix.to_owned()),
            None if text.ends_with('.') => ActionFilter::Prefix(text.to_owned()),
            None => ActionFilter::Exact(text.to_owned()),
        }
    }
}

/// Which entries [`AuditStore::list`] returns. Filters left `None` match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries of this actor (exact).
    pub actor: Option<String>,
    pub action: Option<ActionFilter>,
    /// Only entries whose target contains this text, ASCII letters matched in either case.
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// Only entries at or after this time.
    pub since: Option<Millis>,
    /// Only entries before this time.
    pub until: Option<Millis>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Storage of the audit log. Every method is one transaction. There is deliberately no way to
/// change or remove an entry.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends an entry and returns its id.
    async fn append(&self, entry: NewAuditEntry) -> StoreResult<i64>;

    /// The entries matching `query`, newest first (by time, then by id), and how many match it
    /// without limit and offset.
    async fn list(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)>;
}
