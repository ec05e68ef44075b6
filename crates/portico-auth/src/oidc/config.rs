//! `auth.providers.oidc.<env>`: one OpenID Connect client per environment.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use portico_config::{Config, ConfigError};

use crate::config::invalid;
use crate::resolvers::{ResolverDefaults, SignInResolver, read_resolvers};

/// The provider id: `auth.providers.oidc`, routes under `/api/auth/oidc`.
pub const OIDC_PROVIDER_ID: &str = "oidc";
/// The scopes asked for when `scope` is not configured.
pub const DEFAULT_OIDC_SCOPE: &str = "openid profile email";
/// The annotations the annotation resolvers of this provider read unless configured otherwise:
/// a User with `oidc/email: jane@example.com` or `oidc/subject: <the provider's sub>`.
pub const OIDC_RESOLVER_DEFAULTS: ResolverDefaults =
    ResolverDefaults { email_annotation: "oidc/email", user_id_annotation: "oidc/subject" };

/// The values `prompt` may combine (OpenID Connect Core §3.1.2.1); `auto` leaves it out.
const PROMPTS: [&str; 4] = ["none", "login", "consent", "select_account"];

/// `auth.providers.oidc`: the environments by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    pub environments: BTreeMap<String, OidcEnvironment>,
}

/// `auth.providers.oidc.<env>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcEnvironment {
    /// `metadataUrl`: the provider's discovery document
    /// (`https://idp.example/.well-known/openid-configuration`).
    pub metadata_url: String,
    /// `clientId`.
    pub client_id: String,
    /// `clientSecret`.
    pub client_secret: ClientSecret,
    /// `callbackUrl`; `None` means `<backend.baseUrl>/api/auth/oidc/handler/frame`.
    pub callback_url: Option<String>,
    /// `scope` (default [`DEFAULT_OIDC_SCOPE`]) followed by `additionalScopes`, `openid`
    /// always among them, without repeats.
    pub scopes: Vec<String>,
    /// `prompt`, passed on to the provider (absent, or `auto`: not sent).
    pub prompt: Option<String>,
    /// `sessionDuration`: how long the refresh cookie lives (default 1000 days).
    pub session_duration: Option<Duration>,
    /// `signIn.resolvers`; without any, sign-in answers carry no Backstage identity.
    pub resolvers: Vec<SignInResolver>,
}

/// A client secret: compared and sent, never shown (`Debug` prints a placeholder).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    /// The secret itself, for the token endpoint.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl OidcConfig {
    /// Reads `auth.providers.oidc`; errors name the key.
    pub fn from_config(config: &Config) -> Result<OidcConfig, ConfigError> {
        const KEY: &str = "auth.providers.oidc";
        let names: Vec<String> =
            config.object(KEY)?.into_iter().flat_map(|object| object.keys().cloned()).collect();
        let mut environments = BTreeMap::new();
        for env in names {
            let environment = OidcEnvironment::from_config(config, &format!("{KEY}.{env}"))?;
            environments.insert(env, environment);
        }
        if environments.is_empty() {
            return Err(invalid(
                KEY,
                "configure at least one environment, such as `development: {metadataUrl, clientId, clientSecret}`",
            ));
        }
        Ok(OidcConfig { environments })
    }
}

impl OidcEnvironment {
    fn from_config(config: &Config, at: &str) -> Result<OidcEnvironment, ConfigError> {
        let required = |name: &str| -> Result<String, ConfigError> {
            let key = format!("{at}.{name}");
            match config.string(&key)? {
                Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                _ => Err(invalid(&key, format!("the OIDC provider needs `{name}`"))),
            }
        };
        let metadata_url = required("metadataUrl")?;
        check_http_url(&format!("{at}.metadataUrl"), &metadata_url)?;
        let client_id = required("clientId")?;
        let client_secret = ClientSecret(required("clientSecret")?);
        let callback_key = format!("{at}.callbackUrl");
        let callback_url = config.string(&callback_key)?;
        if let Some(url) = &callback_url {
            check_http_url(&callback_key, url)?;
        }
        let mut scopes = Vec::new();
        let scope = scope_list(config, &format!("{at}.scope"))?;
        let base =
            if scope.is_empty() { DEFAULT_OIDC_SCOPE.split(' ').map(str::to_owned).collect() } else { scope };
        for scope in std::iter::once("openid".to_owned())
            .chain(base)
            .chain(scope_list(config, &format!("{at}.additionalScopes"))?)
        {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let prompt_key = format!("{at}.prompt");
        let prompt = match config.string(&prompt_key)? {
            None => None,
            Some(prompt) if prompt.trim() == "auto" => None,
            Some(prompt) => {
                if let Some(unknown) = prompt.split_whitespace().find(|value| !PROMPTS.contains(value)) {
                    return Err(invalid(
                        &prompt_key,
                        format!(
                            "unknown prompt '{unknown}'; expected auto, or any of none, login, consent, select_account"
                        ),
                    ));
                }
                Some(prompt.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|prompt| !prompt.is_empty())
            }
        };
        Ok(OidcEnvironment {
            metadata_url,
            client_id,
            client_secret,
            callback_url,
            scopes,
            prompt,
            session_duration: config.duration(&format!("{at}.sessionDuration"))?,
            resolvers: read_resolvers(config, &format!("{at}.signIn.resolvers"), OIDC_RESOLVER_DEFAULTS)?,
        })
    }
}

/// A scope setting: a string of scopes separated by spaces or commas, or a list of them.
fn scope_list(config: &Config, key: &str) -> Result<Vec<String>, ConfigError> {
    let raw = match config.get(key) {
        None => return Ok(Vec::new()),
        Some(serde_json::Value::Array(_)) => config.string_list(key)?.unwrap_or_default(),
        Some(_) => config.string(key)?.into_iter().collect(),
    };
    Ok(raw
        .iter()
        .flat_map(|text| text.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

fn check_http_url(key: &str, text: &str) -> Result<(), ConfigError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(invalid(key, format!("'{text}' is not an absolute http(s) URL"))),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::resolvers::ResolverRule;

    fn read(yaml: &str) -> Result<OidcConfig, ConfigError> {
        let config = Config::from_yaml_str(yaml, Path::new("."), &|_| None).expect("yaml");
        OidcConfig::from_config(&config)
    }

    const MINIMAL: &str = "auth:\n  providers:\n    oidc:\n      development:\n        metadataUrl: https://idp.example/.well-known/openid-configuration\n        clientId: portal\n        clientSecret: sup3r-s3cret-value\n";

    #[test]
    fn defaults_of_an_environment() {
        let config = read(MINIMAL).expect("valid");
        let env = &config.environments["development"];
        assert_eq!(env.metadata_url, "https://idp.example/.well-known/openid-configuration");
        assert_eq!(env.client_id, "portal");
        assert_eq!(env.client_secret.expose(), "sup3r-s3cret-value");
        assert_eq!(env.scopes, ["openid", "profile", "email"]);
        assert_eq!(
            (env.callback_url.as_deref(), env.prompt.as_deref(), env.session_duration),
            (None, None, None)
        );
        assert!(env.resolvers.is_empty());
    }

    #[test]
    fn every_setting_of_several_environments() {
        let config = read(&format!(
            "{MINIMAL}        scope: openid email\n        additionalScopes: [groups, email]\n        prompt: login consent\n        sessionDuration: {{ hours: 8 }}\n        callbackUrl: https://portal.example/api/auth/oidc/handler/frame\n        signIn:\n          resolvers:\n            - resolver: emailMatchingUserEntityAnnotation\n      production:\n        metadataUrl: https://idp.example/prod\n        clientId: prod\n        clientSecret: other-secret\n        scope: email,profile\n        prompt: auto\n"
        ))
        .expect("valid");
        let dev = &config.environments["development"];
        assert_eq!(dev.scopes, ["openid", "email", "groups"]);
        assert_eq!(dev.prompt.as_deref(), Some("login consent"));
        assert_eq!(dev.session_duration, Some(Duration::from_secs(8 * 3600)));
        assert_eq!(dev.callback_url.as_deref(), Some("https://portal.example/api/auth/oidc/handler/frame"));
        assert_eq!(
            dev.resolvers[0].rule,
            ResolverRule::EmailMatchingUserEntityAnnotation { annotation: "oidc/email".into() }
        );
        let prod = &config.environments["production"];
        assert_eq!(prod.scopes, ["openid", "email", "profile"], "openid is always asked for");
        assert_eq!(prod.prompt, None);
    }

    #[test]
    fn errors_name_the_key_and_never_show_the_secret() {
        let env = "auth.providers.oidc.development";
        let cases = [
            (MINIMAL.replace("        clientId: portal\n", ""), format!("{env}.clientId")),
            (
                MINIMAL.replace("clientSecret: sup3r-s3cret-value", "clientSecret: ''"),
                format!("{env}.clientSecret"),
            ),
            (
                MINIMAL.replace("clientSecret: sup3r-s3cret-value", "clientSecret: [sup3r-s3cret-value]"),
                format!("{env}.clientSecret"),
            ),
            (
                MINIMAL.replace("https://idp.example/.well-known/openid-configuration", "idp.example"),
                format!("{env}.metadataUrl"),
            ),
            (format!("{MINIMAL}        prompt: always\n"), format!("{env}.prompt")),
            (format!("{MINIMAL}        callbackUrl: /handler\n"), format!("{env}.callbackUrl")),
            (format!("{MINIMAL}        sessionDuration: soon\n"), format!("{env}.sessionDuration")),
            (
                format!(
                    "{MINIMAL}        signIn:\n          resolvers:\n            - resolver: guessTheUser\n"
                ),
                format!("{env}.signIn.resolvers.0.resolver"),
            ),
            ("auth:\n  providers:\n    oidc: {}\n".to_owned(), "auth.providers.oidc".to_owned()),
        ];
        for (yaml, key) in cases {
            let error = read(&yaml).expect_err(&key).to_string();
            assert!(error.contains(&format!("'{key}'")), "{key}: {error}");
            assert!(!error.contains("sup3r-s3cret-value"), "the error shows the secret: {error}");
        }
    }

    #[test]
    fn debug_output_hides_the_client_secret() {
        let config = read(MINIMAL).expect("valid");
        let debug = format!("{config:?}");
        assert!(debug.contains("portal") && debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains("sup3r-s3cret-value"), "{debug}");
    }
}
