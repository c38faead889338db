package portal

import (
	"context"
	"encoding/json"
	"time"
)

// MaxActivationFailures is how many consecutive failed attempts kill an activation password.
const MaxActivationFailures = 5

// Why an activation password stopped working.
const (
	ActivationUsed            = "used"
	ActivationTooManyAttempts = "too_many_attempts"
	ActivationExpired         = "expired"
	ActivationActive          = "active"
)

// ActivationPassword is a user's one-time enterprise activation password.
// The password itself is never kept: only the password-related string the
// key exchange uses (argon2id of it, with Salt and KDFParams).
type ActivationPassword struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	PRS        []byte     `json:"-"`
	Salt       []byte     `json:"-"`
	KDFParams  string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Failures   int        `json:"failures"`
	DeadAt     *time.Time `json:"dead_at,omitempty"`
	DeadReason string     `json:"dead_reason,omitempty"`
}

// State is "active", or why the password no longer works.
func (p *ActivationPassword) State(now time.Time) string {
	switch {
	case p.DeadAt != nil:
		return p.DeadReason
	case !now.Before(p.ExpiresAt):
		return ActivationExpired
	default:
		return ActivationActive
	}
}

// ActivationSession is an activation in progress, kept between the device's requests.
type ActivationSession struct {
	ID         string
	UserID     string
	DeviceID   string
	PasswordID string
	Step       string
	State      []byte // the exchange's or the sealed channel's state
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// DeviceEvent is one step in a device's timeline.
type DeviceEvent struct {
	ID     int64          `json:"id"`
	At     time.Time      `json:"at"`
	Stage  string         `json:"stage"`
	Event  string         `json:"event"`
	Detail map[string]any `json:"detail"`
}

// ActivationStore keeps activation passwords, sessions and device timelines.
type ActivationStore interface {
	// SetActivationPassword stores a user's new activation password, replacing any other.
	SetActivationPassword(ctx context.Context, p *ActivationPassword) error
	ActivationPassword(ctx context.Context, userID string) (*ActivationPassword, error)
	ClearActivationPassword(ctx context.Context, userID string) error
	// BeginActivationAttempt counts an attempt as failed until it is
	// confirmed, so a device that walks away after learning its guess was
	// wrong has still spent one of its five. It returns ok false, and the
	// password as it is, when the password is dead, expired or out of attempts.
	BeginActivationAttempt(ctx context.Context, passwordID string, now time.Time) (*ActivationPassword, bool, error)
	// FailActivationAttempt records a failed confirmation: with
	// MaxActivationFailures attempts spent, the password dies.
	FailActivationAttempt(ctx context.Context, passwordID string) (*ActivationPassword, error)
	// ConsumeActivationPassword marks the password used. Of several devices
	// racing with one password, exactly one gets true.
	ConsumeActivationPassword(ctx context.Context, passwordID string, now time.Time) (bool, error)
	UserByEmail(ctx context.Context, email string) (*User, error)

	CreateActivationSession(ctx context.Context, s *ActivationSession) error
	ActivationSession(ctx context.Context, id string) (*ActivationSession, error)
	UpdateActivationSession(ctx context.Context, id, step string, state []byte) error

	AddDeviceEvent(ctx context.Context, deviceID, stage, event string, detail map[string]any) error
	DeviceEvents(ctx context.Context, deviceID string) ([]DeviceEvent, error)
}

// OrganizerItem is one record of a user's organizer data: a calendar entry,
// contact, task, memo, message or device option.
type OrganizerItem struct {
	ID      int64           `json:"id"`
	Kind    string          `json:"kind"`
	UID     string          `json:"uid"`
	Summary string          `json:"summary"`
	Data    json.RawMessage `json:"data"`
}

// OrganizerStore keeps organizer data for slow synchronisation.
type OrganizerStore interface {
	// PutOrganizerItems adds items, replacing those with the same kind and UID.
	PutOrganizerItems(ctx context.Context, userID string, items []OrganizerItem) (added, replaced int, err error)
	// OrganizerItems pages through a user's items of one kind by ID.
	OrganizerItems(ctx context.Context, userID, kind string, afterID int64, limit int) ([]OrganizerItem, error)
	// CountOrganizerItems counts a user's items per kind.
	CountOrganizerItems(ctx context.Context, userID string) (map[string]int, error)
	// CountOrganizerItemsUpTo counts a kind's items with IDs up to uptoID.
	CountOrganizerItemsUpTo(ctx context.Context, userID, kind string, uptoID int64) (int, error)
	DeleteOrganizerItems(ctx context.Context, userID, kind string) (int, error)
}
