package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"provportal/portal"
)

type activationPasswordRow struct {
	UserID     string `gorm:"primaryKey"`
	ID         string
	PRS        []byte `gorm:"column:prs"`
	Salt       []byte
	KDFParams  string `gorm:"column:kdf_params"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Failures   int
	DeadAt     *time.Time
	DeadReason string
}

func (activationPasswordRow) TableName() string { return "activation_passwords" }

func (r *activationPasswordRow) toPortal() portal.ActivationPassword {
	return portal.ActivationPassword{ID: r.ID, UserID: r.UserID, PRS: r.PRS, Salt: r.Salt, KDFParams: r.KDFParams,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Failures: r.Failures, DeadAt: r.DeadAt, DeadReason: r.DeadReason}
}

// SetActivationPassword replaces the user's activation password.
func (s *Store) SetActivationPassword(ctx context.Context, p *portal.ActivationPassword) error {
	row := activationPasswordRow{UserID: p.UserID, ID: newID(), PRS: p.PRS, Salt: p.Salt, KDFParams: p.KDFParams,
		CreatedAt: now(), ExpiresAt: p.ExpiresAt.UTC().Truncate(time.Microsecond)}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("id = ?", p.UserID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return portal.Errorf(portal.CodeNotFound, "user %s not found", p.UserID)
		}
		var before *portal.ActivationPassword
		var old activationPasswordRow
		if err := tx.Where("user_id = ?", p.UserID).Take(&old).Error; err == nil {
			b := old.toPortal()
			before = &b
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}}, UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		var b any
		if before != nil {
			b = before
		}
		return audit(ctx, tx, "set_activation_password", "user", p.UserID, b, row.toPortal())
	})
	if err != nil {
		return err
	}
	*p = row.toPortal()
	return nil
}

// ActivationPassword returns the user's activation password record.
func (s *Store) ActivationPassword(ctx context.Context, userID string) (*portal.ActivationPassword, error) {
	var r activationPasswordRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Take(&r).Error; err != nil {
		return nil, notFound(err, "activation password for user", userID)
	}
	p := r.toPortal()
	return &p, nil
}

// ClearActivationPassword removes the user's activation password.
func (s *Store) ClearActivationPassword(ctx context.Context, userID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r activationPasswordRow
		if err := tx.Where("user_id = ?", userID).Take(&r).Error; err != nil {
			return notFound(err, "activation password for user", userID)
		}
		if err := tx.Delete(&activationPasswordRow{}, "user_id = ?", userID).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "clear_activation_password", "user", userID, r.toPortal(), nil)
	})
}

// BeginActivationAttempt spends one attempt in one statement, so
// concurrent attempts all count and none passes the limit.
func (s *Store) BeginActivationAttempt(ctx context.Context, passwordID string, at time.Time) (*portal.ActivationPassword, bool, error) {
	at = at.UTC()
	var (
		out portal.ActivationPassword
		ok  bool
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE activation_passwords SET failures = failures + 1
			WHERE id = ? AND dead_at IS NULL AND expires_at > ? AND failures < ?`, passwordID, at, portal.MaxActivationFailures)
		if res.Error != nil {
			return fmt.Errorf("gormstore: activation attempt: %w", res.Error)
		}
		ok = res.RowsAffected == 1
		if !ok {
			// Out of attempts: make it dead for good, so the admin sees why.
			if err := tx.Model(&activationPasswordRow{}).
				Where("id = ? AND dead_at IS NULL AND failures >= ?", passwordID, portal.MaxActivationFailures).
				Updates(map[string]any{"dead_at": now(), "dead_reason": portal.ActivationTooManyAttempts}).Error; err != nil {
				return err
			}
		}
		var r activationPasswordRow
		if err := tx.Where("id = ?", passwordID).Take(&r).Error; err != nil {
			return notFound(err, "activation password", passwordID)
		}
		out = r.toPortal()
		return audit(ctx, tx, "activation_attempt", "user", r.UserID, nil,
			map[string]any{"password_id": passwordID, "allowed": ok, "attempts": r.Failures, "state": out.State(at)})
	})
	if err != nil {
		return nil, false, err
	}
	return &out, ok, nil
}

// FailActivationAttempt kills the password once its attempts are spent.
func (s *Store) FailActivationAttempt(ctx context.Context, passwordID string) (*portal.ActivationPassword, error) {
	var out portal.ActivationPassword
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&activationPasswordRow{}).
			Where("id = ? AND dead_at IS NULL AND failures >= ?", passwordID, portal.MaxActivationFailures).
			Updates(map[string]any{"dead_at": now(), "dead_reason": portal.ActivationTooManyAttempts})
		if res.Error != nil {
			return res.Error
		}
		var r activationPasswordRow
		if err := tx.Where("id = ?", passwordID).Take(&r).Error; err != nil {
			return notFound(err, "activation password", passwordID)
		}
		out = r.toPortal()
		action := "activation_failed"
		if res.RowsAffected == 1 {
			action = "activation_password_locked"
		}
		return audit(ctx, tx, action, "user", r.UserID, nil, map[string]any{"password_id": passwordID, "failures": r.Failures})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ConsumeActivationPassword marks a live password used; one statement, so of
// two devices racing with one password exactly one sees it succeed.
func (s *Store) ConsumeActivationPassword(ctx context.Context, passwordID string, at time.Time) (bool, error) {
	at = at.UTC()
	var won bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&activationPasswordRow{}).
			Where("id = ? AND dead_at IS NULL AND expires_at > ?", passwordID, at).
			Updates(map[string]any{"dead_at": at, "dead_reason": portal.ActivationUsed})
		if res.Error != nil {
			return res.Error
		}
		won = res.RowsAffected == 1
		if !won {
			return nil
		}
		var r activationPasswordRow
		if err := tx.Where("id = ?", passwordID).Take(&r).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "activation_password_used", "user", r.UserID, nil, map[string]any{"password_id": passwordID})
	})
	return won, err
}

// UserByEmail returns the user with this e-mail address, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (*portal.User, error) {
	var r userRow
	err := s.db.WithContext(ctx).Preload("Groups", orderedGroups).Where("email <> '' AND lower(email) = lower(?)", email).Take(&r).Error
	if err != nil {
		return nil, notFound(err, "user with e-mail", email)
	}
	u := r.toPortal()
	return &u, nil
}

type activationSessionRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	DeviceID   string
	PasswordID string
	Step       string
	State      []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time
}

func (activationSessionRow) TableName() string { return "activation_sessions" }

// CreateActivationSession starts keeping an activation's state.
func (s *Store) CreateActivationSession(ctx context.Context, a *portal.ActivationSession) error {
	t := now()
	row := activationSessionRow{ID: newID(), UserID: a.UserID, DeviceID: a.DeviceID, PasswordID: a.PasswordID,
		Step: a.Step, State: a.State, CreatedAt: t, UpdatedAt: t, ExpiresAt: a.ExpiresAt.UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("gormstore: create activation session: %w", err)
	}
	a.ID, a.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ActivationSession returns an activation in progress.
func (s *Store) ActivationSession(ctx context.Context, id string) (*portal.ActivationSession, error) {
	var r activationSessionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "activation session", id)
	}
	return &portal.ActivationSession{ID: r.ID, UserID: r.UserID, DeviceID: r.DeviceID, PasswordID: r.PasswordID,
		Step: r.Step, State: r.State, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}, nil
}

// UpdateActivationSession moves an activation to its next step.
func (s *Store) UpdateActivationSession(ctx context.Context, id, step string, state []byte) error {
	res := s.db.WithContext(ctx).Model(&activationSessionRow{}).Where("id = ?", id).
		Updates(map[string]any{"step": step, "state": state, "updated_at": now()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return portal.Errorf(portal.CodeNotFound, "activation session %s not found", id)
	}
	return nil
}

type deviceEventRow struct {
	ID       int64 `gorm:"primaryKey;autoIncrement"`
	DeviceID string
	At       time.Time
	Stage    string
	Event    string
	Detail   string
}

func (deviceEventRow) TableName() string { return "device_events" }

// AddDeviceEvent appends a step to the device's timeline.
func (s *Store) AddDeviceEvent(ctx context.Context, deviceID, stage, event string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	j, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Create(&deviceEventRow{DeviceID: deviceID, At: now(), Stage: stage, Event: event, Detail: string(j)}).Error
}

// DeviceEvents returns the device's timeline, oldest first.
func (s *Store) DeviceEvents(ctx context.Context, deviceID string) ([]portal.DeviceEvent, error) {
	var rows []deviceEventRow
	if err := s.db.WithContext(ctx).Where("device_id = ?", deviceID).Order("id").Limit(1000).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]portal.DeviceEvent, len(rows))
	for i, r := range rows {
		out[i] = portal.DeviceEvent{ID: r.ID, At: r.At, Stage: r.Stage, Event: r.Event}
		_ = json.Unmarshal([]byte(r.Detail), &out[i].Detail)
	}
	return out, nil
}
