package portal

import (
	"context"
	"time"
)

// Every change made through these interfaces is written to the audit log in
// the same transaction, attributed to ActorFrom(ctx).

// AdminStore keeps administrators.
type AdminStore interface {
	CreateAdmin(ctx context.Context, a *Admin) error
	Admin(ctx context.Context, id string) (*Admin, error)
	AdminByUsername(ctx context.Context, username string) (*Admin, error)
	Admins(ctx context.Context, opt ListOptions) (Page[Admin], error)
	CountAdmins(ctx context.Context) (int, error)
	DeleteAdmin(ctx context.Context, id string) error
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	Username      *string
	Email         *string
	Phone         *string
	DisplayName   *string
	PasswordHash  *string
	Groups        *[]string
	Collaboration *bool
}

// UserStore keeps the people whose devices are provisioned.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id string) (*User, error)
	Users(ctx context.Context, opt ListOptions) (Page[User], error)
	UpdateUser(ctx context.Context, id string, p UserPatch) (*User, error)
	DeleteUser(ctx context.Context, id string) error
}

// GroupPatch changes some fields of a group.
type GroupPatch struct {
	Name          *string
	Description   *string
	Collaboration *bool
}

// GroupStore keeps groups.
type GroupStore interface {
	CreateGroup(ctx context.Context, g *Group) error
	Group(ctx context.Context, id string) (*Group, error)
	Groups(ctx context.Context, opt ListOptions) (Page[Group], error)
	UpdateGroup(ctx context.Context, id string, p GroupPatch) (*Group, error)
	DeleteGroup(ctx context.Context, id string) error
}

// AppPatch changes some fields of an app.
type AppPatch struct {
	Name        *string
	Version     *string
	Description *string
}

// AppStore keeps apps and their artifacts.
type AppStore interface {
	CreateApp(ctx context.Context, a *App) error
	App(ctx context.Context, id string) (*App, error)
	Apps(ctx context.Context, opt ListOptions) (Page[App], error)
	UpdateApp(ctx context.Context, id string, p AppPatch) (*App, error)
	DeleteApp(ctx context.Context, id string) error
	// PutArtifact records (or replaces) the app's artifact for a platform.
	PutArtifact(ctx context.Context, appID string, a Artifact) (*App, error)
	DeleteArtifact(ctx context.Context, appID string, p Platform) (*App, error)
}

// PolicyPatch changes some fields of a policy.
type PolicyPatch struct {
	Name        *string
	Description *string
	Rules       *Rules
}

// PolicyStore keeps IT policies.
type PolicyStore interface {
	CreatePolicy(ctx context.Context, p *Policy) error
	Policy(ctx context.Context, id string) (*Policy, error)
	Policies(ctx context.Context, opt ListOptions) (Page[Policy], error)
	UpdatePolicy(ctx context.Context, id string, p PolicyPatch) (*Policy, error)
	DeletePolicy(ctx context.Context, id string) error
}

// AssignmentFilter narrows a list of assignments; empty fields match all.
type AssignmentFilter struct {
	Limit, Offset int
	AppID         string
	PolicyID      string
	GroupID       string
	UserID        string
}

// AssignmentStore keeps which apps and policies reach which groups and users.
type AssignmentStore interface {
	CreateAssignment(ctx context.Context, a *Assignment) error
	Assignment(ctx context.Context, id string) (*Assignment, error)
	Assignments(ctx context.Context, f AssignmentFilter) (Page[Assignment], error)
	DeleteAssignment(ctx context.Context, id string) error
}

// DeviceFilter narrows a list of devices.
type DeviceFilter struct {
	ListOptions
	UserID string
	Status string
}

// DeviceStore keeps devices.
type DeviceStore interface {
	CreateDevice(ctx context.Context, d *Device) error
	Device(ctx context.Context, id string) (*Device, error)
	Devices(ctx context.Context, f DeviceFilter) (Page[Device], error)
}

// AuditLog reads the audit log.
type AuditLog interface {
	Audit(ctx context.Context, f AuditFilter) (Page[AuditEntry], error)
}

// LoginThrottle slows down repeated failed logons. Keys name an account or an address.
type LoginThrottle interface {
	// BlockedUntil returns the latest time until which any of keys is blocked (zero if none).
	BlockedUntil(ctx context.Context, now time.Time, keys ...string) (time.Time, error)
	// RecordFailure counts a failed logon against each key and returns when the next try is allowed.
	RecordFailure(ctx context.Context, now time.Time, keys ...string) (time.Time, error)
	// Reset forgets the failures of keys after a successful logon.
	Reset(ctx context.Context, keys ...string) error
}

// Secrets keeps the portal's own generated secrets (for example the token signing key),
// shared by every portal process on one database.
type Secrets interface {
	// Secret returns the secret with this name, creating it with gen the first time.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}

// Store is everything a portal keeps.
type Store interface {
	AdminStore
	UserStore
	GroupStore
	AppStore
	PolicyStore
	AssignmentStore
	DeviceStore
	AuditLog
	LoginThrottle
	Secrets
	InvitationStore
	SMSStore
	SettingStore
	DeviceRegistry
	ActivationStore
	OrganizerStore
	MigrationPackageStore
	CollaborationStore
	Ping(ctx context.Context) error
	Close() error
}
