package gormstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type secretRow struct {
	Name      string `gorm:"primaryKey"`
	Value     []byte
	CreatedAt time.Time
}

func (secretRow) TableName() string { return "portal_secrets" }

// Secret returns the named secret, creating it with gen the first time. When
// two processes race to create it, both end up with the one that was stored.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	db := s.db.WithContext(ctx)
	var r secretRow
	err := db.Where("name = ?", name).Take(&r).Error
	if err == nil {
		return r.Value, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("gormstore: secret %s: %w", name, err)
	}
	v, err := gen()
	if err != nil {
		return nil, err
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&secretRow{Name: name, Value: v, CreatedAt: now()}).Error; err != nil {
		return nil, fmt.Errorf("gormstore: store secret %s: %w", name, err)
	}
	if err := db.Where("name = ?", name).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("gormstore: secret %s: %w", name, err)
	}
	return r.Value, nil
}
