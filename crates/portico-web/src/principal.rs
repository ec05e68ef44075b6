//! Who sent a request. One app-level middleware (the auth plugin's) reads the request's
//! credentials — `Authorization: Bearer` or the session cookie — and puts a [`Principal`] into
//! the request's extensions; handlers take it as an extractor, pages read it through
//! [`Viewer`](crate::Viewer). Nothing else looks at credentials.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Who sent a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Principal {
    /// No credentials: an anonymous visitor, or a request no identity middleware looked at.
    #[default]
    None,
    /// A person, signed in with a user token.
    User(UserPrincipal),
    /// Another program, with a static token from `backend.auth.externalAccess`.
    Service(ServicePrincipal),
}

/// A signed-in person, as their user token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrincipal {
    /// The user entity (`user:default/jane`), the token's `sub`.
    pub user_entity_ref: String,
    /// What the user owns through: the user itself and its groups (the token's `ent`).
    pub ownership_entity_refs: Vec<String>,
    /// When the token stops being valid, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// A program calling with a static token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// The `subject` configured for the token (`ci-bot`).
    pub subject: String,
    /// What the token may do in the plugin it called, when its `accessRestrictions` name that
    /// plugin; `None` when the token is not restricted.
    pub access_restrictions: Option<AccessRestrictions>,
}

/// The permission part of an access restriction for one plugin (the plugin itself is already
/// checked when the principal is made). Empty lists allow everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRestrictions {
    /// Permission names the token may be used for (`catalog.entity.read`).
    pub permission_names: Vec<String>,
    /// Permission actions the token may be used for (`create`, `read`, `update`, `delete`).
    pub permission_actions: Vec<String>,
}

impl Principal {
    /// The signed-in person, if a person sent the request.
    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(user) => Some(user),
            Principal::None | Principal::Service(_) => None,
        }
    }
}

/// The principal the identity middleware found; [`Principal::None`] without one.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned().unwrap_or_default())
    }
}
