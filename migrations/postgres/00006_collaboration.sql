-- +goose Up
-- Collaboration: a user may log on to the messaging server through the
-- portal when their own flag or any of their groups' flag is set. The
-- service's settings live in the settings table under "collaboration".
ALTER TABLE users ADD COLUMN collaboration BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN collaboration BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE groups DROP COLUMN collaboration;
ALTER TABLE users DROP COLUMN collaboration;
