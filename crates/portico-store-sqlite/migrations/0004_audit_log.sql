-- The audit log: one row per write someone asked for. Append-only: the triggers below refuse
-- every UPDATE and DELETE, whoever issues it.
-- AUTOINCREMENT: ids are never reused, so they order entries by when they were written.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    -- succeeded | failed | denied
    outcome TEXT NOT NULL,
    -- A JSON object, or NULL when there are no details.
    details TEXT
);
-- Lists are newest first, whole or for one actor or action.
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor, at);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be updated');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted');
END;
