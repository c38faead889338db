package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type deviceRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       string
	Name         string
	Platform     string
	OSVersion    string
	InvitationID string
	Status       string
	Progress     int
	ErrorCode    string
	ErrorMessage string
	Installed    string // JSON object: app name -> version
	LastSeenAt   *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (deviceRow) TableName() string { return "devices" }

func (r *deviceRow) toPortal() portal.Device {
	d := portal.Device{ID: r.ID, UserID: r.UserID, Name: r.Name, Platform: r.Platform, OSVersion: r.OSVersion, Status: r.Status,
		Progress: r.Progress, LastSeenAt: r.LastSeenAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Installed: map[string]string{}}
	if r.ErrorCode != "" {
		d.Error = &portal.DeviceError{Code: r.ErrorCode, Message: r.ErrorMessage}
	}
	_ = json.Unmarshal([]byte(r.Installed), &d.Installed) // written only by CreateDevice from a map
	return d
}

// CreateDevice records a device that has made itself known.
func (s *Store) CreateDevice(ctx context.Context, d *portal.Device) error {
	installed, err := json.Marshal(d.Installed)
	if err != nil || d.Installed == nil {
		installed = []byte("{}")
	}
	t := now()
	row := deviceRow{ID: newID(), UserID: d.UserID, Name: d.Name, Platform: d.Platform, Status: d.Status,
		Progress: d.Progress, Installed: string(installed), CreatedAt: t, UpdatedAt: t}
	if d.LastSeenAt != nil {
		seen := d.LastSeenAt.UTC().Truncate(time.Microsecond)
		row.LastSeenAt = &seen
	}
	if d.Error != nil {
		row.ErrorCode, row.ErrorMessage = d.Error.Code, d.Error.Message
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("id = ?", d.UserID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return portal.Invalid("user_id", "user %s does not exist", d.UserID)
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return err
	}
	*d = row.toPortal()
	return nil
}

// Device returns the device with this ID.
func (s *Store) Device(ctx context.Context, id string) (*portal.Device, error) {
	var r deviceRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "device", id)
	}
	d := r.toPortal()
	return &d, nil
}

// Devices lists devices, most recently seen first.
func (s *Store) Devices(ctx context.Context, f portal.DeviceFilter) (portal.Page[portal.Device], error) {
	q := nameFilter(s.db.WithContext(ctx).Model(&deviceRow{}), "name", f.Name)
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	return list(q, "updated_at DESC, id DESC", f.Limit, f.Offset, (*deviceRow).toPortal)
}

// RegisterDevice records a device logging on. A device that names an ID it
// was given before, for the same user, is updated; anything else is new, so a
// device cannot take over another user's record.
func (s *Store) RegisterDevice(ctx context.Context, d *portal.Device) error {
	t := now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r deviceRow
		err := tx.Where("id = ? AND user_id = ?", d.ID, d.UserID).Take(&r).Error
		switch {
		case err == nil:
			r.Name, r.Platform, r.OSVersion, r.LastSeenAt, r.UpdatedAt = d.Name, d.Platform, d.OSVersion, &t, t
			if err := tx.Save(&r).Error; err != nil {
				return err
			}
		case errors.Is(err, gorm.ErrRecordNotFound):
			r = deviceRow{ID: newID(), UserID: d.UserID, Name: d.Name, Platform: d.Platform, OSVersion: d.OSVersion,
				Status: d.Status, Installed: "{}", LastSeenAt: &t, CreatedAt: t, UpdatedAt: t}
			if err := tx.Create(&r).Error; err != nil {
				return err
			}
		default:
			return err
		}
		*d = r.toPortal()
		return nil
	})
}

// ReportDevice records what a device says of itself.
func (s *Store) ReportDevice(ctx context.Context, id, status string, progress int, installed map[string]string, derr *portal.DeviceError) error {
	t := now()
	u := map[string]any{"status": status, "progress": progress, "last_seen_at": t, "updated_at": t, "error_code": "", "error_message": ""}
	if derr != nil {
		u["error_code"], u["error_message"] = derr.Code, derr.Message
	}
	if installed != nil {
		j, err := json.Marshal(installed)
		if err != nil {
			return err
		}
		u["installed"] = string(j)
	}
	res := s.db.WithContext(ctx).Model(&deviceRow{}).Where("id = ?", id).Updates(u)
	if res.Error != nil {
		return fmt.Errorf("gormstore: report device %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return portal.Errorf(portal.CodeNotFound, "device %s not found", id)
	}
	return nil
}

// AssignedTo gathers the apps and policies assigned to a user directly or
// through any of their groups.
func (s *Store) AssignedTo(ctx context.Context, userID string) (*portal.Assigned, error) {
	db := s.db.WithContext(ctx)
	groups := db.Model(&userGroupRow{}).Select("group_id").Where("user_id = ?", userID)
	var apps []appRow
	err := db.Preload("Artifacts", orderedArtifacts).
		Where("id IN (?)", db.Model(&assignmentRow{}).Select("app_id").
			Where("app_id IS NOT NULL AND (user_id = ? OR group_id IN (?))", userID, groups)).
		Order("lower(name)").Find(&apps).Error
	if err != nil {
		return nil, fmt.Errorf("gormstore: apps assigned to %s: %w", userID, err)
	}
	var direct, viaGroup []policyRow
	err = db.Where("id IN (?)", db.Model(&assignmentRow{}).Select("policy_id").Where("policy_id IS NOT NULL AND user_id = ?", userID)).
		Order("lower(name)").Find(&direct).Error
	if err != nil {
		return nil, fmt.Errorf("gormstore: policies assigned to %s: %w", userID, err)
	}
	err = db.Where("id IN (?)", db.Model(&assignmentRow{}).Select("policy_id").Where("policy_id IS NOT NULL AND group_id IN (?)", groups)).
		Order("lower(name)").Find(&viaGroup).Error
	if err != nil {
		return nil, fmt.Errorf("gormstore: policies assigned to %s's groups: %w", userID, err)
	}
	out := &portal.Assigned{}
	for i := range apps {
		out.Apps = append(out.Apps, apps[i].toPortal())
	}
	seen := map[string]bool{}
	for _, rows := range [][]policyRow{direct, viaGroup} {
		for i := range rows {
			if !seen[rows[i].ID] {
				seen[rows[i].ID] = true
				out.Policies = append(out.Policies, rows[i].toPortal())
			}
		}
	}
	return out, nil
}
