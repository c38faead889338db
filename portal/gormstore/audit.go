package gormstore

import (
	"context"
	"encoding/json"
	"time"

	"provportal/portal"
)

type auditRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	At         time.Time
	ActorID    string
	Actor      string
	RemoteAddr string
	Action     string
	Kind       string
	ObjectID   string
	Before     *string
	After      *string
}

func (auditRow) TableName() string { return "audit_log" }

func rawOrNull(s *string) json.RawMessage {
	if s == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

func (r *auditRow) toPortal() portal.AuditEntry {
	return portal.AuditEntry{ID: r.ID, At: r.At, ActorID: r.ActorID, Actor: r.Actor, RemoteAddr: r.RemoteAddr,
		Action: r.Action, Kind: r.Kind, ObjectID: r.ObjectID, Before: rawOrNull(r.Before), After: rawOrNull(r.After)}
}

// Audit lists audit entries, newest first.
func (s *Store) Audit(ctx context.Context, f portal.AuditFilter) (portal.Page[portal.AuditEntry], error) {
	q := s.db.WithContext(ctx).Model(&auditRow{})
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.ObjectID != "" {
		q = q.Where("object_id = ?", f.ObjectID)
	}
	if f.Actor != "" {
		q = q.Where("lower(actor) = lower(?)", f.Actor)
	}
	return list(q, "id DESC", f.Limit, f.Offset, (*auditRow).toPortal)
}
