package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
	"provportal/sms"
)

type smsRow struct {
	ID            string `gorm:"primaryKey"`
	UserID        *string
	InvitationID  string
	To            string `gorm:"column:to_number"`
	Body          string
	State         string
	Attempts      int
	SID           string `gorm:"column:sid"`
	ErrorCode     string
	ErrorMessage  string
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	ClaimedBefore bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (smsRow) TableName() string { return "sms_messages" }

func (r *smsRow) toPortal() portal.SMSMessage {
	return portal.SMSMessage{ID: r.ID, UserID: deref(r.UserID), InvitationID: r.InvitationID, To: r.To, Body: r.Body,
		Status: r.State, Attempts: r.Attempts, SID: r.SID, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

var _ sms.Queue = (*Store)(nil)

// SMSMessages lists the outbox, newest first.
func (s *Store) SMSMessages(ctx context.Context, f portal.SMSFilter) (portal.Page[portal.SMSMessage], error) {
	q := s.db.WithContext(ctx).Model(&smsRow{})
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Status != "" {
		q = q.Where("state = ?", f.Status)
	}
	if f.To != "" {
		q = q.Where("to_number = ?", f.To)
	}
	return list(q, "created_at DESC, id DESC", f.Limit, f.Offset, (*smsRow).toPortal)
}

// smsRank orders delivery states so a late or repeated callback never moves a message backwards.
var smsRank = map[string]int{
	portal.SMSQueued: 0, portal.SMSSending: 1, portal.SMSSent: 2,
	portal.SMSDelivered: 3, portal.SMSUndelivered: 3, portal.SMSFailed: 3, portal.SMSOptedOut: 3,
}

// UpdateSMSStatus records a delivery status Twilio reported for a message.
func (s *Store) UpdateSMSStatus(ctx context.Context, sid, status, errorCode string) error {
	if _, ok := smsRank[status]; !ok || sid == "" {
		return portal.Invalid("MessageStatus", "unknown status %q", status)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r smsRow
		if err := tx.Where("sid = ?", sid).Take(&r).Error; err != nil {
			return notFound(err, "message", sid)
		}
		if smsRank[status] < smsRank[r.State] || (smsRank[r.State] == 3 && r.State != status) {
			return nil
		}
		return tx.Model(&smsRow{}).Where("id = ?", r.ID).
			Updates(map[string]any{"state": status, "error_code": errorCode, "updated_at": now()}).Error
	})
}

// Claim leases up to n due messages. On PostgreSQL, SKIP LOCKED lets several
// portal processes claim side by side without ever taking the same message;
// on SQLite the immediate transaction holds the one write lock.
func (s *Store) Claim(ctx context.Context, at time.Time, n int, lease time.Duration) ([]sms.Message, error) {
	at = at.UTC()
	until := at.Add(lease)
	skipLocked := ""
	if s.dialect == "postgres" {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	var rows []smsRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE sms_messages
			SET claimed_before = (state = 'sending'), state = 'sending', lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (
				SELECT id FROM sms_messages
				WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ?`+skipLocked+`)
			RETURNING *`, until, at, at, at, n).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("gormstore: claim messages: %w", err)
	}
	out := make([]sms.Message, len(rows))
	for i, r := range rows {
		out[i] = sms.Message{ID: r.ID, To: r.To, Body: r.Body, Attempts: r.Attempts, State: r.State, SID: r.SID,
			ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, NextAttemptAt: r.NextAttemptAt, PreviouslyClaimed: r.ClaimedBefore}
	}
	return out, nil
}

// MarkSent records that the message was handed to the carrier.
func (s *Store) MarkSent(ctx context.Context, id string, r sms.Receipt) error {
	return s.db.WithContext(ctx).Model(&smsRow{}).Where("id = ? AND state = 'sending'", id).
		Updates(map[string]any{"state": portal.SMSSent, "sid": r.SID, "lease_until": nil, "error_code": "", "error_message": "", "updated_at": now()}).Error
}

// MarkRetry puts the message back in the queue until next.
func (s *Store) MarkRetry(ctx context.Context, id string, next time.Time, code, msg string) error {
	return s.db.WithContext(ctx).Model(&smsRow{}).Where("id = ? AND state = 'sending'", id).
		Updates(map[string]any{"state": portal.SMSQueued, "next_attempt_at": next.UTC(), "lease_until": nil,
			"error_code": code, "error_message": msg, "updated_at": now()}).Error
}

// MarkFailed ends the message; an opted-out recipient is remembered so no
// further message is sent to them.
func (s *Store) MarkFailed(ctx context.Context, id string, code, msg string, optedOut bool) error {
	state := portal.SMSFailed
	if optedOut {
		state = portal.SMSOptedOut
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r smsRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "message", id)
		}
		err := tx.Model(&smsRow{}).Where("id = ?", id).
			Updates(map[string]any{"state": state, "lease_until": nil, "error_code": code, "error_message": msg, "updated_at": now()}).Error
		if err != nil || !optedOut || r.UserID == nil {
			return err
		}
		return tx.Model(&userRow{}).Where("id = ?", *r.UserID).Update("sms_opted_out", true).Error
	})
}
