package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type invitationRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	UsedAt    *time.Time
}

func (invitationRow) TableName() string { return "invitations" }

func (r *invitationRow) toPortal() portal.Invitation {
	return portal.Invitation{ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, UsedAt: r.UsedAt}
}

// CreateInvitation stores an invitation and queues its message, together.
func (s *Store) CreateInvitation(ctx context.Context, inv *portal.Invitation, tokenHash string, msg *portal.SMSMessage) error {
	t := now()
	row := invitationRow{ID: newID(), UserID: inv.UserID, TokenHash: tokenHash, CreatedAt: t, ExpiresAt: inv.ExpiresAt.UTC()}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("id = ?", inv.UserID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return portal.Invalid("user_ids", "user %s does not exist", inv.UserID)
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := audit(ctx, tx, "create", "invitation", row.ID, nil, row.toPortal()); err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
		m := smsRow{ID: newID(), UserID: &inv.UserID, InvitationID: row.ID, To: msg.To, Body: msg.Body,
			State: portal.SMSQueued, NextAttemptAt: t, CreatedAt: t, UpdatedAt: t}
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		*msg = m.toPortal()
		return nil
	})
	if err != nil {
		return err
	}
	*inv = row.toPortal()
	return nil
}

// InvitationByTokenHash finds the invitation whose token hashes to tokenHash.
func (s *Store) InvitationByTokenHash(ctx context.Context, tokenHash string) (*portal.Invitation, error) {
	var r invitationRow
	if err := s.db.WithContext(ctx).Where("token_hash = ?", tokenHash).Take(&r).Error; err != nil {
		return nil, notFound(err, "invitation", "")
	}
	inv := r.toPortal()
	return &inv, nil
}

// Invitations lists a user's invitations (all users' when userID is empty), newest first.
func (s *Store) Invitations(ctx context.Context, userID string, opt portal.ListOptions) (portal.Page[portal.Invitation], error) {
	q := s.db.WithContext(ctx).Model(&invitationRow{})
	if userID != "" {
		q = q.Where("user_id = ?", userID)
	}
	return list(q, "created_at DESC, id DESC", opt.Limit, opt.Offset, (*invitationRow).toPortal)
}

// RevokeInvitation ends an invitation now.
func (s *Store) RevokeInvitation(ctx context.Context, id string) (*portal.Invitation, error) {
	var out portal.Invitation
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r invitationRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "invitation", id)
		}
		before := r.toPortal()
		if r.RevokedAt == nil {
			t := now()
			r.RevokedAt = &t
			if err := tx.Model(&invitationRow{}).Where("id = ?", id).Update("revoked_at", t).Error; err != nil {
				return err
			}
		}
		out = r.toPortal()
		return audit(ctx, tx, "revoke", "invitation", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// MarkInvitationUsed records that a device logged on with the invitation.
func (s *Store) MarkInvitationUsed(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Model(&invitationRow{}).Where("id = ? AND used_at IS NULL", id).Update("used_at", now()).Error
}
