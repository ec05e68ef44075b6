//! Sign-in resolvers (other-apis.md §4.4): which catalog user a person who proved who they are
//! at a sign-in provider is. A provider reads its `signIn.resolvers` with [`read_resolvers`]
//! and, after each successful authentication, runs them with [`resolve_user`]: in order, the
//! first match wins, and no match refuses the sign-in with [`SIGN_IN_UNRESOLVED`].

use portico_config::{Config, ConfigError};
use portico_model::entity_ref::canonical_ref;
use portico_model::validation::is_valid_object_name;
use portico_model::{DEFAULT_NAMESPACE, EntityRef};
use portico_web::ApiError;
use serde_json::{Value, json};

use crate::catalog::{UserCatalog, catalog_ownership};
use crate::config::invalid;

/// Backstage's message when no resolver finds the user.
pub const SIGN_IN_UNRESOLVED: &str = "Failed to sign-in, unable to resolve user identity";

/// The option that lets a resolver sign in someone the catalog does not know.
const ALLOW_WITHOUT_CATALOG: &str = "dangerouslyAllowSignInWithoutUserInCatalog";

/// How a resolver finds the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolverRule {
    /// `emailMatchingUserEntityProfileEmail`: the User whose `spec.profile.email` is the email.
    EmailMatchingUserEntityProfileEmail,
    /// `emailLocalPartMatchingUserEntityName`: `user:default/<local part of the email>`; with
    /// `allowedDomains`, only for emails of those domains (compared case-insensitively).
    EmailLocalPartMatchingUserEntityName { allowed_domains: Option<Vec<String>> },
    /// `emailMatchingUserEntityAnnotation`: the User whose annotation `annotation` is the email.
    EmailMatchingUserEntityAnnotation { annotation: String },
    /// `userIdMatchingUserEntityAnnotation`: the User whose annotation `annotation` is the
    /// provider's id of the person (OIDC's `sub`).
    UserIdMatchingUserEntityAnnotation { annotation: String },
}

/// One configured resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInResolver {
    pub rule: ResolverRule,
    /// `dangerouslyAllowSignInWithoutUserInCatalog`: when the catalog has no such user, sign in
    /// as `user:default/<name>` (the email's local part, or the user id) owning through itself
    /// alone. Never overrides `allowedDomains`, nor an email that matches several users.
    pub allow_without_catalog: bool,
}

/// The annotations a provider's annotation resolvers read when `annotation` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolverDefaults {
    pub email_annotation: &'static str,
    pub user_id_annotation: &'static str,
}

/// What the provider vouches for about the person signing in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInIdentity {
    pub email: Option<String>,
    /// The provider's stable id of the person (OIDC's `sub`).
    pub user_id: Option<String>,
}

/// The user a sign-in resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// Canonical ref (`user:default/jane`).
    pub user_entity_ref: String,
    /// The user, its groups and their parent groups (the user alone when it is not in the
    /// catalog).
    pub ownership_entity_refs: Vec<String>,
    /// The resolver that found it (`emailMatchingUserEntityProfileEmail`).
    pub resolver: &'static str,
}

/// What one resolver concluded.
enum Outcome {
    /// This catalog user.
    Found(Value),
    /// Nobody in the catalog, but the resolver may sign in this name.
    NotInCatalog(String),
    /// No match, and no fallback.
    NoMatch,
}

impl SignInResolver {
    /// The resolver's config name.
    pub fn name(&self) -> &'static str {
        match self.rule {
            ResolverRule::EmailMatchingUserEntityProfileEmail => "emailMatchingUserEntityProfileEmail",
            ResolverRule::EmailLocalPartMatchingUserEntityName { .. } => {
                "emailLocalPartMatchingUserEntityName"
            }
            ResolverRule::EmailMatchingUserEntityAnnotation { .. } => "emailMatchingUserEntityAnnotation",
            ResolverRule::UserIdMatchingUserEntityAnnotation { .. } => "userIdMatchingUserEntityAnnotation",
        }
    }

    async fn run(&self, identity: &SignInIdentity, catalog: &dyn UserCatalog) -> Outcome {
        match &self.rule {
            ResolverRule::EmailMatchingUserEntityProfileEmail => {
                let Some(email) = &identity.email else { return Outcome::NoMatch };
                self.search(catalog, "spec.profile.email", email, local_part(email)).await
            }
            ResolverRule::EmailLocalPartMatchingUserEntityName { allowed_domains } => {
                let Some((local, domain)) =
                    identity.email.as_deref().and_then(|email| email.rsplit_once('@'))
                else {
                    return Outcome::NoMatch;
                };
                let allowed = allowed_domains
                    .as_ref()
                    .is_none_or(|domains| domains.iter().any(|allowed| allowed.eq_ignore_ascii_case(domain)));
                if !allowed {
                    tracing::info!(resolver = self.name(), "the email's domain is not an allowed domain");
                    return Outcome::NoMatch;
                }
                if !is_valid_object_name(local) {
                    return Outcome::NoMatch;
                }
                match catalog.entity(&canonical_ref("user", DEFAULT_NAMESPACE, local)).await {
                    Some(user) => Outcome::Found(user),
                    None => self.fallback(local),
                }
            }
            ResolverRule::EmailMatchingUserEntityAnnotation { annotation } => {
                let Some(email) = &identity.email else { return Outcome::NoMatch };
                let key = format!("metadata.annotations.{annotation}");
                self.search(catalog, &key, email, local_part(email)).await
            }
            ResolverRule::UserIdMatchingUserEntityAnnotation { annotation } => {
                let Some(user_id) = &identity.user_id else { return Outcome::NoMatch };
                self.search(catalog, &format!("metadata.annotations.{annotation}"), user_id, user_id).await
            }
        }
    }

    /// The one User whose `key` is `value`; `fallback_name` when there is none and the
    /// resolver may sign in without the catalog.
    async fn search(
        &self,
        catalog: &dyn UserCatalog,
        key: &str,
        value: &str,
        fallback_name: &str,
    ) -> Outcome {
        let filter = json!({"kind": "user", key: value});
        let Some(mut users) = catalog.find_entities(&filter).await else {
            tracing::warn!(
                resolver = self.name(),
                "the catalog cannot be searched by {key}, so this sign-in resolver finds nobody"
            );
            return Outcome::NoMatch;
        };
        match users.len() {
            0 => self.fallback(fallback_name),
            1 => Outcome::Found(users.remove(0)),
            matches => {
                tracing::warn!(resolver = self.name(), matches, "several users match {key}; none is chosen");
                Outcome::NoMatch
            }
        }
    }

    fn fallback(&self, name: &str) -> Outcome {
        if self.allow_without_catalog { Outcome::NotInCatalog(name.to_owned()) } else { Outcome::NoMatch }
    }
}

fn local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

/// Runs `resolvers` in order until one finds the user; `403 NotAllowedError`
/// ([`SIGN_IN_UNRESOLVED`]) when none does.
pub async fn resolve_user(
    resolvers: &[SignInResolver],
    identity: &SignInIdentity,
    catalog: &dyn UserCatalog,
) -> Result<ResolvedUser, ApiError> {
    for resolver in resolvers {
        match resolver.run(identity, catalog).await {
            Outcome::Found(user) => {
                let Some(user_ref) = EntityRef::from_entity(&user).map(|r| r.canonical()) else { continue };
                if let Some(ownership_entity_refs) = catalog_ownership(catalog, &user_ref).await {
                    return Ok(ResolvedUser {
                        user_entity_ref: user_ref,
                        ownership_entity_refs,
                        resolver: resolver.name(),
                    });
                }
            }
            Outcome::NotInCatalog(name) => {
                if !is_valid_object_name(&name) {
                    tracing::info!(
                        resolver = resolver.name(),
                        "the name to sign in is not a valid entity name"
                    );
                    continue;
                }
                let user_ref = canonical_ref("user", DEFAULT_NAMESPACE, &name);
                tracing::warn!(
                    resolver = resolver.name(),
                    user = %user_ref,
                    "signing in a user who is not in the catalog ({ALLOW_WITHOUT_CATALOG})"
                );
                return Ok(ResolvedUser {
                    ownership_entity_refs: vec![user_ref.clone()],
                    user_entity_ref: user_ref,
                    resolver: resolver.name(),
                });
            }
            Outcome::NoMatch => {}
        }
    }
    Err(ApiError::not_allowed(SIGN_IN_UNRESOLVED))
}

/// The resolvers under `key` (`auth.providers.<id>.<env>.signIn.resolvers`), a list of
/// `{resolver: <name>, ...options}`; an empty list when the key is absent. Errors name the key
/// of the offending entry.
pub fn read_resolvers(
    config: &Config,
    key: &str,
    defaults: ResolverDefaults,
) -> Result<Vec<SignInResolver>, ConfigError> {
    let count = config.array(key)?.map_or(0, Vec::len);
    let mut resolvers = Vec::with_capacity(count);
    for index in 0..count {
        let at = format!("{key}.{index}");
        let name_key = format!("{at}.resolver");
        let name = config
            .string(&name_key)?
            .ok_or_else(|| invalid(&name_key, "each sign-in resolver names its `resolver`"))?;
        let annotation = |default: &str| -> Result<String, ConfigError> {
            let annotation_key = format!("{at}.annotation");
            match config.string(&annotation_key)? {
                Some(annotation) if annotation.trim().is_empty() => {
                    Err(invalid(&annotation_key, "the annotation is empty"))
                }
                Some(annotation) => Ok(annotation.trim().to_owned()),
                None => Ok(default.to_owned()),
            }
        };
        let (rule, options): (ResolverRule, &[&str]) = match name.as_str() {
            "emailMatchingUserEntityProfileEmail" => (ResolverRule::EmailMatchingUserEntityProfileEmail, &[]),
            "emailLocalPartMatchingUserEntityName" => {
                let domains_key = format!("{at}.allowedDomains");
                let allowed_domains = config.string_list(&domains_key)?;
                if allowed_domains.as_ref().is_some_and(Vec::is_empty) {
                    return Err(invalid(&domains_key, "an empty list would refuse every email"));
                }
                (ResolverRule::EmailLocalPartMatchingUserEntityName { allowed_domains }, &["allowedDomains"])
            }
            "emailMatchingUserEntityAnnotation" => (
                ResolverRule::EmailMatchingUserEntityAnnotation {
                    annotation: annotation(defaults.email_annotation)?,
                },
                &["annotation"],
            ),
            "userIdMatchingUserEntityAnnotation" => (
                ResolverRule::UserIdMatchingUserEntityAnnotation {
                    annotation: annotation(defaults.user_id_annotation)?,
                },
                &["annotation"],
            ),
            other => {
                return Err(invalid(
                    &name_key,
                    format!(
                        "unknown sign-in resolver '{other}'; expected one of emailMatchingUserEntityProfileEmail, emailLocalPartMatchingUserEntityName, emailMatchingUserEntityAnnotation, userIdMatchingUserEntityAnnotation"
                    ),
                ));
            }
        };
        for option in config.object(&at)?.into_iter().flat_map(|object| object.keys()) {
            if option != "resolver" && option != ALLOW_WITHOUT_CATALOG && !options.contains(&option.as_str())
            {
                return Err(invalid(
                    &format!("{at}.{option}"),
                    format!("the '{name}' sign-in resolver has no option '{option}'"),
                ));
            }
        }
        let allow_without_catalog = config.bool(&format!("{at}.{ALLOW_WITHOUT_CATALOG}"))?.unwrap_or(false);
        resolvers.push(SignInResolver { rule, allow_without_catalog });
    }
    Ok(resolvers)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use portico_web::ErrorKind;

    use super::*;
    use crate::catalog::tests::FixedCatalog;

    const DEFAULTS: ResolverDefaults =
        ResolverDefaults { email_annotation: "oidc/email", user_id_annotation: "oidc/subject" };
    const KEY: &str = "auth.providers.oidc.development.signIn.resolvers";

    fn read(items: &str) -> Result<Vec<SignInResolver>, ConfigError> {
        let yaml = format!(
            "auth:\n  providers:\n    oidc:\n      development:\n        signIn:\n          resolvers:\n{items}"
        );
        let config = Config::from_yaml_str(&yaml, Path::new("."), &|_| None).expect("yaml");
        read_resolvers(&config, KEY, DEFAULTS)
    }

    fn resolver(rule: ResolverRule) -> SignInResolver {
        SignInResolver { rule, allow_without_catalog: false }
    }

    fn identity(email: &str, user_id: &str) -> SignInIdentity {
        SignInIdentity { email: Some(email.to_owned()), user_id: Some(user_id.to_owned()) }
    }

    /// Jane (profile email, annotations, member of team-a under the department), Joe (same
    /// profile email as Jill: ambiguous) and Jill.
    fn catalog() -> FixedCatalog {
        FixedCatalog::default()
            .with_user(
                "jane",
                json!({"profile": {"email": "Jane@Example.com"}}),
                json!({"oidc/email": "jane@corp.example", "oidc/subject": "sub-jane"}),
                &[("memberOf", "group:default/team-a")],
            )
            .with("Group", "team-a", &[("childOf", "group:default/department")])
            .with("Group", "department", &[])
            .with_user("joe", json!({"profile": {"email": "shared@example.com"}}), json!({}), &[])
            .with_user("jill", json!({"profile": {"email": "shared@example.com"}}), json!({}), &[])
    }

    #[test]
    fn resolvers_are_read_with_their_options_and_defaults() {
        let resolvers = read(
            "            - resolver: emailMatchingUserEntityProfileEmail\n            - resolver: emailLocalPartMatchingUserEntityName\n              allowedDomains: [example.com]\n              dangerouslyAllowSignInWithoutUserInCatalog: true\n            - resolver: emailMatchingUserEntityAnnotation\n            - resolver: userIdMatchingUserEntityAnnotation\n              annotation: idp.example/id\n",
        )
        .expect("valid");
        assert_eq!(
            resolvers,
            [
                resolver(ResolverRule::EmailMatchingUserEntityProfileEmail),
                SignInResolver {
                    rule: ResolverRule::EmailLocalPartMatchingUserEntityName {
                        allowed_domains: Some(vec!["example.com".into()])
                    },
                    allow_without_catalog: true,
                },
                resolver(ResolverRule::EmailMatchingUserEntityAnnotation { annotation: "oidc/email".into() }),
                resolver(ResolverRule::UserIdMatchingUserEntityAnnotation {
                    annotation: "idp.example/id".into()
                }),
            ]
        );
    }

    #[test]
    fn bad_resolver_entries_name_their_key() {
        let cases = [
            (
                "            - resolver: usernameMatchingUserEntityName\n",
                format!("{KEY}.0.resolver"),
                "unknown sign-in resolver",
            ),
            ("            - allowedDomains: [a.test]\n", format!("{KEY}.0.resolver"), "names its `resolver`"),
            (
                "            - resolver: emailMatchingUserEntityProfileEmail\n            - resolver: emailMatchingUserEntityProfileEmail\n              annotation: x/y\n",
                format!("{KEY}.1.annotation"),
                "has no option 'annotation'",
            ),
            (
                "            - resolver: emailLocalPartMatchingUserEntityName\n              allowedDomains: []\n",
                format!("{KEY}.0.allowedDomains"),
                "refuse every email",
            ),
        ];
        for (items, key, message) in cases {
            let error = read(items).expect_err(message).to_string();
            assert!(error.contains(&format!("'{key}'")) && error.contains(message), "{error}");
        }
    }

    #[tokio::test]
    async fn each_resolver_finds_its_user_with_groups_and_parents() {
        let catalog = catalog();
        let jane = ["user:default/jane", "group:default/team-a", "group:default/department"];
        for rule in [
            ResolverRule::EmailMatchingUserEntityProfileEmail,
            ResolverRule::EmailLocalPartMatchingUserEntityName { allowed_domains: None },
            ResolverRule::EmailMatchingUserEntityAnnotation { annotation: "oidc/email".into() },
            ResolverRule::UserIdMatchingUserEntityAnnotation { annotation: "oidc/subject".into() },
        ] {
            let email = match rule {
                ResolverRule::EmailMatchingUserEntityAnnotation { .. } => "JANE@corp.example",
                _ => "jane@example.com",
            };
            let resolver = resolver(rule);
            let user = resolve_user(std::slice::from_ref(&resolver), &identity(email, "sub-jane"), &catalog)
                .await
                .unwrap_or_else(|e| panic!("{}: {}", resolver.name(), e.message));
            assert_eq!(user.user_entity_ref, "user:default/jane", "{}", resolver.name());
            assert_eq!(user.ownership_entity_refs, jane, "{}", resolver.name());
            assert_eq!(user.resolver, resolver.name());
        }
    }

    #[tokio::test]
    async fn resolvers_run_in_order_until_one_matches() {
        let catalog = catalog();
        let resolvers = [
            resolver(ResolverRule::EmailMatchingUserEntityProfileEmail),
            resolver(ResolverRule::UserIdMatchingUserEntityAnnotation { annotation: "oidc/subject".into() }),
        ];
        let user = resolve_user(&resolvers, &identity("nobody@example.com", "sub-jane"), &catalog)
            .await
            .expect("the second resolver matches");
        assert_eq!(
            (user.user_entity_ref.as_str(), user.resolver),
            ("user:default/jane", "userIdMatchingUserEntityAnnotation")
        );
        let refused = resolve_user(&resolvers, &identity("nobody@example.com", "sub-x"), &catalog)
            .await
            .expect_err("nobody matches");
        assert_eq!((refused.kind, refused.message.as_str()), (ErrorKind::NotAllowed, SIGN_IN_UNRESOLVED));
        let none = resolve_user(&[], &identity("jane@example.com", "sub-jane"), &catalog).await;
        assert!(none.is_err(), "without resolvers nobody signs in");
    }

    #[tokio::test]
    async fn allowed_domains_and_ambiguous_matches_are_never_bypassed() {
        let catalog = catalog();
        let only_corp = SignInResolver {
            rule: ResolverRule::EmailLocalPartMatchingUserEntityName {
                allowed_domains: Some(vec!["Corp.Example".into()]),
            },
            allow_without_catalog: true,
        };
        assert!(
            resolve_user(std::slice::from_ref(&only_corp), &identity("jane@example.com", "s"), &catalog)
                .await
                .is_err()
        );
        let corp =
            resolve_user(std::slice::from_ref(&only_corp), &identity("jane@corp.example", "s"), &catalog)
                .await
                .expect("an allowed domain");
        assert_eq!(corp.user_entity_ref, "user:default/jane");

        let shared = SignInResolver {
            rule: ResolverRule::EmailMatchingUserEntityProfileEmail,
            allow_without_catalog: true,
        };
        let ambiguous =
            resolve_user(std::slice::from_ref(&shared), &identity("shared@example.com", "s"), &catalog).await;
        assert!(ambiguous.is_err(), "two users share the email: neither is chosen, nor a made-up one");
    }

    #[tokio::test]
    async fn without_a_catalog_user_only_the_dangerous_option_signs_in() {
        let catalog = catalog();
        let strict = resolver(ResolverRule::EmailMatchingUserEntityProfileEmail);
        let outsider = identity("Mallory@elsewhere.test", "sub-m");
        assert!(resolve_user(std::slice::from_ref(&strict), &outsider, &catalog).await.is_err());
        let lenient = SignInResolver { allow_without_catalog: true, ..strict };
        let user = resolve_user(&[lenient], &outsider, &catalog).await.expect("allowed without the catalog");
        assert_eq!(user.user_entity_ref, "user:default/mallory");
        assert_eq!(user.ownership_entity_refs, ["user:default/mallory"]);

        let by_id = SignInResolver {
            rule: ResolverRule::UserIdMatchingUserEntityAnnotation { annotation: "oidc/subject".into() },
            allow_without_catalog: true,
        };
        let user = resolve_user(std::slice::from_ref(&by_id), &outsider, &catalog).await.expect("allowed");
        assert_eq!(user.user_entity_ref, "user:default/sub-m");
        let unnamed = resolve_user(&[by_id], &identity("x@y.test", "not a name!"), &catalog).await;
        assert!(unnamed.is_err(), "an id that is no entity name signs nobody in");
    }

    #[tokio::test]
    async fn a_catalog_that_cannot_search_leaves_only_lookups_by_name() {
        let catalog = catalog().without_search();
        let identity = identity("jane@example.com", "sub-jane");
        let by_email = SignInResolver {
            rule: ResolverRule::EmailMatchingUserEntityProfileEmail,
            allow_without_catalog: true,
        };
        assert!(
            resolve_user(std::slice::from_ref(&by_email), &identity, &catalog).await.is_err(),
            "no made-up user either"
        );
        let by_name = resolver(ResolverRule::EmailLocalPartMatchingUserEntityName { allowed_domains: None });
        let user = resolve_user(&[by_email, by_name], &identity, &catalog).await.expect("found by name");
        assert_eq!(user.resolver, "emailLocalPartMatchingUserEntityName");
    }
}
