-- +goose Up
-- Organizer data a device pulls by slow synchronisation after activation.
CREATE TABLE organizer_items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    uid        TEXT NOT NULL,
    summary    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    UNIQUE (user_id, kind, uid)
);
CREATE INDEX organizer_items_page ON organizer_items (user_id, kind, id);

-- +goose Down
DROP TABLE organizer_items;
