package portal

import (
	"context"
	"time"

	"provportal/packages"
)

// MigrationPackage is a pre-configured bootloader package that an existing
// device-management channel pushes to devices, replacing a legacy client.
// It carries an enrolment secret, not tied to any user (the user logs on
// when the package runs): only the secret's hash is kept, and the package
// stops working when it expires or is revoked.
type MigrationPackage struct {
	ID       string   `json:"id"`
	Platform Platform `json:"platform"`
	// Routing: Alias (and the Relay stamped with it), or Host and Port.
	Alias      string                 `json:"alias,omitempty"`
	Relay      string                 `json:"relay,omitempty"`
	Host       string                 `json:"host,omitempty"`
	Port       int                    `json:"port,omitempty"`
	Legacy     *packages.LegacyClient `json:"legacy,omitempty"`
	CreatedAt  time.Time              `json:"created_at"`
	ExpiresAt  time.Time              `json:"expires_at"`
	RevokedAt  *time.Time             `json:"revoked_at,omitempty"`
	Uses       int                    `json:"uses"`
	LastUsedAt *time.Time             `json:"last_used_at,omitempty"`
}

// State is the package's state at now, in the words of invitations.
func (p *MigrationPackage) State(now time.Time) InvitationState {
	switch {
	case p.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(p.ExpiresAt):
		return InvitationExpired
	default:
		return InvitationActive
	}
}

// MigrationPackageStore keeps migration packages' enrolment secrets.
type MigrationPackageStore interface {
	// CreateMigrationPackage stores a package with the hash of its secret.
	CreateMigrationPackage(ctx context.Context, p *MigrationPackage, secretHash string) error
	MigrationPackage(ctx context.Context, id string) (*MigrationPackage, error)
	MigrationPackageBySecretHash(ctx context.Context, secretHash string) (*MigrationPackage, error)
	// MigrationPackages lists packages, newest first.
	MigrationPackages(ctx context.Context, opt ListOptions) (Page[MigrationPackage], error)
	// RevokeMigrationPackage ends a package now; revoking it again changes nothing.
	RevokeMigrationPackage(ctx context.Context, id string) (*MigrationPackage, error)
	// UseMigrationPackage counts a device logon made with the package.
	UseMigrationPackage(ctx context.Context, id string, at time.Time) error
}
