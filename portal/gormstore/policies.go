package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type policyRow struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	Description string
	Rules       string // JSON object, validated by portal.DecodeRules on the way in and out
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (policyRow) TableName() string { return "policies" }

func (r *policyRow) toPortal() portal.Policy {
	rules, err := portal.DecodeRules([]byte(r.Rules))
	if err != nil {
		// Only validated rules are ever written; a rule dropped from the
		// catalogue is skipped rather than failing the whole read.
		rules = portal.Rules{}
	}
	return portal.Policy{ID: r.ID, Name: r.Name, Description: r.Description, Rules: rules, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func rulesJSON(r portal.Rules) (string, error) {
	if r == nil {
		r = portal.Rules{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode rules: %w", err)
	}
	return string(b), nil
}

func checkPolicyName(tx *gorm.DB, exceptID, name string) error {
	var n int64
	if err := tx.Model(&policyRow{}).Where("lower(name) = lower(?) AND id <> ?", name, exceptID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &portal.Error{Code: portal.CodeConflict, Field: "name", Msg: "a policy named " + name + " already exists"}
	}
	return nil
}

// CreatePolicy stores a new policy.
func (s *Store) CreatePolicy(ctx context.Context, p *portal.Policy) error {
	rules, err := rulesJSON(p.Rules)
	if err != nil {
		return err
	}
	t := now()
	row := policyRow{ID: newID(), Name: p.Name, Description: p.Description, Rules: rules, CreatedAt: t, UpdatedAt: t}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkPolicyName(tx, "", p.Name); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return duplicate(err, "a policy named %q already exists", p.Name)
		}
		return audit(ctx, tx, "create", "policy", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*p = row.toPortal()
	return nil
}

// Policy returns the policy with this ID.
func (s *Store) Policy(ctx context.Context, id string) (*portal.Policy, error) {
	var r policyRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "policy", id)
	}
	p := r.toPortal()
	return &p, nil
}

// Policies lists policies by name.
func (s *Store) Policies(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.Policy], error) {
	q := nameFilter(s.db.WithContext(ctx).Model(&policyRow{}), "name", opt.Name)
	return list(q, "lower(name), id", opt.Limit, opt.Offset, (*policyRow).toPortal)
}

// UpdatePolicy changes the fields set in p; new rules replace the old set whole.
func (s *Store) UpdatePolicy(ctx context.Context, id string, p portal.PolicyPatch) (*portal.Policy, error) {
	var out portal.Policy
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r policyRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "policy", id)
		}
		before := r.toPortal()
		setIf(&r.Name, p.Name)
		setIf(&r.Description, p.Description)
		if p.Rules != nil {
			rules, err := rulesJSON(*p.Rules)
			if err != nil {
				return err
			}
			r.Rules = rules
		}
		r.UpdatedAt = now()
		if err := checkPolicyName(tx, id, r.Name); err != nil {
			return err
		}
		if err := tx.Save(&r).Error; err != nil {
			return duplicate(err, "a policy named %q already exists", r.Name)
		}
		out = r.toPortal()
		return audit(ctx, tx, "update", "policy", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePolicy removes a policy and its assignments.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r policyRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "policy", id)
		}
		if err := tx.Delete(&policyRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "policy", id, r.toPortal(), nil)
	})
}
