-- The audit log: one row per write someone asked for. Text columns use the "C" collation, so
-- they order bytewise and change case only for ASCII letters, as in SQLite.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    -- succeeded | failed | denied
    outcome TEXT COLLATE "C" NOT NULL,
    -- A JSON object as written, or NULL when there are no details.
    details TEXT
);
-- Lists are newest first, whole or for one actor or action.
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor, at);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at);

-- Append-only: every UPDATE, DELETE and TRUNCATE is refused, whoever issues it.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
