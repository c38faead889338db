-- +goose Up
-- One live activation password per user; setting a new one replaces it.
-- Only the password-related string (argon2id of the password) is kept.
CREATE TABLE activation_passwords (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    id           TEXT NOT NULL UNIQUE,
    prs          BLOB NOT NULL,
    salt         BLOB NOT NULL,
    kdf_params   TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    dead_at      DATETIME,
    dead_reason  TEXT NOT NULL DEFAULT ''
);

-- An activation in progress: the key exchange's state between requests.
CREATE TABLE activation_sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    password_id TEXT NOT NULL,
    step        TEXT NOT NULL,
    state       BLOB,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);
CREATE INDEX activation_sessions_device ON activation_sessions (device_id);

-- What happened to a device, stage by stage, for the admin's timeline.
CREATE TABLE device_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at        DATETIME NOT NULL,
    stage     TEXT NOT NULL,
    event     TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX device_events_device ON device_events (device_id, id);

-- +goose Down
DROP TABLE device_events;
DROP TABLE activation_sessions;
DROP TABLE activation_passwords;
