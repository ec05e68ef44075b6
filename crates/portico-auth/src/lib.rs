//! The auth plugin (`/api/auth`, other-apis.md §4): who is who in the portal.
//!
//! * User tokens ([`TokenFactory`]): Backstage identity tokens, ES256 with
//!   `typ: vnd.backstage.user`, signed with keys made and rotated per process whose public
//!   halves live in the store, published as a JWKS.
//! * Sign-in ([`AuthService`]): the guest provider (`auth.providers.guest`), with ownership
//!   from the catalog ([`UserCatalog`]) when the user is there; the popup and redirect flows
//!   Backstage's frontend uses; the portal's own sign-in pages and session cookie
//!   ([`SESSION_COOKIE`]).
//! * Service tokens ([`ExternalAccess`]): `backend.auth.externalAccess` static tokens, with
//!   their plugin restrictions.
//! * The request gate ([`Gate`]): the app's one middleware that turns credentials into a
//!   [`Principal`] for every request, and refuses unauthenticated API requests when
//!   Backstage's default auth policy is on.
//!
//! Other code reads identity only through [`Principal`] (an extractor) or
//! `portico_web::Viewer` on pages.

mod catalog;
mod config;
mod external;
mod gate;
mod pages;
mod popup;
mod routes;
mod service;
mod tokens;
mod urls;

use std::sync::Arc;

use portico_plugin::{Plugin, PluginContext, PluginError, Registrar};
pub use portico_web::{AccessRestrictions, Principal, ServicePrincipal, UserPrincipal};

pub use crate::catalog::{UserCatalog, catalog_ownership};
pub use crate::config::{
    AuthConfig, DEFAULT_GUEST_USER, DEFAULT_TOKEN_LIFETIME, GuestConfig, MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
};
pub use crate::external::ExternalAccess;
pub use crate::gate::Gate;
pub use crate::popup::popup_page;
pub use crate::service::{AuthService, GUEST_REFUSED, SESSION_COOKIE};
pub use crate::tokens::{
    IssueError, IssuedToken, TokenError, TokenFactory, USER_TOKEN_AUDIENCE, USER_TOKEN_TYPE,
};

/// The plugin id: routes under `/api/auth`.
pub const PLUGIN_ID: &str = "auth";

/// The auth plugin.
pub struct AuthPlugin {
    catalog: Arc<dyn UserCatalog>,
}

impl AuthPlugin {
    /// The plugin, reading users and groups from `catalog`.
    pub fn new(catalog: Arc<dyn UserCatalog>) -> AuthPlugin {
        AuthPlugin { catalog }
    }
}

#[async_trait::async_trait]
impl Plugin for AuthPlugin {
    fn id(&self) -> &'static str {
        PLUGIN_ID
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let config = AuthConfig::from_config(&cx.config)
            .map_err(|error| PluginError { plugin: PLUGIN_ID, message: error.to_string() })?;
        for id in &config.unsupported_providers {
            tracing::warn!(provider = %id, "auth.providers.{id} is configured, but this portal has no such sign-in provider");
        }
        if !config.open_api {
            tracing::info!("the default auth policy is on: API requests need credentials");
        }
        let tokens = TokenFactory::new(config.issuer.clone(), config.token_lifetime, cx.signing_keys.clone());
        let service = AuthService::new(tokens, self.catalog.clone(), config);
        registrar.api_routes(PLUGIN_ID, routes::router(service.clone()));
        registrar.pages(pages::router(service.clone()));
        registrar.authenticator(Arc::new(Gate::new(service)));
        Ok(())
    }
}
