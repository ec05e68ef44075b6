//! Backstage user tokens: issued as JWS compact ES256 with the header
//! `{alg: ES256, kid, typ: vnd.backstage.user}`, verified against every key the store holds.
//!
//! Signing keys (EC P-256) are made when the first token needs one and replaced after one
//! token lifetime. The private half stays in this process; the public half goes to the
//! [`SigningKeyStore`] before the key signs anything, so replicas and restarted processes
//! verify each other's tokens. The JWKS lists keys for three lifetimes after they were made
//! (a key signs for one lifetime, and its last token lives one more) and prunes older ones.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use portico_store::{Millis, SigningKeyStore, StoreError, StoredSigningKey};
use portico_web::UserPrincipal;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The JWS `typ` of user tokens.
pub const USER_TOKEN_TYPE: &str = "vnd.backstage.user";
/// The `aud` of user tokens (and what legacy tokens without `typ` are recognised by).
pub const USER_TOKEN_AUDIENCE: &str = "backstage";
/// Tokens larger than this are refused at issue time (Backstage's limit: too many ownership refs).
const MAX_TOKEN_LENGTH: usize = 32_768;
/// How far in the future `iat` may lie: clocks of replicas differ a little.
const CLOCK_SKEW: u64 = 60;

/// Why a token was refused. The messages name the rule, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWS in compact form")]
    Malformed,
    #[error("the token is signed with '{0}'; only ES256 is accepted")]
    Algorithm(String),
    #[error("the token's type '{0}' is not a Backstage user token")]
    Type(String),
    #[error("the token's audience is not 'backstage'")]
    Audience,
    #[error("the token names no known signing key")]
    UnknownKey,
    #[error("the token's signature does not match its key")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the token's claims are invalid: {0}")]
    Claims(String),
}

/// Why no token could be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the subject '{0}' is not a valid entity ref")]
    Subject(String),
    #[error(
        "Failed to issue a new user token. The resulting token is excessively large, with either too many ownership claims or too large custom claims. The following claims were requested: '{0}'"
    )]
    TooLarge(String),
    #[error("the signing key could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("a signing key could not be made: {0}")]
    Key(String),
}

/// A token just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The JWS.
    pub token: String,
    /// Who it is for.
    pub principal: UserPrincipal,
}

/// The claims of a user token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: String,
    #[serde(default)]
    ent: Option<Vec<String>>,
    aud: Option<Audience>,
    iat: u64,
    exp: u64,
}

/// `aud` as a string or a list of strings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn includes_backstage(&self) -> bool {
        match self {
            Audience::One(one) => one == USER_TOKEN_AUDIENCE,
            Audience::Many(many) => many.iter().any(|aud| aud == USER_TOKEN_AUDIENCE),
        }
    }
}

/// The protected header, read before anything is trusted.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
}

/// The key this process signs with.
#[derive(Clone)]
struct SigningKey {
    kid: String,
    key: EncodingKey,
    created_at: Millis,
}

/// The clock tokens and keys are dated by, in milliseconds since the Unix epoch.
pub(crate) type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Issues and verifies user tokens. Cheap to clone; clones share keys.
#[derive(Clone)]
pub struct TokenFactory {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    lifetime: Duration,
    store: Arc<dyn SigningKeyStore>,
    clock: Clock,
    /// One key is made at a time, by whoever finds the current one missing or too old.
    signing: Mutex<Option<SigningKey>>,
    /// Public keys by key id, as last read from the store (plus the keys made here).
    verifying: RwLock<HashMap<String, DecodingKey>>,
}

impl TokenFactory {
    /// A factory issuing tokens as `issuer` (`<backend.baseUrl>/api/auth`) valid for
    /// `lifetime`, keeping public keys in `store`.
    pub fn new(
        issuer: impl Into<String>,
        lifetime: Duration,
        store: Arc<dyn SigningKeyStore>,
    ) -> TokenFactory {
        TokenFactory::with_clock(issuer, lifetime, store, Arc::new(portico_store::now_millis))
    }

    pub(crate) fn with_clock(
        issuer: impl Into<String>,
        lifetime: Duration,
        store: Arc<dyn SigningKeyStore>,
        clock: Clock,
    ) -> TokenFactory {
        TokenFactory {
            inner: Arc::new(Inner {
                issuer: issuer.into(),
                lifetime,
                store,
                clock,
                signing: Mutex::new(None),
                verifying: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The issuer (`iss`) of the tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// How long tokens (and signing keys) live.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    fn now_millis(&self) -> Millis {
        (self.inner.clock)()
    }

    fn now_seconds(&self) -> u64 {
        u64::try_from(self.now_millis() / 1000).unwrap_or(0)
    }

    fn lifetime_millis(&self) -> Millis {
        Millis::try_from(self.inner.lifetime.as_millis()).unwrap_or(Millis::MAX)
    }

    /// Issues a token for `subject` (a user entity ref) owning through `ownership` (which
    /// should include the subject; empty means the subject alone).
    pub async fn issue(&self, subject: &str, ownership: &[String]) -> Result<IssuedToken, IssueError> {
        portico_model::EntityRef::parse(subject, portico_model::RefDefaults::default())
            .map_err(|_| IssueError::Subject(subject.to_owned()))?;
        let key = self.signing_key().await?;
        let iat = self.now_seconds();
        let exp = iat + self.inner.lifetime.as_secs();
        let ent = if ownership.is_empty() { vec![subject.to_owned()] } else { ownership.to_vec() };
        let claims = Claims {
            iss: Some(self.inner.issuer.clone()),
            sub: subject.to_owned(),
            ent: Some(ent.clone()),
            aud: Some(Audience::One(USER_TOKEN_AUDIENCE.to_owned())),
            iat,
            exp,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        header.typ = Some(USER_TOKEN_TYPE.to_owned());
        let token =
            jsonwebtoken::encode(&header, &claims, &key.key).map_err(|e| IssueError::Key(e.to_string()))?;
        if token.len() > MAX_TOKEN_LENGTH {
            let requested = serde_json::to_string(&claims).unwrap_or_default();
            return Err(IssueError::TooLarge(requested));
        }
        tracing::info!(subject, ownership = ?ent, "issued a user token");
        Ok(IssuedToken {
            token,
            principal: UserPrincipal {
                user_entity_ref: subject.to_owned(),
                ownership_entity_refs: ent,
                expires_at: exp,
            },
        })
    }

    /// The key to sign with: the current one, or a new one when there is none or it is older
    /// than a token lifetime. A new key is used only once its public half is stored.
    async fn signing_key(&self) -> Result<SigningKey, IssueError> {
        let mut current = self.inner.signing.lock().await;
        let now = self.now_millis();
        if let Some(key) = current.as_ref().filter(|key| now < key.created_at + self.lifetime_millis()) {
            return Ok(key.clone());
        }
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| IssueError::Key("key generation failed".to_owned()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| IssueError::Key("the generated key could not be read".to_owned()))?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..65]));
        let kid = uuid::Uuid::new_v4().to_string();
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"});
        let stored = StoredSigningKey { kid: kid.clone(), public_jwk: jwk.to_string(), created_at: now };
        self.inner.store.add_signing_key(&stored).await?;
        let verifying =
            DecodingKey::from_ec_components(&x, &y).map_err(|e| IssueError::Key(e.to_string()))?;
        self.verifying_keys_mut().insert(kid.clone(), verifying);
        tracing::info!(kid, "made a new token signing key");
        let key = SigningKey { kid, key: EncodingKey::from_ec_der(pkcs8.as_ref()), created_at: now };
        *current = Some(key.clone());
        Ok(key)
    }

    fn verifying_keys_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, DecodingKey>> {
        self.inner.verifying.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn verifying_key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.inner.verifying.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.get(kid).cloned()
    }

    /// Replaces the known public keys with the store's.
    async fn reload_keys(&self) -> Result<(), StoreError> {
        let stored = self.inner.store.signing_keys().await?;
        let mut keys = HashMap::new();
        for key in stored {
            match decoding_key(&key.public_jwk) {
                Some(decoding) => {
                    keys.insert(key.kid, decoding);
                }
                None => tracing::warn!(kid = %key.kid, "a stored signing key is not a P-256 JWK; ignored"),
            }
        }
        // This process's keys are stored before they sign, so the store has them too.
        *self.verifying_keys_mut() = keys;
        Ok(())
    }

    /// Verifies a user token: an ES256 signature by a stored key (an unknown key id makes
    /// the keys be read from the store once more), `typ: vnd.backstage.user` or — for legacy
    /// tokens without `typ` — `aud: backstage`, any `aud` being `backstage`, not expired, not
    /// issued in the future.
    pub async fn verify(&self, token: &str) -> Result<UserPrincipal, TokenError> {
        let header = read_header(token)?;
        match header.alg.as_deref() {
            Some("ES256") => {}
            other => return Err(TokenError::Algorithm(other.unwrap_or("none").to_owned())),
        }
        let typed = match header.typ.as_deref() {
            Some(USER_TOKEN_TYPE) => true,
            None => false,
            Some(other) => return Err(TokenError::Type(other.to_owned())),
        };
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = match self.verifying_key(&kid) {
            Some(key) => key,
            None => {
                if let Err(error) = self.reload_keys().await {
                    tracing::warn!(%error, "could not read the token signing keys");
                }
                self.verifying_key(&kid).ok_or(TokenError::UnknownKey)?
            }
        };
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::Signature,
                jsonwebtoken::errors::ErrorKind::Json(_) => TokenError::Claims(error.to_string()),
                _ => TokenError::Malformed,
            })?
            .claims;
        match &claims.aud {
            Some(aud) if !aud.includes_backstage() => return Err(TokenError::Audience),
            None if !typed => return Err(TokenError::Audience),
            _ => {}
        }
        let now = self.now_seconds();
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + CLOCK_SKEW {
            return Err(TokenError::IssuedInFuture);
        }
        if claims.sub.is_empty() {
            return Err(TokenError::Claims("sub is empty".to_owned()));
        }
        let ownership_entity_refs = claims.ent.unwrap_or_else(|| vec![claims.sub.clone()]);
        Ok(UserPrincipal { user_entity_ref: claims.sub, ownership_entity_refs, expires_at: claims.exp })
    }

    /// The public keys that may have signed a still valid token (`GET /.well-known/jwks.json`):
    /// those made within three token lifetimes. Older keys are removed from the store.
    pub async fn public_keys(&self) -> Result<Vec<Value>, StoreError> {
        // Keys made exactly three lifetimes ago are still listed.
        let cutoff = self.now_millis() - 3 * self.lifetime_millis();
        let stored = self.inner.store.signing_keys().await?;
        if stored.iter().any(|key| key.created_at < cutoff) {
            let removed = self.inner.store.prune_signing_keys(cutoff).await?;
            tracing::info!(removed, "removed expired token signing keys");
        }
        Ok(stored
            .into_iter()
            .filter(|key| key.created_at >= cutoff)
            .filter_map(|key| serde_json::from_str(&key.public_jwk).ok())
            .collect())
    }

    /// Seconds left before `principal`'s token expires (zero once it has).
    pub fn seconds_left(&self, principal: &UserPrincipal) -> u64 {
        principal.expires_at.saturating_sub(self.now_seconds())
    }
}

/// The protected header of a compact JWS, without checking anything else.
fn read_header(token: &str) -> Result<RawHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// The verifying key of a stored P-256 JWK.
fn decoding_key(jwk: &str) -> Option<DecodingKey> {
    let jwk: Value = serde_json::from_str(jwk).ok()?;
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return None;
    }
    DecodingKey::from_ec_components(jwk["x"].as_str()?, jwk["y"].as_str()?).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use portico_store_sqlite::SqliteStore;

    use super::*;

    pub(crate) const ISSUER: &str = "http://portal.test:7007/api/auth";
    const HOUR: Duration = Duration::from_secs(3600);
    const HOUR_MS: i64 = 3_600_000;

    /// A store, and a clock tests move by hand.
    pub(crate) struct Fixture {
        pub store: Arc<SqliteStore>,
        pub now: Arc<AtomicI64>,
    }

    impl Fixture {
        pub(crate) async fn new() -> Fixture {
            let store = SqliteStore::in_memory().await.expect("store");
            store.migrate().await.expect("migrate");
            Fixture { store: Arc::new(store), now: Arc::new(AtomicI64::new(1_700_000_000_000)) }
        }

        /// A factory (a "replica") on the fixture's store and clock.
        pub(crate) fn factory(&self) -> TokenFactory {
            let now = self.now.clone();
            TokenFactory::with_clock(
                ISSUER,
                HOUR,
                self.store.clone(),
                Arc::new(move || now.load(Ordering::SeqCst)),
            )
        }

        pub(crate) fn advance(&self, by: Duration) {
            self.now.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }

        fn seconds(&self) -> u64 {
            (self.now.load(Ordering::SeqCst) / 1000) as u64
        }
    }

    fn ownership() -> Vec<String> {
        vec!["user:default/jane".to_owned(), "group:default/team-a".to_owned()]
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// A token with this header and these claims, signed by `factory`'s current key.
    async fn signed(factory: &TokenFactory, header: Value, claims: Value) -> String {
        let key = factory.signing_key().await.expect("key");
        let mut header: Header = serde_json::from_value(header).expect("header");
        header.kid = header.kid.or(Some(key.kid));
        jsonwebtoken::encode(&header, &claims, &key.key).expect("sign")
    }

    fn claims(fixture: &Fixture) -> Value {
        let now = fixture.seconds();
        json!({"iss": ISSUER, "sub": "user:default/jane", "ent": ["user:default/jane"], "aud": "backstage", "iat": now, "exp": now + 600})
    }

    fn parts(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
    }

    #[tokio::test]
    async fn issued_tokens_carry_backstage_header_and_claims_and_verify() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let issued = tokens.issue("user:default/jane", &ownership()).await.expect("issue");
        let token_parts = parts(&issued.token);
        let header = decode_part(&token_parts[0]);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "vnd.backstage.user");
        let kid = header["kid"].as_str().expect("kid").to_owned();
        let claims = decode_part(&token_parts[1]);
        let now = fixture.seconds();
        assert_eq!(
            claims,
            json!({"iss": ISSUER, "sub": "user:default/jane", "ent": ownership(), "aud": "backstage", "iat": now, "exp": now + 3600})
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&token_parts[2]).expect("signature").len(), 64, "raw r||s");
        let principal = tokens.verify(&issued.token).await.expect("valid");
        assert_eq!(principal, issued.principal);
        assert_eq!(principal.expires_at, now + 3600);

        let stored = fixture.store.signing_keys().await.expect("keys");
        assert_eq!(stored.len(), 1, "the public key is stored before it signs");
        let jwk: Value = serde_json::from_str(&stored[0].public_jwk).expect("jwk");
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(jwk["kid"], kid);
        assert!(jwk.get("d").is_none(), "no private part is stored");

        let second = tokens.issue("user:default/joe", &[]).await.expect("issue");
        assert_eq!(
            second.principal.ownership_entity_refs,
            ["user:default/joe"],
            "ent defaults to the subject"
        );
        assert_eq!(
            fixture.store.signing_keys().await.expect("keys").len(),
            1,
            "the key is reused within its lifetime"
        );
        assert!(matches!(tokens.issue("not a ref:", &[]).await, Err(IssueError::Subject(_))));
    }

    #[tokio::test]
    async fn keys_rotate_every_lifetime_and_the_jwks_keeps_them_three_lifetimes() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let first = tokens.issue("user:default/jane", &[]).await.expect("issue");
        fixture.advance(HOUR - Duration::from_secs(1));
        let same = tokens.issue("user:default/jane", &[]).await.expect("issue");
        fixture.advance(Duration::from_secs(1));
        let rotated = tokens.issue("user:default/jane", &[]).await.expect("issue");
        let kid = |token: &str| decode_part(&parts(token)[0])["kid"].as_str().unwrap().to_owned();
        assert_eq!(kid(&first.token), kid(&same.token));
        assert_ne!(kid(&first.token), kid(&rotated.token), "a new key after one lifetime");
        assert_eq!(
            tokens.verify(&same.token).await.expect("still valid").user_entity_ref,
            "user:default/jane"
        );

        let listed =
            |keys: Vec<Value>| keys.iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            listed(tokens.public_keys().await.expect("jwks")),
            [kid(&first.token), kid(&rotated.token)]
        );
        fixture.advance(Duration::from_millis((2 * HOUR_MS) as u64 - 1));
        assert_eq!(listed(tokens.public_keys().await.expect("jwks")).len(), 2, "kept for three lifetimes");
        fixture.advance(Duration::from_millis(1));
        assert_eq!(
            listed(tokens.public_keys().await.expect("jwks")).len(),
            2,
            "up to three lifetimes exactly"
        );
        fixture.advance(Duration::from_millis(1));
        assert_eq!(listed(tokens.public_keys().await.expect("jwks")), [kid(&rotated.token)], "then dropped");
        assert_eq!(fixture.store.signing_keys().await.expect("keys").len(), 1, "and pruned from the store");
    }

    #[tokio::test]
    async fn replicas_verify_each_others_tokens_after_reloading_keys_once() {
        let fixture = Fixture::new().await;
        let (a, b) = (fixture.factory(), fixture.factory());
        let from_a = a.issue("user:default/jane", &[]).await.expect("issue");
        assert!(b.verify(&from_a.token).await.is_ok(), "b reads a's key from the store");
        let from_b = b.issue("user:default/joe", &[]).await.expect("issue");
        // `a` already knows the keys it read; b's key is new to it.
        assert_eq!(a.verify(&from_b.token).await.expect("reloaded").user_entity_ref, "user:default/joe");
        let restarted = fixture.factory();
        assert!(restarted.verify(&from_a.token).await.is_ok(), "a restarted process verifies old tokens");
    }

    #[tokio::test]
    async fn rejects_alg_none() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let issued = tokens.issue("user:default/jane", &[]).await.expect("issue");
        let kid = decode_part(&parts(&issued.token)[0])["kid"].clone();
        let header = json!({"alg": "none", "typ": USER_TOKEN_TYPE, "kid": kid});
        let forged = format!("{}.{}.", b64(&header), b64(&claims(&fixture)));
        assert_eq!(tokens.verify(&forged).await, Err(TokenError::Algorithm("none".into())));
        let no_alg =
            format!("{}.{}.", b64(&json!({"typ": USER_TOKEN_TYPE, "kid": kid})), b64(&claims(&fixture)));
        assert_eq!(tokens.verify(&no_alg).await, Err(TokenError::Algorithm("none".into())));
    }

    #[tokio::test]
    async fn rejects_other_algorithms_even_with_the_public_key_as_secret() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        tokens.issue("user:default/jane", &[]).await.expect("issue");
        let stored = fixture.store.signing_keys().await.expect("keys").remove(0);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(stored.kid.clone());
        header.typ = Some(USER_TOKEN_TYPE.into());
        let forged = jsonwebtoken::encode(
            &header,
            &claims(&fixture),
            &EncodingKey::from_secret(stored.public_jwk.as_bytes()),
        )
        .expect("sign");
        assert_eq!(tokens.verify(&forged).await, Err(TokenError::Algorithm("HS256".into())));
    }

    #[tokio::test]
    async fn rejects_unknown_key_ids_after_reloading_the_store() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let elsewhere = Fixture::new().await.factory();
        let foreign = elsewhere.issue("user:default/jane", &[]).await.expect("issue");
        assert_eq!(tokens.verify(&foreign.token).await, Err(TokenError::UnknownKey));
        let no_kid = format!(
            "{}.{}.{}",
            b64(&json!({"alg": "ES256", "typ": USER_TOKEN_TYPE})),
            b64(&claims(&fixture)),
            "c2ln"
        );
        assert_eq!(tokens.verify(&no_kid).await, Err(TokenError::UnknownKey));
    }

    #[tokio::test]
    async fn rejects_tokens_signed_by_another_key() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let ours = tokens.issue("user:default/jane", &[]).await.expect("issue");
        let our_kid = decode_part(&parts(&ours.token)[0])["kid"].clone();
        // A key of another portal, claiming to be ours.
        let other = Fixture::new().await.factory();
        let forged =
            signed(&other, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE, "kid": our_kid}), claims(&fixture))
                .await;
        assert_eq!(tokens.verify(&forged).await, Err(TokenError::Signature));
        // Our token with a changed payload.
        let mut tampered = parts(&ours.token);
        let mut payload = decode_part(&tampered[1]);
        payload["ent"] = json!(["group:default/admins"]);
        tampered[1] = b64(&payload);
        assert_eq!(tokens.verify(&tampered.join(".")).await, Err(TokenError::Signature));
    }

    #[tokio::test]
    async fn rejects_expired_tokens() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let issued = tokens.issue("user:default/jane", &[]).await.expect("issue");
        fixture.advance(HOUR - Duration::from_secs(1));
        assert!(tokens.verify(&issued.token).await.is_ok());
        fixture.advance(Duration::from_secs(1));
        assert_eq!(tokens.verify(&issued.token).await, Err(TokenError::Expired));
    }

    #[tokio::test]
    async fn rejects_tokens_issued_in_the_future() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let mut future = claims(&fixture);
        future["iat"] = json!(fixture.seconds() + 3600);
        future["exp"] = json!(fixture.seconds() + 7200);
        let token = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), future).await;
        assert_eq!(tokens.verify(&token).await, Err(TokenError::IssuedInFuture));
    }

    #[tokio::test]
    async fn rejects_other_audiences() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let mut other = claims(&fixture);
        other["aud"] = json!("somebody-else");
        let typed = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), other.clone()).await;
        assert_eq!(tokens.verify(&typed).await, Err(TokenError::Audience));
        let legacy = signed(&tokens, json!({"alg": "ES256"}), other).await;
        assert_eq!(tokens.verify(&legacy).await, Err(TokenError::Audience));
        let mut listed = claims(&fixture);
        listed["aud"] = json!(["somebody-else", "backstage"]);
        let listed = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), listed).await;
        assert!(tokens.verify(&listed).await.is_ok(), "a list of audiences including backstage");
    }

    #[tokio::test]
    async fn legacy_tokens_without_typ_need_the_backstage_audience() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let legacy = signed(&tokens, json!({"alg": "ES256"}), claims(&fixture)).await;
        assert_eq!(tokens.verify(&legacy).await.expect("legacy").user_entity_ref, "user:default/jane");
        let mut no_aud = claims(&fixture);
        no_aud.as_object_mut().unwrap().remove("aud");
        let untyped = signed(&tokens, json!({"alg": "ES256"}), no_aud.clone()).await;
        assert_eq!(tokens.verify(&untyped).await, Err(TokenError::Audience));
        let typed = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), no_aud).await;
        assert!(tokens.verify(&typed).await.is_ok(), "the typ alone identifies a user token");
    }

    #[tokio::test]
    async fn rejects_other_token_types() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        for typ in ["JWT", "vnd.backstage.limited-user", "vnd.backstage.plugin"] {
            let token = signed(&tokens, json!({"alg": "ES256", "typ": typ}), claims(&fixture)).await;
            assert_eq!(tokens.verify(&token).await, Err(TokenError::Type(typ.into())), "{typ}");
        }
    }

    #[tokio::test]
    async fn rejects_malformed_tokens_and_claims() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        for token in ["", "abc", "a.b", "a.b.c.d", "!!.e30.c2ln", "e30.e30.c2ln"] {
            let result = tokens.verify(token).await;
            assert!(
                matches!(result, Err(TokenError::Malformed | TokenError::Algorithm(_))),
                "{token}: {result:?}"
            );
        }
        let mut no_exp = claims(&fixture);
        no_exp.as_object_mut().unwrap().remove("exp");
        let token = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), no_exp).await;
        assert!(matches!(tokens.verify(&token).await, Err(TokenError::Claims(_))));
        let mut empty_sub = claims(&fixture);
        empty_sub["sub"] = json!("");
        let token = signed(&tokens, json!({"alg": "ES256", "typ": USER_TOKEN_TYPE}), empty_sub).await;
        assert!(matches!(tokens.verify(&token).await, Err(TokenError::Claims(_))));
    }

    #[tokio::test]
    async fn refuses_to_issue_oversized_tokens() {
        let fixture = Fixture::new().await;
        let tokens = fixture.factory();
        let groups: Vec<String> =
            (0..1_000).map(|n| format!("group:default/a-rather-long-team-name-{n}")).collect();
        let error = tokens.issue("user:default/jane", &groups).await.expect_err("too large");
        assert!(matches!(error, IssueError::TooLarge(_)));
        assert!(error.to_string().contains("group:default/a-rather-long-team-name-999"), "names the claims");
    }
}
