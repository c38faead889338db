-- +goose Up
CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'helpdesk')),
    password_hash TEXT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX admins_username_key ON admins (lower(username));

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email <> '';

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX groups_name_key ON groups (lower(name));

CREATE TABLE user_groups (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group_id ON user_groups (group_id);

CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX apps_name_key ON apps (lower(name));

CREATE TABLE app_artifacts (
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    platform    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    filename    TEXT NOT NULL DEFAULT '',
    uploaded_at DATETIME NOT NULL,
    PRIMARY KEY (app_id, platform)
);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rules       TEXT NOT NULL DEFAULT '{}',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX policies_name_key ON policies (lower(name));

CREATE TABLE assignments (
    id         TEXT PRIMARY KEY,
    app_id     TEXT REFERENCES apps (id) ON DELETE CASCADE,
    policy_id  TEXT REFERENCES policies (id) ON DELETE CASCADE,
    group_id   TEXT REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    target_key TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL,
    CHECK ((app_id IS NULL) <> (policy_id IS NULL)),
    CHECK ((group_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX assignments_group_id ON assignments (group_id);
CREATE INDEX assignments_user_id ON assignments (user_id);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    platform      TEXT NOT NULL,
    status        TEXT NOT NULL,
    progress      INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    installed     TEXT NOT NULL DEFAULT '{}',
    last_seen_at  DATETIME,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE INDEX devices_user_id ON devices (user_id);
CREATE INDEX devices_status ON devices (status);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          DATETIME NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    remote_addr TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_log_object ON audit_log (kind, object_id);

CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at DATETIME NOT NULL,
    blocked_until   DATETIME NOT NULL
);

CREATE TABLE portal_secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE portal_secrets;
DROP TABLE login_throttle;
DROP TABLE audit_log;
DROP TABLE devices;
DROP TABLE assignments;
DROP TABLE policies;
DROP TABLE app_artifacts;
DROP TABLE apps;
DROP TABLE user_groups;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE admins;
