//! The one authorization extractor (DESIGN.md invariant 8).
//!
//! Every handler that touches protected data takes an [`Access`]: who is asking (the
//! [`Principal`] the identity middleware established) together with the portal's policies
//! ([`Permissions`], installed once by the app). Handlers ask it in one of three ways:
//!
//! * [`Access::require`] before doing something: a deny is recorded in the audit log as
//!   `permission.deny` and becomes `403 NotAllowedError` (or the 403 page);
//! * [`Access::allows`] to decide what to show (buttons hidden or disabled, with
//!   [`Access::decide`]'s reason) — nothing is recorded, nothing was attempted;
//! * [`Access::filter`] to filter a list inside its query, one prepared check for many resources.
//!
//! A static token's `accessRestrictions` (`permissionNames`, `permissionAttributes.action`)
//! narrow what it may do before any policy is asked, as in Backstage.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use portico_permission::{Decision, EntityClass, Permission, PolicyEngine, PreparedCheck, Resource};
use portico_store::AuditOutcome;
use portico_web::{ApiError, PageError, Principal};
use serde_json::json;

use crate::audit::Audit;

/// The portal's policies and where denials are recorded; the app puts one into every request.
pub struct Permissions {
    engine: PolicyEngine,
    audit: Option<Audit>,
}

impl Permissions {
    /// Decides with `engine`, recording denials through `audit`.
    pub fn new(engine: PolicyEngine, audit: Audit) -> Arc<Permissions> {
        Arc::new(Permissions { engine, audit: Some(audit) })
    }

    /// Decides with `engine` and records no denial: for code that only filters, and for tests.
    pub fn without_audit(engine: PolicyEngine) -> Permissions {
        Permissions { engine, audit: None }
    }

    /// Everything allowed, nothing recorded: what a request sees when no app installed any.
    pub fn allow_all() -> Arc<Permissions> {
        Arc::new(Permissions { engine: PolicyEngine::allow_all(), audit: None })
    }

    pub fn engine(&self) -> &PolicyEngine {
        &self.engine
    }
}

/// Who asks, and the policies that answer. Cheap to clone.
#[derive(Clone)]
pub struct Access {
    principal: Principal,
    cedar_principal: portico_permission::Principal,
    permissions: Arc<Permissions>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("principal", &self.principal).finish_non_exhaustive()
    }
}

/// A denied check, answered as `403 NotAllowedError` by the API and as the 403 page by pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    pub message: String,
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> ApiError {
        ApiError::not_allowed(denied.message)
    }
}

impl From<Denied> for PageError {
    fn from(denied: Denied) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, "You may not do this", denied.message)
            .link("Go to the home page", "/")
            .link("See who you are signed in as", "/settings")
    }
}

impl Access {
    /// Access for `principal` under `permissions`, for code that acts on a request's behalf
    /// outside a handler (and for tests).
    pub fn new(principal: Principal, permissions: Arc<Permissions>) -> Access {
        let cedar_principal = cedar_principal(&principal);
        Access { principal, cedar_principal, permissions }
    }

    /// An anonymous caller under the allow-all policy: in-process work nobody asked for.
    pub fn unrestricted() -> Access {
        Access::new(Principal::None, Permissions::allow_all())
    }

    /// Who asks.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The policies' view of who asks.
    pub fn policy_principal(&self) -> &portico_permission::Principal {
        &self.cedar_principal
    }

    /// The policies, for code that answers permission questions itself (`/api/permission`).
    pub fn policy_engine(&self) -> &PolicyEngine {
        &self.permissions.engine
    }

    /// Whether any check can be denied; when not, callers may skip building resources.
    pub fn enforces(&self) -> bool {
        self.permissions.engine.enforces() || self.restriction().is_some()
    }

    /// Decides a check without recording anything: for showing or hiding what the caller may do.
    /// `resource` is `None` for a basic permission.
    pub fn decide(&self, permission: &Permission, resource: Option<Resource<'_>>) -> Decision {
        if let Some(reason) = self.restricted(permission) {
            return Decision::Deny { reason };
        }
        self.permissions.engine.authorize(&self.cedar_principal, permission, resource)
    }

    /// Whether [`Access::decide`] allows.
    pub fn allows(&self, permission: &Permission, resource: Option<Resource<'_>>) -> bool {
        self.decide(permission, resource).is_allowed()
    }

    /// Checks before acting. A deny is appended to the audit log (`permission.deny`, with the
    /// permission and the reason) against `target` — the resource's ref, or the plugin for a
    /// basic permission — and returned as [`Denied`].
    pub async fn require(
        &self,
        permission: &Permission,
        resource: Option<Resource<'_>>,
        target: &str,
    ) -> Result<(), Denied> {
        let reason = match self.decide(permission, resource) {
            Decision::Allow => return Ok(()),
            Decision::Deny { reason } => reason,
        };
        if let Some(audit) = &self.permissions.audit {
            let details = json!({ "permission": permission.name, "reason": reason });
            audit.record(&self.actor(), "permission.deny", target, AuditOutcome::Denied, details).await;
        }
        Err(Denied {
            message: format!(
                "You are not allowed to perform {permission} on {target}: {reason}. \
                 If you need to, ask an administrator of this portal to change the policy."
            ),
        })
    }

    /// One prepared check of `permission` for many resources, to filter a list inside its query.
    pub fn filter(&self, permission: &Permission) -> Filter<'_> {
        match self.restricted(permission) {
            Some(_) => Filter::DenyAll,
            None => Filter::Check(self.permissions.engine.for_principal(&self.cedar_principal, permission)),
        }
    }

    /// A text that is equal for two accesses exactly when every decision is: the principal
    /// with its ownership refs or token restrictions. For caching decisions per caller.
    pub fn decision_key(&self) -> String {
        match &self.principal {
            Principal::User(user) => {
                let mut refs: Vec<String> =
                    user.ownership_entity_refs.iter().map(|r| r.to_lowercase()).collect();
                refs.sort_unstable();
                format!("{}|{}", user.user_entity_ref.to_lowercase(), refs.join(","))
            }
            Principal::Service(service) => {
                format!("service:{}|{:?}", service.subject, service.access_restrictions)
            }
            Principal::None => "anonymous".to_owned(),
        }
    }

    /// Who the audit log names: the user ref, `service:<subject>`, or the guest user.
    pub fn actor(&self) -> String {
        crate::audit::actor_of(&self.principal)
    }

    fn restriction(&self) -> Option<&portico_web::AccessRestrictions> {
        match &self.principal {
            Principal::Service(service) => service.access_restrictions.as_ref(),
            Principal::User(_) | Principal::None => None,
        }
    }

    /// Why a static token's access restrictions rule `permission` out, if they do.
    fn restricted(&self, permission: &Permission) -> Option<String> {
        let restrictions = self.restriction()?;
        let named = restrictions.permission_names.is_empty()
            || restrictions.permission_names.iter().any(|name| name == permission.name);
        let action = permission.action.map(|action| action.as_str());
        let acting = restrictions.permission_actions.is_empty()
            || action.is_some_and(|action| restrictions.permission_actions.iter().any(|a| a == action));
        (!(named && acting)).then(|| format!("the token's access restrictions do not include {permission}"))
    }
}

/// A list filter: every resource denied (a restricted token), or one prepared policy check.
pub enum Filter<'a> {
    DenyAll,
    Check(PreparedCheck<'a>),
}

impl Filter<'_> {
    /// Whether the answer can differ between resources; when not, any one resource's answer is
    /// every resource's.
    pub fn reads_resource(&self) -> bool {
        match self {
            Filter::DenyAll => false,
            Filter::Check(check) => check.reads_resource(),
        }
    }

    /// Whether the catalog entities of `class` pass (see
    /// `PolicyEngine::entity_classifier`).
    pub fn allows_class(&self, class: &EntityClass) -> bool {
        match self {
            Filter::DenyAll => false,
            Filter::Check(check) => check.decide_class(class).is_allowed(),
        }
    }

    /// Whether this resource passes.
    pub fn allows(&self, resource: Resource<'_>) -> bool {
        match self {
            Filter::DenyAll => false,
            Filter::Check(check) => check.allows(resource),
        }
    }
}

/// The policies' principal for a request's principal.
fn cedar_principal(principal: &Principal) -> portico_permission::Principal {
    match principal {
        Principal::User(user) => {
            portico_permission::Principal::user(&user.user_entity_ref, &user.ownership_entity_refs)
        }
        Principal::Service(service) => portico_permission::Principal::service(&service.subject),
        Principal::None => portico_permission::Principal::Anonymous,
    }
}

/// The caller of the request under the policies the app installed (allow-all without any).
impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts.extensions.get::<Principal>().cloned().unwrap_or_default();
        let permissions =
            parts.extensions.get::<Arc<Permissions>>().cloned().unwrap_or_else(Permissions::allow_all);
        Ok(Access::new(principal, permissions))
    }
}
