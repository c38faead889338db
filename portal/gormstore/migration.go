package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"provportal/packages"
	"provportal/portal"
)

var _ portal.MigrationPackageStore = (*Store)(nil)

type migrationPackageRow struct {
	ID         string `gorm:"primaryKey"`
	SecretHash string
	Platform   string
	Alias      string
	Relay      string
	Host       string
	Port       int
	Legacy     string // JSON of packages.LegacyClient; empty for none
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	Uses       int
	LastUsedAt *time.Time
}

func (migrationPackageRow) TableName() string { return "migration_packages" }

func (r *migrationPackageRow) toPortal() portal.MigrationPackage {
	p := portal.MigrationPackage{ID: r.ID, Platform: portal.Platform(r.Platform), Alias: r.Alias, Relay: r.Relay,
		Host: r.Host, Port: r.Port, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt,
		Uses: r.Uses, LastUsedAt: r.LastUsedAt}
	if r.Legacy != "" {
		var l packages.LegacyClient
		if json.Unmarshal([]byte(r.Legacy), &l) == nil {
			p.Legacy = &l
		}
	}
	return p
}

// CreateMigrationPackage stores a package with the hash of its enrolment secret.
func (s *Store) CreateMigrationPackage(ctx context.Context, p *portal.MigrationPackage, secretHash string) error {
	row := migrationPackageRow{ID: newID(), SecretHash: secretHash, Platform: string(p.Platform), Alias: p.Alias,
		Relay: p.Relay, Host: p.Host, Port: p.Port, CreatedAt: now(), ExpiresAt: p.ExpiresAt.UTC().Truncate(time.Microsecond)}
	if !p.Legacy.Empty() {
		j, err := json.Marshal(p.Legacy)
		if err != nil {
			return fmt.Errorf("gormstore: migration package legacy client: %w", err)
		}
		row.Legacy = string(j)
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return duplicate(err, "a migration package with this secret already exists")
		}
		return audit(ctx, tx, "create", "migration_package", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*p = row.toPortal()
	return nil
}

// MigrationPackage finds a package by ID.
func (s *Store) MigrationPackage(ctx context.Context, id string) (*portal.MigrationPackage, error) {
	var r migrationPackageRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "migration package", id)
	}
	p := r.toPortal()
	return &p, nil
}

// MigrationPackageBySecretHash finds the package whose secret hashes to secretHash.
func (s *Store) MigrationPackageBySecretHash(ctx context.Context, secretHash string) (*portal.MigrationPackage, error) {
	var r migrationPackageRow
	if err := s.db.WithContext(ctx).Where("secret_hash = ?", secretHash).Take(&r).Error; err != nil {
		return nil, notFound(err, "migration package", "")
	}
	p := r.toPortal()
	return &p, nil
}

// MigrationPackages lists packages, newest first.
func (s *Store) MigrationPackages(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.MigrationPackage], error) {
	q := s.db.WithContext(ctx).Model(&migrationPackageRow{})
	return list(q, "created_at DESC, id DESC", opt.Limit, opt.Offset, (*migrationPackageRow).toPortal)
}

// RevokeMigrationPackage ends a package now.
func (s *Store) RevokeMigrationPackage(ctx context.Context, id string) (*portal.MigrationPackage, error) {
	var out portal.MigrationPackage
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r migrationPackageRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "migration package", id)
		}
		before := r.toPortal()
		if r.RevokedAt != nil {
			out = before
			return nil
		}
		t := now()
		r.RevokedAt = &t
		if err := tx.Model(&migrationPackageRow{}).Where("id = ?", id).Update("revoked_at", t).Error; err != nil {
			return err
		}
		out = r.toPortal()
		return audit(ctx, tx, "revoke", "migration_package", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UseMigrationPackage counts a device logon made with the package.
func (s *Store) UseMigrationPackage(ctx context.Context, id string, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&migrationPackageRow{}).Where("id = ?", id).
		Updates(map[string]any{"uses": gorm.Expr("uses + 1"), "last_used_at": at.UTC().Truncate(time.Microsecond)})
	if res.Error != nil {
		return fmt.Errorf("gormstore: use migration package %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return portal.Errorf(portal.CodeNotFound, "migration package %s not found", id)
	}
	return nil
}
