-- +goose Up
ALTER TABLE users ADD COLUMN sms_opted_out BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN invitation_id TEXT NOT NULL DEFAULT '';

CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME,
    used_at    DATETIME
);
CREATE INDEX invitations_user_id ON invitations (user_id);

CREATE TABLE sms_messages (
    id              TEXT PRIMARY KEY,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    invitation_id   TEXT NOT NULL DEFAULT '',
    to_number       TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sid             TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    error_message   TEXT NOT NULL DEFAULT '',
    next_attempt_at DATETIME NOT NULL,
    lease_until     DATETIME,
    claimed_before  BOOLEAN NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
CREATE INDEX sms_messages_due ON sms_messages (state, next_attempt_at);
CREATE INDEX sms_messages_sid ON sms_messages (sid);

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE sms_messages;
DROP TABLE invitations;
ALTER TABLE devices DROP COLUMN invitation_id;
ALTER TABLE devices DROP COLUMN os_version;
ALTER TABLE users DROP COLUMN sms_opted_out;
