-- Scaffolder tasks and their event logs, modelled on Backstage's `tasks` and `task_events`.
-- JSON columns hold the JSON text as written, so bodies round-trip exactly.

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL,
    -- open | processing | completed | failed | cancelled
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_heartbeat_at BIGINT,
    created_by TEXT,
    -- Present from creation until the claim (or the end, for tasks that may start over).
    secrets TEXT,
    state TEXT
);
-- Claims take the oldest open task; the janitor scans processing ones.
CREATE INDEX tasks_status_created_at_idx ON tasks (status, created_at);

-- AUTOINCREMENT: ids are never reused, so `after` cursors stay valid.
CREATE TABLE task_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_events_task_id_id_idx ON task_events (task_id, id);
