-- Entities users starred. `seq` orders stars oldest first.
CREATE TABLE user_starred_entities (
    seq BIGSERIAL PRIMARY KEY,
    user_ref TEXT NOT NULL,
    entity_ref TEXT NOT NULL,
    starred_at BIGINT NOT NULL,
    UNIQUE (user_ref, entity_ref)
);
