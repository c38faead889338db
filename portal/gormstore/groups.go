package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type groupRow struct {
	ID            string `gorm:"primaryKey"`
	Name          string
	Description   string
	Members       int `gorm:"->"` // counted when read, never written
	Collaboration bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (groupRow) TableName() string { return "groups" }

func (r *groupRow) toPortal() portal.Group {
	return portal.Group{ID: r.ID, Name: r.Name, Description: r.Description, Members: r.Members, Collaboration: r.Collaboration, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func groupsWithMembers(db *gorm.DB) *gorm.DB {
	return db.Model(&groupRow{}).Select("groups.*, (SELECT count(*) FROM user_groups ug WHERE ug.group_id = groups.id) AS members")
}

func checkGroupName(tx *gorm.DB, exceptID, name string) error {
	var n int64
	if err := tx.Model(&groupRow{}).Where("lower(name) = lower(?) AND id <> ?", name, exceptID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &portal.Error{Code: portal.CodeConflict, Field: "name", Msg: "a group named " + name + " already exists"}
	}
	return nil
}

// CreateGroup stores a new group.
func (s *Store) CreateGroup(ctx context.Context, g *portal.Group) error {
	t := now()
	row := groupRow{ID: newID(), Name: g.Name, Description: g.Description, Collaboration: g.Collaboration, CreatedAt: t, UpdatedAt: t}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkGroupName(tx, "", g.Name); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return duplicate(err, "a group named %q already exists", g.Name)
		}
		return audit(ctx, tx, "create", "group", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*g = row.toPortal()
	return nil
}

// Group returns the group with this ID and its member count.
func (s *Store) Group(ctx context.Context, id string) (*portal.Group, error) {
	var r groupRow
	if err := groupsWithMembers(s.db.WithContext(ctx)).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "group", id)
	}
	g := r.toPortal()
	return &g, nil
}

// Groups lists groups by name.
func (s *Store) Groups(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.Group], error) {
	q := nameFilter(groupsWithMembers(s.db.WithContext(ctx)), "name", opt.Name)
	return list(q, "lower(name), id", opt.Limit, opt.Offset, (*groupRow).toPortal)
}

// UpdateGroup changes the fields set in p.
func (s *Store) UpdateGroup(ctx context.Context, id string, p portal.GroupPatch) (*portal.Group, error) {
	var out portal.Group
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r groupRow
		if err := groupsWithMembers(tx).Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "group", id)
		}
		before := r.toPortal()
		setIf(&r.Name, p.Name)
		setIf(&r.Description, p.Description)
		setIf(&r.Collaboration, p.Collaboration)
		r.UpdatedAt = now()
		if err := checkGroupName(tx, id, r.Name); err != nil {
			return err
		}
		err := tx.Model(&groupRow{}).Where("id = ?", id).
			Updates(map[string]any{"name": r.Name, "description": r.Description, "collaboration": r.Collaboration, "updated_at": r.UpdatedAt}).Error
		if err != nil {
			return duplicate(err, "a group named %q already exists", r.Name)
		}
		out = r.toPortal()
		return audit(ctx, tx, "update", "group", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteGroup removes a group, its memberships and its assignments.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r groupRow
		if err := groupsWithMembers(tx).Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "group", id)
		}
		if err := tx.Delete(&groupRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "group", id, r.toPortal(), nil)
	})
}
