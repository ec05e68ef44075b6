//! Static service tokens: `backend.auth.externalAccess` entries of `type: static`.
//!
//! A token is never kept as text: entries are found by the SHA-256 of the presented token, so
//! the comparison does not leak where a guess first differs, and neither `Debug` output nor
//! any error message can contain a token.

use std::collections::HashMap;
use std::fmt;

use portico_config::{Config, ConfigError};
use portico_web::{AccessRestrictions, ApiError, ServicePrincipal};

use crate::config::invalid;

const KEY: &str = "backend.auth.externalAccess";
/// Backstage refuses shorter static tokens.
const MIN_TOKEN_LENGTH: usize = 8;
/// The permission actions an access restriction may name.
const ACTIONS: [&str; 4] = ["create", "read", "update", "delete"];

/// The configured static tokens.
#[derive(Clone, Default)]
pub struct ExternalAccess {
    entries: HashMap<[u8; 32], StaticEntry>,
}

#[derive(Clone)]
struct StaticEntry {
    subject: String,
    /// Per plugin id, what the token may do there; `None` when it may call every plugin.
    restrictions: Option<Vec<(String, AccessRestrictions)>>,
}

impl fmt::Debug for ExternalAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subjects: Vec<&str> = self.entries.values().map(|entry| entry.subject.as_str()).collect();
        f.debug_struct("ExternalAccess").field("subjects", &subjects).finish_non_exhaustive()
    }
}

impl ExternalAccess {
    /// Reads `backend.auth.externalAccess`. Only `type: static` is served; the legacy
    /// `backend.auth.keys` and other types are refused rather than silently ignored.
    pub fn from_config(config: &Config) -> Result<ExternalAccess, ConfigError> {
        if config.has("backend.auth.keys") {
            return Err(invalid(
                "backend.auth.keys",
                "legacy shared-secret keys are not supported; declare `type: static` tokens under backend.auth.externalAccess",
            ));
        }
        let mut access = ExternalAccess::default();
        for index in 0..config.array(KEY)?.map_or(0, Vec::len) {
            let at = format!("{KEY}.{index}");
            let kind = config.string(&format!("{at}.type"))?.unwrap_or_default();
            if kind != "static" {
                return Err(invalid(
                    &format!("{at}.type"),
                    format!("unknown type '{kind}' in {KEY}, expected one of 'static'"),
                ));
            }
            let token_key = format!("{at}.options.token");
            let token = config
                .string(&token_key)?
                .ok_or_else(|| invalid(&token_key, "a static token needs options.token"))?;
            let subject_key = format!("{at}.options.subject");
            let subject = config
                .string(&subject_key)?
                .ok_or_else(|| invalid(&subject_key, "a static token needs options.subject"))?;
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(invalid(&token_key, "Illegal token, must be a set of non-space characters"));
            }
            if token.chars().count() < MIN_TOKEN_LENGTH {
                return Err(invalid(
                    &token_key,
                    format!("Illegal token, must be at least {MIN_TOKEN_LENGTH} characters length"),
                ));
            }
            if subject.is_empty() || subject.chars().any(char::is_whitespace) {
                return Err(invalid(&subject_key, "Illegal subject, must be a set of non-space characters"));
            }
            let restrictions = read_restrictions(config, &at)?;
            if access.entries.insert(digest(&token), StaticEntry { subject, restrictions }).is_some() {
                return Err(invalid(&token_key, "Static externalAccess token was declared more than once"));
            }
        }
        Ok(access)
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of a static token calling `plugin` (the `<id>` of `/api/<id>`; `None`
    /// for pages): `None` when `token` is no static token, `403 NotAllowedError` when the
    /// token's access is restricted to other plugins (a restricted token reaches no page).
    pub fn verify(&self, token: &str, plugin: Option<&str>) -> Option<Result<ServicePrincipal, ApiError>> {
        let entry = self.entries.get(&digest(token))?;
        let access_restrictions = match &entry.restrictions {
            None => None,
            Some(restrictions) => match restrictions.iter().find(|(id, _)| Some(id.as_str()) == plugin) {
                Some((_, allowed)) => Some(allowed.clone()),
                None => {
                    let valid: Vec<String> = restrictions.iter().map(|(id, _)| format!("'{id}'")).collect();
                    return Some(Err(ApiError::not_allowed(format!(
                        "This token's access is restricted to plugin(s) {}",
                        valid.join(", ")
                    ))));
                }
            },
        };
        Some(Ok(ServicePrincipal { subject: entry.subject.clone(), access_restrictions }))
    }
}

fn digest(token: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// `accessRestrictions: [{plugin, permission?, permissionAttribute?: {action?}}]` of one entry.
fn read_restrictions(
    config: &Config,
    at: &str,
) -> Result<Option<Vec<(String, AccessRestrictions)>>, ConfigError> {
    let key = format!("{at}.accessRestrictions");
    let Some(items) = config.array(&key)? else { return Ok(None) };
    let mut restrictions: Vec<(String, AccessRestrictions)> = Vec::new();
    for index in 0..items.len() {
        let item_key = format!("{key}.{index}");
        let object = config.object(&item_key)?.into_iter().flatten();
        for name in object.map(|(name, _)| name) {
            if !["plugin", "permission", "permissionAttribute"].contains(&name.as_str()) {
                return Err(invalid(
                    &item_key,
                    format!(
                        "Invalid key '{name}' in 'accessRestrictions' config, expected one of 'plugin', 'permission', 'permissionAttribute'"
                    ),
                ));
            }
        }
        let plugin_key = format!("{item_key}.plugin");
        let plugin = config
            .string(&plugin_key)?
            .ok_or_else(|| invalid(&plugin_key, "an access restriction names its plugin"))?;
        if restrictions.iter().any(|(id, _)| *id == plugin) {
            return Err(invalid(
                &plugin_key,
                format!(
                    "Attempted to declare 'accessRestrictions' twice for plugin '{plugin}', which is not permitted"
                ),
            ));
        }
        let permission_names = string_or_list(config, &format!("{item_key}.permission"))?;
        let attribute_key = format!("{item_key}.permissionAttribute");
        for name in config.object(&attribute_key)?.into_iter().flatten().map(|(name, _)| name) {
            if name != "action" {
                return Err(invalid(
                    &attribute_key,
                    format!("Invalid key '{name}' in 'permissionAttribute' config, expected 'action'"),
                ));
            }
        }
        let action_key = format!("{attribute_key}.action");
        let permission_actions = string_or_list(config, &action_key)?;
        if let Some(action) = permission_actions.iter().find(|action| !ACTIONS.contains(&action.as_str())) {
            return Err(invalid(
                &action_key,
                format!(
                    "Invalid value '{action}' at 'action' in 'permissionAttributes' config, valid values are 'create', 'read', 'update', 'delete'"
                ),
            ));
        }
        restrictions.push((plugin, AccessRestrictions { permission_names, permission_actions }));
    }
    Ok((!restrictions.is_empty()).then_some(restrictions))
}

/// A string or a list of strings, each split at commas and spaces, without duplicates.
fn string_or_list(config: &Config, key: &str) -> Result<Vec<String>, ConfigError> {
    let raw = match config.get(key) {
        None => return Ok(Vec::new()),
        Some(serde_json::Value::Array(_)) => config.string_list(key)?.unwrap_or_default(),
        Some(_) => config.string(key)?.into_iter().collect(),
    };
    let mut values: Vec<String> = Vec::new();
    for value in raw.iter().flat_map(|text| text.split([' ', ','])).filter(|part| !part.is_empty()) {
        if !values.iter().any(|known| known == value) {
            values.push(value.to_owned());
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use portico_web::ErrorKind;

    use super::*;

    const TOKEN: &str = "s3cr3t-t0ken-for-ci";

    fn read(yaml: &str) -> Result<ExternalAccess, ConfigError> {
        let config = Config::from_yaml_str(yaml, Path::new("."), &|_| None).expect("yaml");
        ExternalAccess::from_config(&config)
    }

    fn entry(extra: &str) -> String {
        format!(
            "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: {TOKEN}\n          subject: ci-bot\n{extra}"
        )
    }

    #[test]
    fn a_static_token_is_a_service_principal() {
        let access = read(&entry("")).expect("valid");
        let principal = access.verify(TOKEN, Some("catalog")).expect("known").expect("allowed");
        assert_eq!(principal, ServicePrincipal { subject: "ci-bot".into(), access_restrictions: None });
        assert!(access.verify("s3cr3t-t0ken-for-cj", Some("catalog")).is_none(), "one character off");
        assert!(access.verify("", None).is_none());
    }

    #[test]
    fn restricted_tokens_only_reach_their_plugins() {
        let access = read(&entry(
            "        accessRestrictions:\n          - plugin: catalog\n            permission: catalog.entity.read, catalog.location.read\n            permissionAttribute:\n              action: [read]\n          - plugin: search\n",
        ))
        .expect("valid");
        let catalog = access.verify(TOKEN, Some("catalog")).expect("known").expect("allowed");
        assert_eq!(
            catalog.access_restrictions,
            Some(AccessRestrictions {
                permission_names: vec!["catalog.entity.read".into(), "catalog.location.read".into()],
                permission_actions: vec!["read".into()],
            })
        );
        let search = access.verify(TOKEN, Some("search")).expect("known").expect("allowed");
        assert_eq!(search.access_restrictions, Some(AccessRestrictions::default()));
        assert!(access.verify(TOKEN, None).expect("known").is_err(), "a restricted token reaches no page");
        let refused = access.verify(TOKEN, Some("scaffolder")).expect("known").expect_err("restricted");
        assert_eq!(refused.kind, ErrorKind::NotAllowed);
        assert_eq!(refused.message, "This token's access is restricted to plugin(s) 'catalog', 'search'");
    }

    #[test]
    fn bad_entries_are_refused_without_showing_the_token() {
        let cases = [
            (
                "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: short7!\n          subject: ci\n",
                "at least 8 characters",
            ),
            (
                "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: 'has a space in it'\n          subject: ci\n",
                "non-space characters",
            ),
            (
                "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: s3cr3t-t0ken-for-ci\n          subject: two words\n",
                "Illegal subject",
            ),
            (
                "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: s3cr3t-t0ken-for-ci, subject: a}\n      - type: static\n        options: {token: s3cr3t-t0ken-for-ci, subject: b}\n",
                "declared more than once",
            ),
            (
                "backend:\n  auth:\n    externalAccess:\n      - type: jwks\n        options: {url: 'https://idp.test/jwks'}\n",
                "unknown type 'jwks'",
            ),
            (
                "backend:\n  auth:\n    keys:\n      - secret: s3cr3t-t0ken-for-ci\n",
                "legacy shared-secret keys",
            ),
        ];
        for (yaml, expected) in cases {
            let error = read(yaml).expect_err(expected).to_string();
            assert!(error.contains(expected), "{error}");
            for secret in ["short7!", "has a space in it", TOKEN] {
                assert!(!error.contains(secret), "the error shows a token: {error}");
            }
        }
        let restriction = read(&entry(
            "        accessRestrictions:\n          - plugin: catalog\n            verb: read\n",
        ))
        .expect_err("unknown key")
        .to_string();
        assert!(restriction.contains("Invalid key 'verb'"), "{restriction}");
        let debug = format!("{:?}", read(&entry("")).expect("valid"));
        assert!(debug.contains("ci-bot") && !debug.contains(TOKEN), "{debug}");
    }
}
