-- The catalog's tables, modelled on Backstage's catalog database.
-- Refs, ids and keys use the "C" collation: they are compared and ordered bytewise, like
-- SQLite does, whatever the database's default collation is.

-- Locations registered through the API (`POST /locations`).
CREATE TABLE locations (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    UNIQUE (type, target)
);

-- One row per entity that some parent emits (Backstage's `refresh_state`).
CREATE TABLE refresh_state (
    entity_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    entity_ref TEXT COLLATE "C" NOT NULL UNIQUE,
    unprocessed_entity TEXT COLLATE "C" NOT NULL,
    unprocessed_hash TEXT COLLATE "C" NOT NULL,
    processed_entity TEXT COLLATE "C",
    result_hash TEXT COLLATE "C",
    -- JSON arrays of serialized errors.
    errors TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    warnings TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    location_key TEXT COLLATE "C",
    next_update_at BIGINT NOT NULL
);
CREATE INDEX refresh_state_next_update_at_idx ON refresh_state (next_update_at);

-- Parent -> child edges. Exactly one of the two source columns is set.
CREATE TABLE refresh_state_references (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_provider TEXT COLLATE "C",
    source_entity_ref TEXT COLLATE "C" REFERENCES refresh_state (entity_ref) ON DELETE CASCADE,
    target_entity_ref TEXT COLLATE "C" NOT NULL REFERENCES refresh_state (entity_ref) ON DELETE CASCADE,
    CHECK ((source_provider IS NULL) <> (source_entity_ref IS NULL))
);
CREATE INDEX refresh_state_references_source_provider_idx ON refresh_state_references (source_provider);
CREATE INDEX refresh_state_references_source_entity_ref_idx ON refresh_state_references (source_entity_ref);
CREATE INDEX refresh_state_references_target_entity_ref_idx ON refresh_state_references (target_entity_ref);

-- Relation rows, keyed by the entity whose processing emitted them.
CREATE TABLE relations (
    originating_entity_id TEXT COLLATE "C" NOT NULL REFERENCES refresh_state (entity_id) ON DELETE CASCADE,
    source_entity_ref TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    target_entity_ref TEXT COLLATE "C" NOT NULL
);
CREATE INDEX relations_originating_entity_id_idx ON relations (originating_entity_id);
CREATE INDEX relations_source_entity_ref_idx ON relations (source_entity_ref);

-- The entities the API serves.
CREATE TABLE final_entities (
    entity_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES refresh_state (entity_id) ON DELETE CASCADE,
    entity_ref TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL,
    final_entity TEXT COLLATE "C" NOT NULL,
    change_seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX final_entities_change_seq_idx ON final_entities (change_seq);

-- Deleted final entities, so that change-feed readers learn about removals.
CREATE TABLE final_tombstones (
    change_seq BIGINT PRIMARY KEY NOT NULL,
    entity_id TEXT COLLATE "C" NOT NULL,
    entity_ref TEXT COLLATE "C" NOT NULL
);

-- The store-wide change sequence; a single row.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);
