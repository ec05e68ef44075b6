//! The OpenID Connect sign-in provider (`auth.providers.oidc`): the authorization code flow
//! with PKCE against any OpenID Connect provider, the person identified by the provider's
//! verified ID token (and user info), and the catalog user found by the configured sign-in
//! resolvers.

mod client;
mod config;
pub(crate) mod routes;

use std::collections::BTreeMap;

use portico_web::ApiError;

pub(crate) use self::client::{OidcClient, PROVIDER_TIMEOUT, Person, TokenSet};
pub use self::config::{
    ClientSecret, DEFAULT_OIDC_SCOPE, OIDC_PROVIDER_ID, OIDC_RESOLVER_DEFAULTS, OidcConfig, OidcEnvironment,
};
use crate::config::AuthConfig;
use crate::oauth::ProviderCookies;

/// One configured environment: its client and its cookies.
pub(crate) struct Environment {
    pub name: String,
    pub client: OidcClient,
    pub cookies: ProviderCookies,
}

impl Environment {
    /// The scopes to ask for: the configured ones, then those the app requested (separated
    /// by spaces or commas), without repeats.
    pub fn scope(&self, requested: Option<&str>) -> String {
        let mut scopes: Vec<&str> = self.client.settings().scopes.iter().map(String::as_str).collect();
        for scope in requested.unwrap_or_default().split([' ', ',']).filter(|scope| !scope.is_empty()) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.join(" ")
    }
}

/// The provider: its environments by name.
pub(crate) struct OidcProvider {
    environments: BTreeMap<String, Environment>,
}

impl OidcProvider {
    /// The provider as `config` describes it, calling providers with `http`.
    pub fn new(config: &OidcConfig, auth: &AuthConfig, http: reqwest::Client) -> OidcProvider {
        let environments = config
            .environments
            .iter()
            .map(|(name, settings)| {
                let callback_url = settings
                    .callback_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/{OIDC_PROVIDER_ID}/handler/frame", auth.issuer));
                let cookies = ProviderCookies::new(
                    OIDC_PROVIDER_ID,
                    &auth.issuer,
                    &callback_url,
                    &auth.app_origin,
                    settings.session_duration,
                );
                let client = OidcClient::new(http.clone(), settings.clone(), callback_url);
                (name.clone(), Environment { name: name.clone(), client, cookies })
            })
            .collect();
        OidcProvider { environments }
    }

    /// The environment a request selects with `env`: `400` without one, `404` for one that is
    /// not configured.
    pub fn environment(&self, env: Option<&str>) -> Result<&Environment, ApiError> {
        let env = env
            .filter(|env| !env.is_empty())
            .ok_or_else(|| ApiError::input("Must specify 'env' query to select environment"))?;
        self.environments.get(env).ok_or_else(|| {
            ApiError::not_found(format!(
                "No configuration available for the '{env}' environment of this provider."
            ))
        })
    }

    /// The environment `env`, if configured.
    pub fn get(&self, env: &str) -> Option<&Environment> {
        self.environments.get(env)
    }

    /// The cookies every environment shares (name and path), for clearing them.
    pub fn cookies(&self) -> Option<&ProviderCookies> {
        self.environments.values().next().map(|environment| &environment.cookies)
    }
}
