-- hyok foundation schema (SQLite). Times are Unix milliseconds (UTC).

-- Managed objects: one row per KMIP object. Key material is stored only wrapped
-- by the master key (`wrapped`), never in clear.
CREATE TABLE objects (
    uid            TEXT    PRIMARY KEY,
    object_type    TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    owner          TEXT    NOT NULL,
    wrapped        BLOB,
    attributes     TEXT    NOT NULL DEFAULT '{}',
    chain_id       TEXT    NOT NULL,
    chain_version  INTEGER NOT NULL DEFAULT 1,
    row_version    INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (chain_id, chain_version)
);
CREATE INDEX objects_owner ON objects (owner);
CREATE INDEX objects_state ON objects (state);

CREATE TABLE object_names (
    uid   TEXT NOT NULL REFERENCES objects (uid) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    PRIMARY KEY (uid, name)
);
CREATE INDEX object_names_name ON object_names (name);

CREATE TABLE object_tags (
    uid  TEXT NOT NULL REFERENCES objects (uid) ON DELETE CASCADE,
    tag  TEXT NOT NULL,
    PRIMARY KEY (uid, tag)
);
CREATE INDEX object_tags_tag ON object_tags (tag);

-- Grants: (object or '*') x (identity or '*') x operation.
CREATE TABLE grants (
    object_uid  TEXT    NOT NULL,
    identity    TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    granted_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (object_uid, identity, operation)
);
CREATE INDEX grants_identity ON grants (identity);

CREATE TABLE users (
    name        TEXT    PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    created_at  INTEGER NOT NULL
);

-- API tokens: the secret is stored only as an argon2id PHC hash.
CREATE TABLE tokens (
    id            TEXT    PRIMARY KEY,
    user_name     TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    secret_hash   TEXT    NOT NULL,
    label         TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER,
    last_used_at  INTEGER
);
CREATE INDEX tokens_user ON tokens (user_name);

CREATE TABLE audit_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    node        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    caller      TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    object_uid  TEXT,
    result      TEXT    NOT NULL,
    request_id  TEXT,
    details     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE settings (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
