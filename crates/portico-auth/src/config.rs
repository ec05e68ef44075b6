//! The `auth.*` keys and the `backend.auth.*` keys this plugin reads.

use std::time::Duration;

use portico_config::backend::BackendConfig;
use portico_config::{Config, ConfigError};
use portico_model::{EntityRef, RefDefaults};

use crate::external::ExternalAccess;
use crate::oidc::{OIDC_PROVIDER_ID, OidcConfig};

/// `auth.backstageTokenExpiration` when absent (Backstage's default).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// The shortest token lifetime; shorter settings are raised to it.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// The longest token lifetime; longer settings are lowered to it.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// The guest user when `auth.providers.guest.userEntityRef` is absent.
pub const DEFAULT_GUEST_USER: &str = "user:development/guest";

/// Everything the plugin is configured with.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Issuer of user tokens and base of the plugin's own URLs: `<backend.baseUrl>/api/auth`.
    pub issuer: String,
    /// The app's origin (`app.baseUrl` without its path): where popups post their answer and
    /// the only origin return addresses may point to.
    pub app_origin: String,
    /// Whether the session cookie is `Secure` (`app.baseUrl` is https).
    pub secure_cookies: bool,
    /// `auth.backstageTokenExpiration`, kept between 10 minutes and 24 hours.
    pub token_lifetime: Duration,
    /// `auth.environment` (default `development`).
    pub environment: String,
    /// `auth.providers.guest`, when configured.
    pub guest: Option<GuestConfig>,
    /// `auth.providers.oidc`, when configured.
    pub oidc: Option<OidcConfig>,
    /// The ids under `auth.providers` this portal has no provider for.
    pub unsupported_providers: Vec<String>,
    /// `backend.auth.externalAccess`.
    pub external_access: ExternalAccess,
    /// `backend.auth.dangerouslyDisableDefaultAuthPolicy`: serve the API without credentials.
    /// Portico's default is `true` for now (Backstage's is `false`).
    pub open_api: bool,
}

/// `auth.providers.guest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestConfig {
    /// `userEntityRef`, canonical (`user:development/guest`).
    pub user_entity_ref: String,
    /// `ownershipEntityRefs` (default: the user itself), canonical; used when the user is not
    /// in the catalog.
    pub ownership_entity_refs: Vec<String>,
    /// `dangerouslyAllowOutsideDevelopment`.
    pub allow_outside_development: bool,
}

impl AuthConfig {
    /// Reads the plugin's keys; errors name the key.
    pub fn from_config(config: &Config) -> Result<AuthConfig, ConfigError> {
        let backend = BackendConfig::from_config(config)?;
        let app_origin = origin_of(&backend.app_base_url);
        let secure_cookies = backend.app_base_url.starts_with("https://");
        let token_lifetime = match config.duration("auth.backstageTokenExpiration")? {
            None => DEFAULT_TOKEN_LIFETIME,
            // Whole seconds, like the claims that carry it.
            Some(lifetime) => Duration::from_secs(lifetime.as_secs_f64().round() as u64)
                .clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME),
        };
        let environment = config.string("auth.environment")?.unwrap_or_else(|| "development".to_owned());
        let mut guest = None;
        let mut oidc = None;
        let mut unsupported_providers = Vec::new();
        for id in config.object("auth.providers")?.map(|providers| providers.keys()).into_iter().flatten() {
            match id.as_str() {
                "guest" => guest = Some(GuestConfig::from_config(config)?),
                OIDC_PROVIDER_ID => oidc = Some(OidcConfig::from_config(config)?),
                _ => unsupported_providers.push(id.clone()),
            }
        }
        Ok(AuthConfig {
            issuer: format!("{}/api/auth", backend.base_url),
            app_origin,
            secure_cookies,
            token_lifetime,
            environment,
            guest,
            oidc,
            unsupported_providers,
            external_access: ExternalAccess::from_config(config)?,
            open_api: config.bool("backend.auth.dangerouslyDisableDefaultAuthPolicy")?.unwrap_or(true),
        })
    }

    /// Whether `auth.environment` is `development`, the only one the guest provider works in
    /// unless it is allowed outside of it.
    pub fn is_development(&self) -> bool {
        self.environment == "development"
    }
}

impl GuestConfig {
    fn from_config(config: &Config) -> Result<GuestConfig, ConfigError> {
        const KEY: &str = "auth.providers.guest";
        let user_key = format!("{KEY}.userEntityRef");
        let user_entity_ref = match config.string(&user_key)? {
            Some(text) => canonical_user_ref(&user_key, &text)?,
            None => DEFAULT_GUEST_USER.to_owned(),
        };
        let ownership_key = format!("{KEY}.ownershipEntityRefs");
        let ownership_entity_refs = match config.string_list(&ownership_key)? {
            Some(refs) => {
                refs.iter().map(|text| canonical_ref(&ownership_key, text)).collect::<Result<Vec<_>, _>>()?
            }
            None => vec![user_entity_ref.clone()],
        };
        Ok(GuestConfig {
            user_entity_ref,
            ownership_entity_refs,
            allow_outside_development: config
                .bool(&format!("{KEY}.dangerouslyAllowOutsideDevelopment"))?
                .unwrap_or(false),
        })
    }
}

/// A value of the right type that is not acceptable, with the key named.
pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), message: message.into() }
}

/// `scheme://host[:port]` of an absolute URL (lower-cased, as browsers send `Origin`).
pub(crate) fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => url.to_ascii_lowercase(),
    }
}

/// A full entity ref (`kind:namespace/name`), canonical.
fn canonical_ref(key: &str, text: &str) -> Result<String, ConfigError> {
    EntityRef::parse(text.trim(), RefDefaults::default())
        .map(|entity_ref| entity_ref.canonical())
        .map_err(|error| invalid(key, format!("'{text}' is not an entity ref: {}", error.message)))
}

/// A full ref of a User entity, canonical.
fn canonical_user_ref(key: &str, text: &str) -> Result<String, ConfigError> {
    let canonical = canonical_ref(key, text)?;
    if canonical.starts_with("user:") {
        Ok(canonical)
    } else {
        Err(invalid(key, format!("'{text}' is not a user entity ref such as 'user:default/guest'")))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn read(yaml: &str) -> Result<AuthConfig, ConfigError> {
        let config = Config::from_yaml_str(yaml, Path::new("."), &|_| None).expect("yaml");
        AuthConfig::from_config(&config)
    }

    #[test]
    fn defaults() {
        let config = read("backend:\n  baseUrl: http://portal.test:7007\n").expect("valid");
        assert_eq!(config.issuer, "http://portal.test:7007/api/auth");
        assert_eq!(config.app_origin, "http://portal.test:7007");
        assert!(!config.secure_cookies);
        assert_eq!(config.token_lifetime, DEFAULT_TOKEN_LIFETIME);
        assert!(config.is_development());
        assert_eq!(config.guest, None);
        assert_eq!(config.oidc, None);
        assert!(config.open_api, "the API stays open unless the default auth policy is turned on");
    }

    #[test]
    fn token_lifetime_is_kept_within_bounds() {
        let lifetime = |value: &str| {
            read(&format!("auth:\n  backstageTokenExpiration: {value}\n")).expect("valid").token_lifetime
        };
        assert_eq!(lifetime("{ minutes: 30 }"), Duration::from_secs(1800));
        assert_eq!(lifetime("{ minutes: 1 }"), MIN_TOKEN_LIFETIME);
        assert_eq!(lifetime("{ days: 3 }"), MAX_TOKEN_LIFETIME);
        assert_eq!(lifetime("2h"), Duration::from_secs(7200));
    }

    #[test]
    fn guest_provider_settings() {
        let config = read(
            "app:\n  baseUrl: https://portal.test/\nauth:\n  environment: production\n  providers:\n    guest:\n      userEntityRef: User:Default/Jane\n      ownershipEntityRefs: [group:default/Team-A]\n      dangerouslyAllowOutsideDevelopment: true\n    github: {}\n",
        )
        .expect("valid");
        assert!(config.secure_cookies);
        assert_eq!(config.app_origin, "https://portal.test");
        assert!(!config.is_development());
        assert_eq!(
            config.guest,
            Some(GuestConfig {
                user_entity_ref: "user:default/jane".into(),
                ownership_entity_refs: vec!["group:default/team-a".into()],
                allow_outside_development: true,
            })
        );
        assert_eq!(config.unsupported_providers, ["github"]);

        let default = read("auth:\n  providers:\n    guest: {}\n").expect("valid").guest.expect("guest");
        assert_eq!(default.user_entity_ref, DEFAULT_GUEST_USER);
        assert_eq!(default.ownership_entity_refs, [DEFAULT_GUEST_USER]);
        assert!(!default.allow_outside_development);
    }

    #[test]
    fn a_guest_that_is_not_a_user_is_refused_with_the_key_named() {
        let error = read("auth:\n  providers:\n    guest:\n      userEntityRef: group:default/team\n")
            .expect_err("not a user");
        assert!(error.to_string().contains("auth.providers.guest.userEntityRef"), "{error}");
    }

    #[test]
    fn the_default_auth_policy_is_turned_on_by_setting_the_flag_to_false() {
        let config =
            read("backend:\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: false\n").expect("valid");
        assert!(!config.open_api);
    }
}
