//! The auth plugin (`/api/auth`, other-apis.md §4): who is who in the portal.
//!
//! * User tokens ([`TokenFactory`]): Backstage identity tokens, ES256 with
//!   `typ: vnd.backstage.user`, signed with keys made and rotated per process whose public
//!   halves live in the store, published as a JWKS.
//! * Sign-in ([`AuthService`]): the guest provider (`auth.providers.guest`), with ownership
//!   from the catalog ([`UserCatalog`]) when the user is there; the OpenID Connect provider
//!   (`auth.providers.oidc`, below) with the catalog users its sign-in resolvers find
//!   ([`SignInResolver`]); the popup and redirect flows Backstage's frontend uses; the portal's
//!   own sign-in pages and session cookie ([`SESSION_COOKIE`]). Sign-ins and sign-outs are
//!   recorded in the audit log (`auth.sign-in`, `auth.sign-out`).
//! * Service tokens ([`ExternalAccess`]): `backend.auth.externalAccess` static tokens, with
//!   their plugin restrictions.
//! * The request gate ([`Gate`]): the app's one middleware that turns credentials into a
//!   [`Principal`] for every request, and refuses unauthenticated API requests when
//!   Backstage's default auth policy is on.
//!
//! Other code reads identity only through [`Principal`] (an extractor) or
//! `portico_web::Viewer` on pages.
//!
//! # OpenID Connect
//!
//! The authorization code flow with PKCE (`S256`) against any OpenID Connect provider, per
//! environment (`auth.environment` selects the one the portal's own sign-in page uses):
//!
//! ```yaml
//! auth:
//!   providers:
//!     oidc:
//!       development:
//!         metadataUrl: https://idp.example/.well-known/openid-configuration  # required
//!         clientId: portico                                                   # required
//!         clientSecret: ${OIDC_CLIENT_SECRET}                                 # required
//!         callbackUrl: https://portal.example/api/auth/oidc/handler/frame     # default: <backend.baseUrl>/api/auth/oidc/handler/frame
//!         scope: openid profile email   # the default; `openid` is always asked for
//!         additionalScopes: [groups]    # added to `scope`
//!         prompt: login                 # none, login, consent, select_account (combinable); auto: not sent
//!         sessionDuration: { days: 7 }  # how long the refresh cookie lives; default 1000 days
//!         signIn:
//!           resolvers:                  # tried in order until one finds the user
//!             - resolver: emailMatchingUserEntityProfileEmail
//!             - resolver: emailLocalPartMatchingUserEntityName
//!               allowedDomains: [example.com]
//!             - resolver: emailMatchingUserEntityAnnotation
//!               annotation: oidc/email          # the default
//!             - resolver: userIdMatchingUserEntityAnnotation
//!               annotation: oidc/subject        # the default; matched against the ID token's `sub`
//!               dangerouslyAllowSignInWithoutUserInCatalog: true
//! ```
//!
//! The discovery document is read at the first sign-in and kept until using it fails. The ID
//! token must be signed with RS256 or ES256 (whichever the provider advertises) by a key of the
//! provider's JWKS — an unknown key id makes the JWKS be read again once, which picks up key
//! rotation —, be issued by the provider for this client, unexpired, and carry the nonce the
//! sign-in started with. User info is read when the ID token has no email; an email the
//! provider marks unverified (`email_verified: false`) is not used. The resolvers then find
//! the catalog user, who owns through itself, its groups and their parent groups; with no
//! match the sign-in is refused (`Failed to sign-in, unable to resolve user identity`).
//! `dangerouslyAllowSignInWithoutUserInCatalog` signs in `user:default/<email local part or
//! sub>` instead. Searching by email or annotation needs a catalog that implements
//! [`UserCatalog::find_entities`].
//!
//! Routes: `/api/auth/oidc/{start, handler/frame, refresh, logout}`; cookies `oidc-nonce` and
//! `oidc-code-verifier` while a sign-in is under way, `oidc-refresh-token` holding the
//! provider's refresh token. The portal's own sign-in page starts the redirect flow, coming
//! back through `/sign-in/done`, which sets nothing itself: the handler sets the session
//! cookie, and a refused sign-in ends on a page that says what to do.

mod catalog;
mod config;
mod external;
mod gate;
mod oauth;
mod oidc;
mod pages;
mod popup;
mod resolvers;
mod routes;
mod service;
mod tokens;
mod urls;

use std::sync::Arc;

use portico_plugin::{Audit, Plugin, PluginContext, PluginError, Registrar};
pub use portico_web::{AccessRestrictions, Principal, ServicePrincipal, UserPrincipal};

pub use crate::catalog::{UserCatalog, catalog_ownership};
pub use crate::config::{
    AuthConfig, DEFAULT_GUEST_USER, DEFAULT_TOKEN_LIFETIME, GuestConfig, MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
};
pub use crate::external::ExternalAccess;
pub use crate::gate::Gate;
pub use crate::oidc::{
    ClientSecret, DEFAULT_OIDC_SCOPE, OIDC_PROVIDER_ID, OIDC_RESOLVER_DEFAULTS, OidcConfig, OidcEnvironment,
};
pub use crate::popup::popup_page;
pub use crate::resolvers::{
    ResolvedUser, ResolverDefaults, ResolverRule, SIGN_IN_UNRESOLVED, SignInIdentity, SignInResolver,
    read_resolvers, resolve_user,
};
pub use crate::service::{AUDIT_SIGN_IN, AUDIT_SIGN_OUT, AuthService, GUEST_REFUSED, SESSION_COOKIE};
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
        let http = reqwest::Client::builder().timeout(oidc::PROVIDER_TIMEOUT).build().map_err(|error| {
            PluginError { plugin: PLUGIN_ID, message: format!("no HTTP client: {error}") }
        })?;
        let service =
            AuthService::new(tokens, self.catalog.clone(), config, Audit::new(cx.audit.clone()), http);
        registrar.api_routes(PLUGIN_ID, routes::router(service.clone()));
        registrar.pages(pages::router(service.clone()));
        registrar.authenticator(Arc::new(Gate::new(service)));
        Ok(())
    }
}
