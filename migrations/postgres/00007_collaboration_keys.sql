-- +goose Up
-- An enterprise-activated device's collaboration key, derived from its
-- activation, with which it seals its messaging credentials. Kept sealed
-- under a key derived from the portal's signing key (never in clear); NULL
-- for a device that logged on with directory credentials.
ALTER TABLE devices ADD COLUMN collaboration_key BYTEA;

-- +goose Down
ALTER TABLE devices DROP COLUMN collaboration_key;
