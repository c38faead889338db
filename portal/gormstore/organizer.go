package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"provportal/portal"
)

type organizerRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	UserID    string
	Kind      string
	UID       string `gorm:"column:uid"`
	Summary   string
	Data      string
	UpdatedAt time.Time
}

func (organizerRow) TableName() string { return "organizer_items" }

// PutOrganizerItems upserts items by kind and UID, all in one transaction.
func (s *Store) PutOrganizerItems(ctx context.Context, userID string, items []portal.OrganizerItem) (int, int, error) {
	added, replaced := 0, 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("id = ?", userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return portal.Errorf(portal.CodeNotFound, "user %s not found", userID)
		}
		t := now()
		for _, it := range items {
			var existing int64
			if err := tx.Model(&organizerRow{}).Where("user_id = ? AND kind = ? AND uid = ?", userID, it.Kind, it.UID).Count(&existing).Error; err != nil {
				return err
			}
			// A replaced item gets a new ID, so a device part way through a
			// sync still receives the new version after its cursor.
			if existing > 0 {
				replaced++
				if err := tx.Where("user_id = ? AND kind = ? AND uid = ?", userID, it.Kind, it.UID).Delete(&organizerRow{}).Error; err != nil {
					return err
				}
			} else {
				added++
			}
			row := organizerRow{UserID: userID, Kind: it.Kind, UID: it.UID, Summary: it.Summary, Data: string(it.Data), UpdatedAt: t}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
				return err
			}
		}
		return audit(ctx, tx, "import_organizer", "user", userID, nil, map[string]int{"added": added, "replaced": replaced})
	})
	return added, replaced, err
}

func (r *organizerRow) toPortal() portal.OrganizerItem {
	return portal.OrganizerItem{ID: r.ID, Kind: r.Kind, UID: r.UID, Summary: r.Summary, Data: []byte(r.Data)}
}

// OrganizerItems returns up to limit items of a kind after an ID, in ID order.
func (s *Store) OrganizerItems(ctx context.Context, userID, kind string, afterID int64, limit int) ([]portal.OrganizerItem, error) {
	var rows []organizerRow
	err := s.db.WithContext(ctx).Where("user_id = ? AND kind = ? AND id > ?", userID, kind, afterID).Order("id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("gormstore: organizer items: %w", err)
	}
	out := make([]portal.OrganizerItem, len(rows))
	for i := range rows {
		out[i] = rows[i].toPortal()
	}
	return out, nil
}

// CountOrganizerItems counts a user's items per kind.
func (s *Store) CountOrganizerItems(ctx context.Context, userID string) (map[string]int, error) {
	var rows []struct {
		Kind string
		N    int
	}
	err := s.db.WithContext(ctx).Model(&organizerRow{}).Select("kind, count(*) AS n").Where("user_id = ?", userID).Group("kind").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Kind] = r.N
	}
	return out, nil
}

// CountOrganizerItemsUpTo counts a kind's items with IDs up to uptoID.
func (s *Store) CountOrganizerItemsUpTo(ctx context.Context, userID, kind string, uptoID int64) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&organizerRow{}).Where("user_id = ? AND kind = ? AND id <= ?", userID, kind, uptoID).Count(&n).Error
	return int(n), err
}

// DeleteOrganizerItems removes a user's items of a kind (all kinds when empty).
func (s *Store) DeleteOrganizerItems(ctx context.Context, userID, kind string) (int, error) {
	var deleted int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("user_id = ?", userID)
		if kind != "" {
			q = q.Where("kind = ?", kind)
		}
		res := q.Delete(&organizerRow{})
		if res.Error != nil {
			return res.Error
		}
		deleted = int(res.RowsAffected)
		return audit(ctx, tx, "delete_organizer", "user", userID, map[string]any{"kind": kind, "deleted": deleted}, nil)
	})
	return deleted, err
}
