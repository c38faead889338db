package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"provportal/portal"
)

// settingCollaboration names the collaboration settings in the settings table, as JSON.
const settingCollaboration = "collaboration"

var _ portal.CollaborationStore = (*Store)(nil)

// CollaborationSettings returns the stored settings, or the defaults.
func (s *Store) CollaborationSettings(ctx context.Context) (portal.CollaborationSettings, error) {
	return collaborationSettings(s.db.WithContext(ctx))
}

func collaborationSettings(db *gorm.DB) (portal.CollaborationSettings, error) {
	out := portal.DefaultCollaborationSettings()
	var r settingRow
	err := db.Where("name = ?", settingCollaboration).Take(&r).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return out, nil
	case err != nil:
		return out, fmt.Errorf("gormstore: collaboration settings: %w", err)
	}
	if err := json.Unmarshal([]byte(r.Value), &out); err != nil {
		return out, fmt.Errorf("gormstore: stored collaboration settings: %w", err)
	}
	return out, nil
}

// PutCollaborationSettings replaces the settings, audited with the old and new values.
func (s *Store) PutCollaborationSettings(ctx context.Context, cs portal.CollaborationSettings) error {
	value, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		before, err := collaborationSettings(tx)
		if err != nil {
			return err
		}
		row := settingRow{Name: settingCollaboration, Value: string(value), UpdatedAt: now()}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("gormstore: save collaboration settings: %w", err)
		}
		return audit(ctx, tx, "update", "collaboration_settings", settingCollaboration, before, cs)
	})
}

// MayCollaborate reports whether the user's own flag or any of their groups' flag is set.
func (s *Store) MayCollaborate(ctx context.Context, userID string) (bool, error) {
	db := s.db.WithContext(ctx)
	var u userRow
	if err := db.Select("id", "collaboration").Where("id = ?", userID).Take(&u).Error; err != nil {
		return false, notFound(err, "user", userID)
	}
	if u.Collaboration {
		return true, nil
	}
	var n int64
	err := db.Model(&groupRow{}).
		Where("collaboration AND id IN (?)", db.Model(&userGroupRow{}).Select("group_id").Where("user_id = ?", userID)).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("gormstore: collaboration of %s's groups: %w", userID, err)
	}
	return n > 0, nil
}

// EndCollaborationSession records an administrator ending a live session:
// the audit entry and the device's timeline event land together.
func (s *Store) EndCollaborationSession(ctx context.Context, cs portal.CollaborationSession) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := audit(ctx, tx, "end", "collaboration_session", cs.ID, cs, nil); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&deviceRow{}).Where("id = ?", cs.DeviceID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return nil // the device was deleted meanwhile: no timeline to show it on
		}
		detail, err := json.Marshal(map[string]any{"session_id": cs.ID, "reason": portal.EndByAdmin, "by": portal.ActorFrom(ctx).Username})
		if err != nil {
			return err
		}
		return tx.Create(&deviceEventRow{DeviceID: cs.DeviceID, At: now(), Stage: portal.StageCollaboration,
			Event: portal.EventCollaborationEnded, Detail: string(detail)}).Error
	})
}

// collaborationKeyRow reads a device's collaboration key alone, which
// deviceRow leaves out so that no other read of a device carries it.
type collaborationKeyRow struct {
	ID               string
	CollaborationKey []byte
}

func (collaborationKeyRow) TableName() string { return "devices" }

// SetDeviceCollaborationKey keeps (or, with nil, forgets) a device's sealed collaboration key.
func (s *Store) SetDeviceCollaborationKey(ctx context.Context, deviceID string, sealed []byte) error {
	var value any // NULL, not an empty blob, for no key
	if sealed != nil {
		value = sealed
	}
	res := s.db.WithContext(ctx).Model(&deviceRow{}).Where("id = ?", deviceID).UpdateColumn("collaboration_key", value)
	if res.Error != nil {
		return fmt.Errorf("gormstore: collaboration key of device %s: %w", deviceID, res.Error)
	}
	if res.RowsAffected == 0 {
		return portal.Errorf(portal.CodeNotFound, "device %s not found", deviceID)
	}
	return nil
}

// DeviceCollaborationKey returns a device's sealed collaboration key, nil when it has none.
func (s *Store) DeviceCollaborationKey(ctx context.Context, deviceID string) ([]byte, error) {
	var r collaborationKeyRow
	err := s.db.WithContext(ctx).Where("id = ?", deviceID).Take(&r).Error
	if err != nil {
		return nil, notFound(err, "device", deviceID)
	}
	if len(r.CollaborationKey) == 0 {
		return nil, nil
	}
	return r.CollaborationKey, nil
}
