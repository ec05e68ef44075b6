-- Public keys of the user tokens this portal signs, as JWK JSON. Private keys never leave the
-- process that made them; every replica reads these to verify the others' tokens.
CREATE TABLE auth_signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX auth_signing_keys_created_at ON auth_signing_keys (created_at);
