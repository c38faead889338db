package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"provportal/portal"
)

type throttleRow struct {
	Key           string `gorm:"primaryKey"`
	Failures      int
	LastFailureAt time.Time
	BlockedUntil  time.Time
}

func (throttleRow) TableName() string { return "login_throttle" }

// BlockedUntil returns the latest time any of keys is blocked until.
func (s *Store) BlockedUntil(ctx context.Context, at time.Time, keys ...string) (time.Time, error) {
	var rows []throttleRow
	if err := s.db.WithContext(ctx).Where("key IN ?", keys).Find(&rows).Error; err != nil {
		return time.Time{}, err
	}
	var until time.Time
	for _, r := range rows {
		if r.BlockedUntil.After(at) && r.BlockedUntil.After(until) {
			until = r.BlockedUntil
		}
	}
	return until, nil
}

// RecordFailure counts one more failure against each key.
func (s *Store) RecordFailure(ctx context.Context, at time.Time, keys ...string) (time.Time, error) {
	at = at.UTC()
	var until time.Time
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, key := range keys {
			// Make sure the row exists before locking it: FOR UPDATE locks
			// nothing on a missing row, and concurrent first failures would
			// then overwrite each other's count.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&throttleRow{Key: key}).Error; err != nil {
				return err
			}
			var r throttleRow
			if err := tx.Clauses(lockForUpdate(s.dialect)...).Where("key = ?", key).Take(&r).Error; err != nil {
				return err
			}
			if at.Sub(r.LastFailureAt) > portal.ThrottleMemory {
				r.Failures = 0
			}
			r.Failures++
			r.LastFailureAt = at
			r.BlockedUntil = at.Add(portal.ThrottleDelay(key, r.Failures))
			if r.BlockedUntil.After(until) {
				until = r.BlockedUntil
			}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&r).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return until, err
}

// Reset forgets failures after a successful logon.
func (s *Store) Reset(ctx context.Context, keys ...string) error {
	return s.db.WithContext(ctx).Where("key IN ?", keys).Delete(&throttleRow{}).Error
}

// lockForUpdate locks the rows read on PostgreSQL; SQLite transactions here
// are immediate, so they already hold the one write lock.
func lockForUpdate(dialect string) []clause.Expression {
	if dialect == "postgres" {
		return []clause.Expression{clause.Locking{Strength: "UPDATE"}}
	}
	return nil
}
