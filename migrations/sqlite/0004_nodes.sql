-- The node registry: each running server heartbeats its row; the live ones (seen in
-- the last 30 seconds) are the fleet reported to AWS XKS health checks.
CREATE TABLE nodes (
    node        TEXT    PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX nodes_last_seen ON nodes (last_seen);
