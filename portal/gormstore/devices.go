package gormstore

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type deviceRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       string
	Name         string
	Platform     string
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
	d := portal.Device{ID: r.ID, UserID: r.UserID, Name: r.Name, Platform: r.Platform, Status: r.Status,
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
		Progress: d.Progress, Installed: string(installed), LastSeenAt: d.LastSeenAt, CreatedAt: t, UpdatedAt: t}
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
