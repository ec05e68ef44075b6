-- The catalog's tables, modelled on Backstage's catalog database.

-- Locations registered through the API (`POST /locations`).
CREATE TABLE locations (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    target TEXT NOT NULL,
    UNIQUE (type, target)
);

-- One row per entity that some parent emits (Backstage's `refresh_state`).
CREATE TABLE refresh_state (
    entity_id TEXT PRIMARY KEY NOT NULL,
    entity_ref TEXT NOT NULL UNIQUE,
    unprocessed_entity TEXT NOT NULL,
    unprocessed_hash TEXT NOT NULL,
    processed_entity TEXT,
    result_hash TEXT,
    -- JSON arrays of serialized errors.
    errors TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]',
    location_key TEXT,
    next_update_at BIGINT NOT NULL
);
CREATE INDEX refresh_state_next_update_at_idx ON refresh_state (next_update_at);

-- Parent -> child edges. Exactly one of the two source columns is set.
CREATE TABLE refresh_state_references (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_provider TEXT,
    source_entity_ref TEXT REFERENCES refresh_state (entity_ref) ON DELETE CASCADE,
    target_entity_ref TEXT NOT NULL REFERENCES refresh_state (entity_ref) ON DELETE CASCADE,
    CHECK ((source_provider IS NULL) <> (source_entity_ref IS NULL))
);
CREATE INDEX refresh_state_references_source_provider_idx ON refresh_state_references (source_provider);
CREATE INDEX refresh_state_references_source_entity_ref_idx ON refresh_state_references (source_entity_ref);
CREATE INDEX refresh_state_references_target_entity_ref_idx ON refresh_state_references (target_entity_ref);

-- Relation rows, keyed by the entity whose processing emitted them.
CREATE TABLE relations (
    originating_entity_id TEXT NOT NULL REFERENCES refresh_state (entity_id) ON DELETE CASCADE,
    source_entity_ref TEXT NOT NULL,
    type TEXT NOT NULL,
    target_entity_ref TEXT NOT NULL
);
CREATE INDEX relations_originating_entity_id_idx ON relations (originating_entity_id);
CREATE INDEX relations_source_entity_ref_idx ON relations (source_entity_ref);

-- The entities the API serves.
CREATE TABLE final_entities (
    entity_id TEXT PRIMARY KEY NOT NULL REFERENCES refresh_state (entity_id) ON DELETE CASCADE,
    entity_ref TEXT NOT NULL,
    hash TEXT NOT NULL,
    final_entity TEXT NOT NULL,
    change_seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX final_entities_change_seq_idx ON final_entities (change_seq);

-- Deleted final entities, so that change-feed readers learn about removals.
CREATE TABLE final_tombstones (
    change_seq BIGINT PRIMARY KEY NOT NULL,
    entity_id TEXT NOT NULL,
    entity_ref TEXT NOT NULL
);

-- The store-wide change sequence; a single row.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);
