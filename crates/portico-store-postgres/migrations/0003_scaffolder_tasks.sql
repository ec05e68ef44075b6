-- Scaffolder tasks and their event logs, modelled on Backstage's `tasks` and `task_events`.
-- JSON columns hold the JSON text as written, so bodies round-trip exactly. Text columns use
-- the "C" collation, so they order bytewise as in SQLite.

CREATE TABLE tasks (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL,
    -- open | processing | completed | failed | cancelled
    status TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    last_heartbeat_at BIGINT,
    created_by TEXT COLLATE "C",
    -- Present from creation until the claim (or the end, for tasks that may start over).
    secrets TEXT,
    state TEXT
);
-- Claims take the oldest open task; the janitor scans processing ones.
CREATE INDEX tasks_status_created_at_idx ON tasks (status, created_at);

-- One sequence for all tasks, so ids order events globally.
CREATE TABLE task_events (
    id BIGSERIAL PRIMARY KEY,
    task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    event_type TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_events_task_id_id_idx ON task_events (task_id, id);
