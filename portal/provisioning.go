package portal

import (
	"context"
	"time"
)

// Invitation lets one user's device find and trust the portal: the token in
// a provisioning link. Only the token's hash is kept.
type Invitation struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// InvitationState says whether an invitation can still be used.
type InvitationState string

const (
	InvitationActive  InvitationState = "active"
	InvitationExpired InvitationState = "expired"
	InvitationRevoked InvitationState = "revoked"
)

// State is the invitation's state at now.
func (i *Invitation) State(now time.Time) InvitationState {
	switch {
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	default:
		return InvitationActive
	}
}

// SMSMessage is a provisioning message as the admin sees it in the outbox.
type SMSMessage struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id,omitempty"`
	InvitationID string    `json:"invitation_id,omitempty"`
	To           string    `json:"to"`
	Body         string    `json:"body"`
	Status       string    `json:"status"`
	Attempts     int       `json:"attempts"`
	SID          string    `json:"sid,omitempty"`
	ErrorCode    string    `json:"error_code,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// SMS message states.
const (
	SMSQueued      = "queued"
	SMSSending     = "sending"
	SMSSent        = "sent"
	SMSDelivered   = "delivered"
	SMSUndelivered = "undelivered"
	SMSFailed      = "failed"
	SMSOptedOut    = "opted_out"
)

// InvitationStore keeps invitations.
type InvitationStore interface {
	// CreateInvitation stores an invitation and, when msg is not nil, queues
	// its provisioning message in the same transaction.
	CreateInvitation(ctx context.Context, inv *Invitation, tokenHash string, msg *SMSMessage) error
	InvitationByTokenHash(ctx context.Context, tokenHash string) (*Invitation, error)
	Invitations(ctx context.Context, userID string, opt ListOptions) (Page[Invitation], error)
	RevokeInvitation(ctx context.Context, id string) (*Invitation, error)
	MarkInvitationUsed(ctx context.Context, id string) error
}

// SMSFilter narrows the outbox.
type SMSFilter struct {
	ListOptions
	UserID string
	Status string
	To     string
}

// SMSStore reads the outbox and records what Twilio reports.
type SMSStore interface {
	SMSMessages(ctx context.Context, f SMSFilter) (Page[SMSMessage], error)
	// UpdateSMSStatus records a delivery status reported for the message with this SID.
	UpdateSMSStatus(ctx context.Context, sid, status, errorCode string) error
}

// SettingStore keeps named settings an administrator changes at run time.
type SettingStore interface {
	Setting(ctx context.Context, name string) (string, bool, error)
	PutSetting(ctx context.Context, name, value string) error
}

// Assigned is everything deployed to one user, directly or through groups.
type Assigned struct {
	Apps []App
	// Policies come user-assigned first, then group-assigned, each by name.
	Policies []Policy
}

// DeviceRegistry is what the device API keeps about devices.
type DeviceRegistry interface {
	// RegisterDevice records a device logging on: the same device (by ID and
	// user) is updated, anything else is created.
	RegisterDevice(ctx context.Context, d *Device) error
	// ReportDevice records a device's status, progress, installed apps and error.
	ReportDevice(ctx context.Context, id string, status string, progress int, installed map[string]string, derr *DeviceError) error
	AssignedTo(ctx context.Context, userID string) (*Assigned, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
}
