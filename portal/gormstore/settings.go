package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type settingRow struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (settingRow) TableName() string { return "settings" }

// Setting returns a setting's value and whether it is set.
func (s *Store) Setting(ctx context.Context, name string) (string, bool, error) {
	var r settingRow
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return r.Value, true, nil
}

// PutSetting sets a setting, audited with its old and new value.
func (s *Store) PutSetting(ctx context.Context, name, value string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var before any
		var r settingRow
		if err := tx.Where("name = ?", name).Take(&r).Error; err == nil {
			before = map[string]string{name: r.Value}
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		row := settingRow{Name: name, Value: value, UpdatedAt: now()}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "update", "setting", name, before, map[string]string{name: value})
	})
}
