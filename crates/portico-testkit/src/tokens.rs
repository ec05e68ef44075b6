//! User tokens for any user, signed by a key the test app trusts: its public half is put into
//! the app's key store, as another replica of the portal would, so the app verifies the tokens
//! exactly as it verifies its own.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_store::{SigningKeyStore, StoredSigningKey, now_millis};
use portico_store_sqlite::SqliteStore;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

use crate::TestApp;

/// Signs user tokens for a test app.
pub struct TokenSigner {
    kid: String,
    key: EncodingKey,
}

impl TokenSigner {
    /// A new key, trusted by `app` (which must run on its SQLite file, the default).
    pub async fn join(app: &TestApp) -> TokenSigner {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("key");
        let point = pair.public_key().as_ref();
        let kid = format!("test-{}", URL_SAFE_NO_PAD.encode(&point[1..9]));
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        let store = SqliteStore::open(&app.path("portico.db")).await.expect("the app's SQLite database");
        let key =
            StoredSigningKey { kid: kid.clone(), public_jwk: jwk.to_string(), created_at: now_millis() };
        store.add_signing_key(&key).await.expect("store the public key");
        TokenSigner { kid, key: EncodingKey::from_ec_der(pkcs8.as_ref()) }
    }

    /// A Backstage user token for `user_ref` owning through `ownership_refs`, valid for an
    /// hour; send it as `Authorization: Bearer <token>`.
    pub fn token(&self, user_ref: &str, ownership_refs: &[&str]) -> String {
        let now = now_millis() / 1000;
        let claims = json!({"sub": user_ref, "ent": ownership_refs, "aud": "backstage",
            "iss": "http://localhost:7007/api/auth", "iat": now, "exp": now + 3600});
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("vnd.backstage.user".into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}
