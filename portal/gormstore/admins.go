package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type adminRow struct {
	ID           string `gorm:"primaryKey"`
	Username     string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (adminRow) TableName() string { return "admins" }

func (r *adminRow) toPortal() portal.Admin {
	return portal.Admin{ID: r.ID, Username: r.Username, Role: portal.Role(r.Role), PasswordHash: r.PasswordHash, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// CreateAdmin stores a new administrator; a.ID and the times are set here.
func (s *Store) CreateAdmin(ctx context.Context, a *portal.Admin) error {
	t := now()
	row := adminRow{ID: newID(), Username: a.Username, Role: string(a.Role), PasswordHash: a.PasswordHash, CreatedAt: t, UpdatedAt: t}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&adminRow{}).Where("lower(username) = lower(?)", a.Username).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return portal.Errorf(portal.CodeConflict, "an administrator named %q already exists", a.Username)
		}
		if err := tx.Create(&row).Error; err != nil {
			return duplicate(err, "an administrator named %q already exists", a.Username)
		}
		created := row.toPortal()
		return audit(ctx, tx, "create", "admin", row.ID, nil, created)
	})
	if err != nil {
		return err
	}
	*a = row.toPortal()
	return nil
}

// Admin returns the administrator with this ID.
func (s *Store) Admin(ctx context.Context, id string) (*portal.Admin, error) {
	var r adminRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "administrator", id)
	}
	a := r.toPortal()
	return &a, nil
}

// AdminByUsername returns the administrator with this username, ignoring case.
func (s *Store) AdminByUsername(ctx context.Context, username string) (*portal.Admin, error) {
	var r adminRow
	if err := s.db.WithContext(ctx).Where("lower(username) = lower(?)", username).Take(&r).Error; err != nil {
		return nil, notFound(err, "administrator", username)
	}
	a := r.toPortal()
	return &a, nil
}

// Admins lists administrators by username.
func (s *Store) Admins(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.Admin], error) {
	q := nameFilter(s.db.WithContext(ctx).Model(&adminRow{}), "username", opt.Name)
	return list(q, "lower(username), id", opt.Limit, opt.Offset, (*adminRow).toPortal)
}

// CountAdmins counts administrators.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&adminRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("gormstore: count admins: %w", err)
	}
	return int(n), nil
}

// DeleteAdmin removes an administrator, refusing to remove the last one with the admin role.
func (s *Store) DeleteAdmin(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r adminRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "administrator", id)
		}
		if r.Role == string(portal.RoleAdmin) {
			// Lock every admin-role row, so two deletions at once cannot
			// each see the other's victim and leave no administrator.
			var ids []string
			err := tx.Clauses(lockForUpdate(s.dialect)...).Model(&adminRow{}).
				Where("role = ?", string(portal.RoleAdmin)).Order("id").Pluck("id", &ids).Error
			if err != nil {
				return err
			}
			if len(ids) <= 1 {
				return portal.Errorf(portal.CodeConflict, "%s is the last administrator with the admin role and cannot be removed", r.Username)
			}
		}
		if err := tx.Delete(&adminRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "admin", id, r.toPortal(), nil)
	})
}
