package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type assignmentRow struct {
	ID        string `gorm:"primaryKey"`
	AppID     *string
	PolicyID  *string
	GroupID   *string
	UserID    *string
	TargetKey string // what is assigned to whom, unique: NULLs would defeat a unique index over the four columns
	CreatedAt time.Time
}

func (assignmentRow) TableName() string { return "assignments" }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (r *assignmentRow) toPortal() portal.Assignment {
	return portal.Assignment{ID: r.ID, AppID: deref(r.AppID), PolicyID: deref(r.PolicyID), GroupID: deref(r.GroupID), UserID: deref(r.UserID), CreatedAt: r.CreatedAt}
}

// CreateAssignment deploys an app or policy to a group or user. The caller
// has checked that exactly one of each pair is set; this checks they exist.
func (s *Store) CreateAssignment(ctx context.Context, a *portal.Assignment) error {
	row := assignmentRow{ID: newID(), AppID: ptr(a.AppID), PolicyID: ptr(a.PolicyID), GroupID: ptr(a.GroupID), UserID: ptr(a.UserID), CreatedAt: now()}
	row.TargetKey = "app:" + a.AppID + "|policy:" + a.PolicyID + "|group:" + a.GroupID + "|user:" + a.UserID
	err := s.tx(ctx, func(tx *gorm.DB) error {
		refs := []struct {
			field, id string
			model     any
		}{
			{"app_id", a.AppID, &appRow{}}, {"policy_id", a.PolicyID, &policyRow{}},
			{"group_id", a.GroupID, &groupRow{}}, {"user_id", a.UserID, &userRow{}},
		}
		for _, ref := range refs {
			if ref.id == "" {
				continue
			}
			var n int64
			if err := tx.Model(ref.model).Where("id = ?", ref.id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return portal.Invalid(ref.field, "%s does not exist", ref.id)
			}
		}
		var n int64
		if err := tx.Model(&assignmentRow{}).Where("target_key = ?", row.TargetKey).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return portal.Errorf(portal.CodeConflict, "this assignment already exists")
		}
		if err := tx.Create(&row).Error; err != nil {
			return duplicate(err, "this assignment already exists")
		}
		return audit(ctx, tx, "create", "assignment", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*a = row.toPortal()
	return nil
}

// Assignment returns the assignment with this ID.
func (s *Store) Assignment(ctx context.Context, id string) (*portal.Assignment, error) {
	var r assignmentRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "assignment", id)
	}
	a := r.toPortal()
	return &a, nil
}

// Assignments lists assignments, newest first.
func (s *Store) Assignments(ctx context.Context, f portal.AssignmentFilter) (portal.Page[portal.Assignment], error) {
	q := s.db.WithContext(ctx).Model(&assignmentRow{})
	for col, v := range map[string]string{"app_id": f.AppID, "policy_id": f.PolicyID, "group_id": f.GroupID, "user_id": f.UserID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	return list(q, "created_at DESC, id DESC", f.Limit, f.Offset, (*assignmentRow).toPortal)
}

// DeleteAssignment withdraws an assignment.
func (s *Store) DeleteAssignment(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r assignmentRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "assignment", id)
		}
		if err := tx.Delete(&assignmentRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "assignment", id, r.toPortal(), nil)
	})
}
