package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type userRow struct {
	ID            string `gorm:"primaryKey"`
	Username      string
	Email         string
	Phone         string
	DisplayName   string
	PasswordHash  string
	SMSOptedOut   bool `gorm:"column:sms_opted_out"`
	Collaboration bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Groups        []userGroupRow `gorm:"foreignKey:UserID"`
}

func (userRow) TableName() string { return "users" }

type userGroupRow struct {
	UserID  string `gorm:"primaryKey"`
	GroupID string `gorm:"primaryKey"`
}

func (userGroupRow) TableName() string { return "user_groups" }

func (r *userRow) toPortal() portal.User {
	u := portal.User{
		ID: r.ID, Username: r.Username, Email: r.Email, Phone: r.Phone, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, HasPassword: r.PasswordHash != "", SMSOptedOut: r.SMSOptedOut,
		Collaboration: r.Collaboration,
		Groups:        make([]string, 0, len(r.Groups)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, g := range r.Groups {
		u.Groups = append(u.Groups, g.GroupID)
	}
	return u
}

// orderedGroups loads memberships in a stable order.
func orderedGroups(db *gorm.DB) *gorm.DB { return db.Order("group_id") }

// CreateUser stores a new user and their group memberships.
func (s *Store) CreateUser(ctx context.Context, u *portal.User) error {
	t := now()
	row := userRow{ID: newID(), Username: u.Username, Email: u.Email, Phone: u.Phone, DisplayName: u.DisplayName, PasswordHash: u.PasswordHash, Collaboration: u.Collaboration, CreatedAt: t, UpdatedAt: t}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkUserUnique(tx, "", row.Username, row.Email); err != nil {
			return err
		}
		if err := tx.Omit("Groups").Create(&row).Error; err != nil {
			return duplicate(err, "a user named %q or with e-mail %q already exists", row.Username, row.Email)
		}
		if err := setUserGroups(tx, row.ID, u.Groups); err != nil {
			return err
		}
		if err := tx.Preload("Groups", orderedGroups).Take(&row, "id = ?", row.ID).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "create", "user", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*u = row.toPortal()
	return nil
}

// checkUserUnique names the field that clashes with another user; the unique
// indexes stay the last word when two requests race.
func checkUserUnique(tx *gorm.DB, exceptID, username, email string) error {
	var n int64
	q := tx.Model(&userRow{}).Where("lower(username) = lower(?) AND id <> ?", username, exceptID)
	if err := q.Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &portal.Error{Code: portal.CodeConflict, Field: "username", Msg: "a user named " + username + " already exists"}
	}
	if email == "" {
		return nil
	}
	q = tx.Model(&userRow{}).Where("lower(email) = lower(?) AND id <> ?", email, exceptID)
	if err := q.Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &portal.Error{Code: portal.CodeConflict, Field: "email", Msg: "another user already has the e-mail address " + email}
	}
	return nil
}

// setUserGroups replaces the user's memberships, refusing groups that do not exist.
func setUserGroups(tx *gorm.DB, userID string, groups []string) error {
	if err := tx.Where("user_id = ?", userID).Delete(&userGroupRow{}).Error; err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, gid := range groups {
		if seen[gid] {
			continue
		}
		seen[gid] = true
		var n int64
		if err := tx.Model(&groupRow{}).Where("id = ?", gid).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return portal.Invalid("groups", "group %s does not exist", gid)
		}
		if err := tx.Create(&userGroupRow{UserID: userID, GroupID: gid}).Error; err != nil {
			return err
		}
	}
	return nil
}

// User returns the user with this ID.
func (s *Store) User(ctx context.Context, id string) (*portal.User, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Preload("Groups", orderedGroups).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "user", id)
	}
	u := r.toPortal()
	return &u, nil
}

// UserByUsername returns the user with this username, ignoring case.
func (s *Store) UserByUsername(ctx context.Context, username string) (*portal.User, error) {
	var r userRow
	err := s.db.WithContext(ctx).Preload("Groups", orderedGroups).Where("lower(username) = lower(?)", username).Take(&r).Error
	if err != nil {
		return nil, notFound(err, "user", username)
	}
	u := r.toPortal()
	return &u, nil
}

// Users lists users by username.
func (s *Store) Users(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.User], error) {
	q := nameFilter(s.db.WithContext(ctx).Model(&userRow{}), "username", opt.Name).Preload("Groups", orderedGroups)
	return list(q, "lower(username), id", opt.Limit, opt.Offset, (*userRow).toPortal)
}

// UpdateUser changes the fields set in p.
func (s *Store) UpdateUser(ctx context.Context, id string, p portal.UserPatch) (*portal.User, error) {
	var out portal.User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r userRow
		if err := tx.Preload("Groups", orderedGroups).Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "user", id)
		}
		before := r.toPortal()
		setIf(&r.Username, p.Username)
		setIf(&r.Email, p.Email)
		setIf(&r.Phone, p.Phone)
		setIf(&r.DisplayName, p.DisplayName)
		setIf(&r.PasswordHash, p.PasswordHash)
		setIf(&r.Collaboration, p.Collaboration)
		r.UpdatedAt = now()
		if err := checkUserUnique(tx, id, r.Username, r.Email); err != nil {
			return err
		}
		if err := tx.Omit("Groups").Save(&r).Error; err != nil {
			return duplicate(err, "a user named %q or with e-mail %q already exists", r.Username, r.Email)
		}
		if p.Groups != nil {
			if err := setUserGroups(tx, id, *p.Groups); err != nil {
				return err
			}
		}
		if err := tx.Preload("Groups", orderedGroups).Take(&r, "id = ?", id).Error; err != nil {
			return err
		}
		out = r.toPortal()
		return audit(ctx, tx, "update", "user", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser removes a user with their memberships, assignments and devices.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r userRow
		if err := tx.Preload("Groups", orderedGroups).Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "user", id)
		}
		if err := tx.Delete(&userRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "user", id, r.toPortal(), nil)
	})
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
