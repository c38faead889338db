-- +goose Up
-- Migration packages: bootloader packages pushed through an existing
-- device-management channel. Only the hash of each package's enrolment
-- secret is kept; a package stops working when it expires or is revoked.
CREATE TABLE migration_packages (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    platform     TEXT NOT NULL,
    alias        TEXT NOT NULL DEFAULT '',
    relay        TEXT NOT NULL DEFAULT '',
    host         TEXT NOT NULL DEFAULT '',
    port         INTEGER NOT NULL DEFAULT 0,
    legacy       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    uses         INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX migration_packages_created ON migration_packages (created_at);

-- +goose Down
DROP TABLE migration_packages;
