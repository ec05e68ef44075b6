//! The relying party's side of OpenID Connect for one configured environment: the provider's
//! discovery document and keys (both cached), the authorization URL, the token endpoint (code
//! with PKCE verifier, refresh token), ID token verification, user info and revocation.
//!
//! Secrets stay out of every message: errors name the step and the provider's own error code,
//! never a code, token, verifier or the client secret, and nothing here derives `Debug` over
//! them.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portico_web::{ApiError, ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use super::config::OidcEnvironment;

/// How long one request to the provider may take.
pub(crate) const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// How far clocks of the provider and this portal may differ when reading `exp`.
const CLOCK_SKEW_SECONDS: u64 = 60;
/// The ID token algorithms this portal verifies.
const SUPPORTED_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// Why talking to the provider, or believing it, failed. Messages name the step, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OidcError {
    /// The provider could not be reached, or answered something that is not OpenID Connect.
    #[error("The sign-in provider's {what} could not be read: {reason}")]
    Unavailable { what: &'static str, reason: String },
    /// The provider answered with an OAuth error.
    #[error("The sign-in provider refused the {what}: {error}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused { what: &'static str, error: String, description: Option<String> },
    /// The ID token (or user info) does not prove who signed in.
    #[error("The ID token from the sign-in provider was refused: {0}")]
    IdToken(String),
}

impl From<OidcError> for ApiError {
    fn from(error: OidcError) -> ApiError {
        let kind = match error {
            OidcError::Unavailable { .. } => ErrorKind::ServiceUnavailable,
            OidcError::Refused { .. } | OidcError::IdToken(_) => ErrorKind::Authentication,
        };
        ApiError::new(kind, error.to_string())
    }
}

/// The parts of the discovery document this client uses.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    revocation_endpoint: Option<String>,
    /// Absent means `RS256` (OpenID Connect Discovery §3).
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

/// A verification key from the provider's JWKS.
#[derive(Clone)]
struct ProviderKey {
    /// `RSA` or `EC`.
    kty: String,
    /// The JWK's `alg`, when it names one.
    alg: Option<String>,
    key: DecodingKey,
}

/// What the token endpoint answered. Deliberately without `Debug`: it holds tokens.
#[derive(Deserialize)]
pub(crate) struct TokenSet {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Who the provider says signed in: the ID token's claims, completed from user info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Person {
    pub sub: String,
    /// Left out when the provider marks it unverified (`email_verified: false`).
    pub email: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

impl Person {
    /// Reads `sub`, `email` (unless unverified), `name` and `picture` of a claims object.
    fn from_claims(claims: &Value) -> Person {
        let text = |name: &str| claims[name].as_str().filter(|value| !value.is_empty()).map(str::to_owned);
        let verified = claims["email_verified"].as_bool() != Some(false);
        Person {
            sub: text("sub").unwrap_or_default(),
            email: text("email").filter(|_| verified),
            name: text("name"),
            picture: text("picture"),
        }
    }
}

/// One environment's client. Cheap to share (`Arc`); the caches are shared by all requests.
pub(crate) struct OidcClient {
    http: reqwest::Client,
    settings: OidcEnvironment,
    callback_url: String,
    discovery: RwLock<Option<Arc<Discovery>>>,
    keys: RwLock<HashMap<String, ProviderKey>>,
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// `reqwest`'s error as a reason, without the URL (which names only public endpoints, but
/// keeps messages short).
fn reason(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "it did not answer in time".to_owned()
    } else if error.is_connect() {
        "it could not be connected to".to_owned()
    } else {
        "the request failed".to_owned()
    };
    if let Some(status) = error.status() {
        text = format!("it answered {status}");
    }
    text
}

impl OidcClient {
    pub fn new(http: reqwest::Client, settings: OidcEnvironment, callback_url: String) -> OidcClient {
        OidcClient {
            http,
            settings,
            callback_url,
            discovery: RwLock::new(None),
            keys: RwLock::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &OidcEnvironment {
        &self.settings
    }

    /// The discovery document: cached once read; read again after any failure to use it.
    async fn discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        if let Some(discovery) = self.discovery.read().unwrap_or_else(PoisonError::into_inner).clone() {
            return Ok(discovery);
        }
        let what = "discovery document";
        let unavailable = |reason: String| OidcError::Unavailable { what, reason };
        let response = self
            .http
            .get(&self.settings.metadata_url)
            .send()
            .await
            .map_err(|error| unavailable(reason(&error)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("it answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|error| unavailable(reason(&error)))?;
        let discovery: Discovery = serde_json::from_slice(&bytes).map_err(|error| {
            unavailable(format!("it is not an OpenID Connect discovery document ({error})"))
        })?;
        tracing::info!(issuer = %discovery.issuer, "read the OIDC provider's discovery document");
        let discovery = Arc::new(discovery);
        *self.discovery.write().unwrap_or_else(PoisonError::into_inner) = Some(discovery.clone());
        Ok(discovery)
    }

    /// Drops the cached discovery document, so that the next sign-in reads it again (the
    /// provider may have moved its endpoints).
    fn forget_discovery(&self) {
        *self.discovery.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Forgets the discovery document when `result` says the provider could not be used.
    fn noting_failure<T>(&self, result: Result<T, OidcError>) -> Result<T, OidcError> {
        if let Err(OidcError::Unavailable { .. }) = &result {
            self.forget_discovery();
        }
        result
    }

    /// The provider's issuer identifier.
    pub async fn issuer(&self) -> Result<String, OidcError> {
        Ok(self.discovery().await?.issuer.clone())
    }

    /// The provider's authorization URL for a code flow sign-in.
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        scope: &str,
    ) -> Result<String, OidcError> {
        let discovery = self.discovery().await?;
        let mut url =
            url::Url::parse(&discovery.authorization_endpoint).map_err(|_| OidcError::Unavailable {
                what: "discovery document",
                reason: "its authorization_endpoint is not a URL".into(),
            })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", &self.callback_url)
                .append_pair("scope", scope)
                .append_pair("state", state)
                .append_pair("nonce", nonce)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(prompt) = &self.settings.prompt {
                query.append_pair("prompt", prompt);
            }
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code, sending the PKCE verifier it was started with.
    pub async fn exchange_code(&self, code: &str, verifier: &str) -> Result<TokenSet, OidcError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.callback_url.as_str()),
            ("code_verifier", verifier),
        ];
        let result = self.token_request("authorization code", &form).await;
        self.noting_failure(result)
    }

    /// New tokens for a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OidcError> {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        let result = self.token_request("refresh token", &form).await;
        self.noting_failure(result)
    }

    /// Revokes a refresh token where the provider offers revocation (RFC 7009); nothing
    /// otherwise.
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), OidcError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = &discovery.revocation_endpoint else { return Ok(()) };
        let form = [("token", refresh_token), ("token_type_hint", "refresh_token")];
        let response = self.client_post(&discovery, endpoint, &form).send().await.map_err(|error| {
            OidcError::Unavailable { what: "revocation endpoint", reason: reason(&error) }
        })?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(OidcError::Unavailable {
                what: "revocation endpoint",
                reason: format!("it answered {status}"),
            }),
        }
    }

    /// A form post to `endpoint`, the client authenticating with HTTP Basic
    /// (`client_secret_basic`, the default) unless the provider only lists
    /// `client_secret_post`, which puts the credentials into the form.
    fn client_post(
        &self,
        discovery: &Discovery,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let methods = &discovery.token_endpoint_auth_methods_supported;
        let post_only = !methods.is_empty()
            && !methods.iter().any(|method| method == "client_secret_basic")
            && methods.iter().any(|method| method == "client_secret_post");
        let (id, secret) = (self.settings.client_id.as_str(), self.settings.client_secret.expose());
        let mut fields = form.to_vec();
        let request = self.http.post(endpoint).header(reqwest::header::ACCEPT, "application/json");
        let request = if post_only {
            fields.extend([("client_id", id), ("client_secret", secret)]);
            request
        } else {
            // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
            let encode =
                |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
            request.basic_auth(encode(id), Some(encode(secret)))
        };
        request.form(&fields)
    }

    async fn token_request(&self, what: &'static str, form: &[(&str, &str)]) -> Result<TokenSet, OidcError> {
        let discovery = self.discovery().await?;
        let unavailable = |reason: String| OidcError::Unavailable { what: "token endpoint", reason };
        let request = self.client_post(&discovery, &discovery.token_endpoint, form);
        let response = request.send().await.map_err(|error| unavailable(reason(&error)))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| unavailable(reason(&error)))?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|_| unavailable(format!("it answered {status} with something that is not JSON")))?;
        if let Some(error) = body["error"].as_str() {
            return Err(OidcError::Refused {
                what,
                error: error.to_owned(),
                description: body["error_description"].as_str().map(str::to_owned),
            });
        }
        if !status.is_success() {
            return Err(unavailable(format!("it answered {status}")));
        }
        serde_json::from_value(body).map_err(|_| unavailable("the answer has no access_token".to_owned()))
    }

    /// The provider's keys, read again from its JWKS.
    async fn reload_keys(&self) -> Result<(), OidcError> {
        let discovery = self.discovery().await?;
        let unavailable = |reason: String| OidcError::Unavailable { what: "signing keys (JWKS)", reason };
        let response =
            self.http.get(&discovery.jwks_uri).send().await.map_err(|error| unavailable(reason(&error)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("it answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|error| unavailable(reason(&error)))?;
        let jwks: Value =
            serde_json::from_slice(&bytes).map_err(|_| unavailable("it is not JSON".to_owned()))?;
        let mut keys = HashMap::new();
        for jwk in jwks["keys"].as_array().into_iter().flatten() {
            if jwk["use"].as_str().is_some_and(|usage| usage != "sig") {
                continue;
            }
            let (Some(kid), Some(kty)) = (jwk["kid"].as_str(), jwk["kty"].as_str()) else { continue };
            let key = match kty {
                "RSA" => jwk["n"]
                    .as_str()
                    .zip(jwk["e"].as_str())
                    .and_then(|(n, e)| DecodingKey::from_rsa_components(n, e).ok()),
                "EC" if jwk["crv"] == "P-256" => jwk["x"]
                    .as_str()
                    .zip(jwk["y"].as_str())
                    .and_then(|(x, y)| DecodingKey::from_ec_components(x, y).ok()),
                _ => None,
            };
            if let Some(key) = key {
                let alg = jwk["alg"].as_str().map(str::to_owned);
                keys.insert(kid.to_owned(), ProviderKey { kty: kty.to_owned(), alg, key });
            }
        }
        tracing::info!(keys = keys.len(), "read the OIDC provider's signing keys");
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        Ok(())
    }

    /// The key `kid` names, or — for a token without `kid` — the provider's only key of that
    /// type.
    fn key(&self, kid: Option<&str>, kty: &str) -> Option<ProviderKey> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            None => {
                let mut of_type = keys.values().filter(|key| key.kty == kty);
                match (of_type.next(), of_type.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        }
    }

    /// Verifies an ID token: signed with an algorithm the provider advertises (RS256 or ES256)
    /// by a key of its JWKS — an unknown key id makes the JWKS be read once more, which is how
    /// key rotation is picked up —, issued by the provider, for this client (`aud`, and `azp`
    /// when there are several audiences), not expired, and carrying `nonce` when one is
    /// expected.
    pub async fn verify_id_token(&self, token: &str, nonce: Option<&str>) -> Result<Person, OidcError> {
        let refused = |reason: &str| OidcError::IdToken(reason.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| refused("it is not a signed JWT"))?;
        if !SUPPORTED_ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::IdToken(format!(
                "it is signed with {:?}; only RS256 and ES256 are accepted",
                header.alg
            )));
        }
        let discovery = self.discovery().await?;
        let advertised = &discovery.id_token_signing_alg_values_supported;
        let alg_name = format!("{:?}", header.alg);
        if (advertised.is_empty() && header.alg != Algorithm::RS256)
            || (!advertised.is_empty() && !advertised.contains(&alg_name))
        {
            return Err(OidcError::IdToken(format!(
                "it is signed with {alg_name}, which the provider does not advertise"
            )));
        }
        let kty = if header.alg == Algorithm::RS256 { "RSA" } else { "EC" };
        let key = match self.key(header.kid.as_deref(), kty) {
            Some(key) => key,
            None => {
                let reloaded = self.reload_keys().await;
                self.noting_failure(reloaded)?;
                self.key(header.kid.as_deref(), kty)
                    .ok_or_else(|| refused("no key of the provider's JWKS signed it"))?
            }
        };
        if key.kty != kty || key.alg.as_deref().is_some_and(|alg| alg != alg_name) {
            return Err(refused("its key is not for its algorithm"));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = CLOCK_SKEW_SECONDS;
        validation.set_issuer(&[discovery.issuer.as_str()]);
        validation.set_audience(&[self.settings.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key.key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind as Jwt;
                match error.kind() {
                    Jwt::InvalidSignature => refused("its signature does not match the provider's key"),
                    Jwt::ExpiredSignature => refused("it has expired"),
                    Jwt::InvalidAudience => OidcError::IdToken(format!(
                        "it is not for this client ('{}')",
                        self.settings.client_id
                    )),
                    Jwt::InvalidIssuer => refused("it was not issued by the configured provider"),
                    Jwt::MissingRequiredClaim(claim) => {
                        OidcError::IdToken(format!("it has no '{claim}' claim"))
                    }
                    Jwt::ImmatureSignature => refused("it is not valid yet"),
                    _ => refused("it could not be read"),
                }
            })?
            .claims;
        if let Some(audiences) = claims["aud"].as_array().filter(|audiences| audiences.len() > 1)
            && claims["azp"].as_str() != Some(self.settings.client_id.as_str())
        {
            tracing::debug!(
                audiences = audiences.len(),
                "an ID token for several audiences without this client as azp"
            );
            return Err(refused("it names several audiences but not this client as its authorized party"));
        }
        if claims["iat"].as_u64().is_some_and(|iat| iat > now_seconds() + CLOCK_SKEW_SECONDS) {
            return Err(refused("it was issued in the future"));
        }
        if let Some(expected) = nonce
            && claims["nonce"].as_str() != Some(expected)
        {
            return Err(refused("its nonce is not the one this sign-in started with"));
        }
        let person = Person::from_claims(&claims);
        if person.sub.is_empty() {
            return Err(refused("its subject is empty"));
        }
        Ok(person)
    }

    /// `person` completed from the user info endpoint, whose `sub` must be the same person's
    /// (or, for a `person` without one — a refresh answered without ID token —, names them).
    pub async fn complete_from_userinfo(
        &self,
        person: Person,
        access_token: &str,
    ) -> Result<Person, OidcError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = &discovery.userinfo_endpoint else { return Ok(person) };
        let unavailable = |reason: String| OidcError::Unavailable { what: "user info", reason };
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| unavailable(reason(&error)));
        let response = self.noting_failure(response)?;
        if !response.status().is_success() {
            return Err(unavailable(format!("it answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|error| unavailable(reason(&error)))?;
        let claims: Value =
            serde_json::from_slice(&bytes).map_err(|_| unavailable("it is not JSON".to_owned()))?;
        let info = Person::from_claims(&claims);
        if info.sub.is_empty() || (!person.sub.is_empty() && info.sub != person.sub) {
            return Err(OidcError::IdToken(
                "the user info is about someone else than the ID token".to_owned(),
            ));
        }
        Ok(Person {
            sub: info.sub,
            email: person.email.or(info.email),
            name: person.name.or(info.name),
            picture: person.picture.or(info.picture),
        })
    }
}
