package deviceapi

import (
	"context"

	"provportal/packages"
	"provportal/portal"
)

// checkMigration refuses a migration package's enrolment secret that is
// unknown, expired or revoked, each with its own code and a one-line reason.
func (a *API) checkMigration(ctx context.Context, secret string) (*portal.MigrationPackage, error) {
	p, err := a.store.MigrationPackageBySecretHash(ctx, HashToken(secret))
	if portal.IsNotFound(err) {
		return nil, portal.Errorf(portal.CodeMigrationPackageUnknown, "this migration package is not known to the portal; ask your administrator for a new one")
	}
	if err != nil {
		return nil, err
	}
	switch p.State(a.now()) {
	case portal.InvitationExpired:
		return nil, portal.Errorf(portal.CodeMigrationPackageExpired, "this migration package expired on %s; ask your administrator for a new one", p.ExpiresAt.UTC().Format("2006-01-02"))
	case portal.InvitationRevoked:
		return nil, portal.Errorf(portal.CodeMigrationPackageRevoked, "this migration package was withdrawn by your administrator; ask for a new one")
	}
	return p, nil
}

// enrolledByMigration counts the package's use and puts it on the device's
// timeline, so the admin sees which package each device came from.
func (a *API) enrolledByMigration(ctx context.Context, d *portal.Device, p *portal.MigrationPackage) error {
	if err := a.store.UseMigrationPackage(ctx, p.ID, a.now()); err != nil {
		return err
	}
	return a.store.AddDeviceEvent(ctx, d.ID, packages.StatusInstalling, "migration_package_logon",
		map[string]any{"migration_package_id": p.ID, "platform": string(p.Platform)})
}
