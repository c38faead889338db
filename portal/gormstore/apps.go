package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"provportal/portal"
)

type appRow struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	Version     string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Artifacts   []artifactRow `gorm:"foreignKey:AppID"`
}

func (appRow) TableName() string { return "apps" }

type artifactRow struct {
	AppID      string `gorm:"primaryKey"`
	Platform   string `gorm:"primaryKey"`
	SHA256     string `gorm:"column:sha256"`
	Size       int64
	Filename   string
	UploadedAt time.Time
}

func (artifactRow) TableName() string { return "app_artifacts" }

func (r *appRow) toPortal() portal.App {
	a := portal.App{ID: r.ID, Name: r.Name, Version: r.Version, Description: r.Description,
		Artifacts: make([]portal.Artifact, 0, len(r.Artifacts)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, ar := range r.Artifacts {
		a.Artifacts = append(a.Artifacts, portal.Artifact{Platform: portal.Platform(ar.Platform), SHA256: ar.SHA256, Size: ar.Size, Filename: ar.Filename, UploadedAt: ar.UploadedAt})
	}
	return a
}

func orderedArtifacts(db *gorm.DB) *gorm.DB { return db.Order("platform") }

func checkAppName(tx *gorm.DB, exceptID, name string) error {
	var n int64
	if err := tx.Model(&appRow{}).Where("lower(name) = lower(?) AND id <> ?", name, exceptID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &portal.Error{Code: portal.CodeConflict, Field: "name", Msg: "an app named " + name + " already exists"}
	}
	return nil
}

func loadApp(tx *gorm.DB, id string) (*appRow, error) {
	var r appRow
	if err := tx.Preload("Artifacts", orderedArtifacts).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, notFound(err, "app", id)
	}
	return &r, nil
}

// CreateApp stores a new app with no artifacts yet.
func (s *Store) CreateApp(ctx context.Context, a *portal.App) error {
	t := now()
	row := appRow{ID: newID(), Name: a.Name, Version: a.Version, Description: a.Description, CreatedAt: t, UpdatedAt: t}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkAppName(tx, "", a.Name); err != nil {
			return err
		}
		if err := tx.Omit("Artifacts").Create(&row).Error; err != nil {
			return duplicate(err, "an app named %q already exists", a.Name)
		}
		return audit(ctx, tx, "create", "app", row.ID, nil, row.toPortal())
	})
	if err != nil {
		return err
	}
	*a = row.toPortal()
	return nil
}

// App returns the app with this ID and its artifacts.
func (s *Store) App(ctx context.Context, id string) (*portal.App, error) {
	r, err := loadApp(s.db.WithContext(ctx), id)
	if err != nil {
		return nil, err
	}
	a := r.toPortal()
	return &a, nil
}

// Apps lists apps by name.
func (s *Store) Apps(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.App], error) {
	q := nameFilter(s.db.WithContext(ctx).Model(&appRow{}), "name", opt.Name).Preload("Artifacts", orderedArtifacts)
	return list(q, "lower(name), id", opt.Limit, opt.Offset, (*appRow).toPortal)
}

// UpdateApp changes the fields set in p.
func (s *Store) UpdateApp(ctx context.Context, id string, p portal.AppPatch) (*portal.App, error) {
	return s.changeApp(ctx, id, "update", func(tx *gorm.DB, r *appRow) error {
		setIf(&r.Name, p.Name)
		setIf(&r.Version, p.Version)
		setIf(&r.Description, p.Description)
		if err := checkAppName(tx, id, r.Name); err != nil {
			return err
		}
		err := tx.Model(&appRow{}).Where("id = ?", id).
			Updates(map[string]any{"name": r.Name, "version": r.Version, "description": r.Description}).Error
		return duplicate(err, "an app named %q already exists", r.Name)
	})
}

// PutArtifact records the app's artifact for a platform, replacing an earlier one.
func (s *Store) PutArtifact(ctx context.Context, appID string, a portal.Artifact) (*portal.App, error) {
	return s.changeApp(ctx, appID, "put_artifact", func(tx *gorm.DB, r *appRow) error {
		if err := tx.Where("app_id = ? AND platform = ?", appID, string(a.Platform)).Delete(&artifactRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&artifactRow{AppID: appID, Platform: string(a.Platform), SHA256: a.SHA256, Size: a.Size, Filename: a.Filename, UploadedAt: now()}).Error
	})
}

// DeleteArtifact removes the app's artifact for a platform.
func (s *Store) DeleteArtifact(ctx context.Context, appID string, p portal.Platform) (*portal.App, error) {
	return s.changeApp(ctx, appID, "delete_artifact", func(tx *gorm.DB, r *appRow) error {
		res := tx.Where("app_id = ? AND platform = ?", appID, string(p)).Delete(&artifactRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return portal.Errorf(portal.CodeNotFound, "app %s has no %s artifact", r.Name, p)
		}
		return nil
	})
}

// changeApp runs change on the app's row in a transaction, bumps its update
// time and audits the app as it was before and after.
func (s *Store) changeApp(ctx context.Context, id, action string, change func(tx *gorm.DB, r *appRow) error) (*portal.App, error) {
	var out portal.App
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, err := loadApp(tx, id)
		if err != nil {
			return err
		}
		before := r.toPortal()
		if err := change(tx, r); err != nil {
			return err
		}
		if err := tx.Model(&appRow{}).Where("id = ?", id).Update("updated_at", now()).Error; err != nil {
			return err
		}
		if r, err = loadApp(tx, id); err != nil {
			return err
		}
		out = r.toPortal()
		return audit(ctx, tx, action, "app", id, before, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteApp removes an app, its artifacts' records and its assignments. The
// blobs stay: other apps may share them.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := loadApp(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Delete(&appRow{}, "id = ?", id).Error; err != nil {
			return err
		}
		return audit(ctx, tx, "delete", "app", id, r.toPortal(), nil)
	})
}
