//! Recording writes in the audit log, one line per handler.

use std::fmt::Display;
use std::sync::Arc;

use portico_store::{AuditOutcome, AuditStore, NewAuditEntry, now_millis};
use portico_web::{Principal, Viewer};
use serde_json::{Map, Value};

/// Appends entries to the audit log for request handlers. Recording never fails the request
/// it records: an entry the store cannot take is logged as a warning instead, because refusing
/// a write that already happened would only hide it from the caller.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
}

impl Audit {
    /// Records into `store` (usually [`crate::PluginContext::audit`]).
    pub fn new(store: Arc<dyn AuditStore>) -> Audit {
        Audit { store }
    }

    /// Who a request acts as, as the log names it: the signed-in user, a program with a static
    /// token as `service:<subject>`, and otherwise the guest user (see [`Viewer::identity`]).
    pub fn actor(viewer: &Viewer) -> String {
        actor_of(&viewer.principal)
    }

    /// Records that `actor` asked for `action` on `target` and how it ended, now. `details` is
    /// a JSON object kept with the entry (`Value::Null` for none; any other value is kept under
    /// `"value"`).
    pub async fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: AuditOutcome,
        details: Value,
    ) {
        let entry = NewAuditEntry {
            at: now_millis(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome,
            details: details_object(details),
        };
        if let Err(error) = self.store.append(entry).await {
            tracing::warn!(
                %error,
                actor,
                action,
                target,
                outcome = outcome.as_str(),
                "could not record an audit entry"
            );
        }
    }

    /// Records the result of a write the request of `viewer` asked for: `succeeded`, or
    /// `failed` with the error's message added to `details` (a JSON object, or `Value::Null`) as
    /// `error`.
    pub async fn result<T, E: Display>(
        &self,
        viewer: &Viewer,
        action: &str,
        target: &str,
        result: &Result<T, E>,
        details: Value,
    ) {
        let (outcome, details) = match result {
            Ok(_) => (AuditOutcome::Succeeded, details),
            Err(error) => {
                let mut details = details_object(details);
                details.insert("error".to_owned(), Value::String(error.to_string()));
                (AuditOutcome::Failed, Value::Object(details))
            }
        };
        self.record(&Audit::actor(viewer), action, target, outcome, details).await;
    }
}

/// The audit log's name for a principal: the user ref, `service:<subject>`, or the guest user.
pub(crate) fn actor_of(principal: &Principal) -> String {
    match principal {
        Principal::User(user) => user.user_entity_ref.clone(),
        Principal::Service(service) => format!("service:{}", service.subject),
        Principal::None => portico_web::GUEST_USER.to_owned(),
    }
}

/// `details` as the object an entry keeps: an object as it is, nothing for `null`, any other
/// value under `"value"`.
fn details_object(details: Value) -> Map<String, Value> {
    match details {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_owned(), other)]),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use portico_store::{AuditEntry, AuditQuery, StoreError, StoreResult};
    use portico_web::{ServicePrincipal, UserPrincipal};
    use serde_json::json;

    use super::*;

    /// Keeps appended entries in memory, or refuses every append.
    #[derive(Default)]
    struct Entries {
        kept: Mutex<Vec<NewAuditEntry>>,
        refuse: bool,
    }

    #[async_trait::async_trait]
    impl AuditStore for Entries {
        async fn append(&self, entry: NewAuditEntry) -> StoreResult<i64> {
            if self.refuse {
                return Err(StoreError::Database("the disk is full".to_owned()));
            }
            let mut kept = self.kept.lock().unwrap();
            kept.push(entry);
            Ok(kept.len() as i64)
        }

        async fn list(&self, _: &AuditQuery) -> StoreResult<(Vec<AuditEntry>, u64)> {
            unreachable!("recording never reads")
        }
    }

    fn signed_in(user: &str) -> Viewer {
        let user = UserPrincipal {
            user_entity_ref: user.to_owned(),
            ownership_entity_refs: Vec::new(),
            expires_at: 0,
        };
        Viewer { principal: Principal::User(user), ..Viewer::default() }
    }

    fn service(subject: &str) -> Viewer {
        let service = ServicePrincipal { subject: subject.to_owned(), access_restrictions: None };
        Viewer { principal: Principal::Service(service), ..Viewer::default() }
    }

    #[tokio::test]
    async fn results_become_outcomes_with_the_actor_and_the_error_kept() {
        let store = Arc::new(Entries::default());
        let audit = Audit::new(store.clone());
        let before = now_millis();
        let ok: Result<(), String> = Ok(());
        let failed: Result<(), String> = Err("Entity component:default/b not found".to_owned());
        audit
            .result(&Viewer::default(), "catalog.entity.refresh", "component:default/a", &ok, Value::Null)
            .await;
        audit
            .result(
                &signed_in("user:default/jane"),
                "catalog.location.delete",
                "42",
                &failed,
                json!({"id": "42"}),
            )
            .await;
        audit.result(&service("ci-bot"), "scaffolder.task.create", "t-1", &ok, Value::Null).await;
        audit.record("service:ci-bot", "permission.deny", "x", AuditOutcome::Denied, json!("policy")).await;

        let kept = store.kept.lock().unwrap();
        let summary: Vec<_> = kept.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("user:default/guest", "catalog.entity.refresh", AuditOutcome::Succeeded),
                ("user:default/jane", "catalog.location.delete", AuditOutcome::Failed),
                ("service:ci-bot", "scaffolder.task.create", AuditOutcome::Succeeded),
                ("service:ci-bot", "permission.deny", AuditOutcome::Denied),
            ]
        );
        assert!(kept.iter().all(|e| e.at >= before && e.at <= now_millis()), "entries are stamped now");
        assert!(kept[0].details.is_empty());
        assert_eq!(
            Value::Object(kept[1].details.clone()),
            json!({"id": "42", "error": "Entity component:default/b not found"})
        );
        assert_eq!(Value::Object(kept[3].details.clone()), json!({"value": "policy"}));
    }

    #[tokio::test]
    async fn a_store_that_refuses_does_not_fail_the_caller() {
        let audit = Audit::new(Arc::new(Entries { refuse: true, ..Entries::default() }));
        let ok: Result<(), String> = Ok(());
        audit
            .result(&signed_in("user:default/jane"), "auth.sign-in", "user:default/jane", &ok, Value::Null)
            .await;
    }
}
