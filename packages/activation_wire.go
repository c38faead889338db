package packages

import "strings"

// Enterprise activation's wire types, shared by the portal and the
// bootloader. Routes, all under /device/v1/activation:
//
//	POST /start     ActivationStart -> ActivationStarted     (status: activating)
//	POST /exchange  ActivationExchange -> ActivationExchanged (CPace; status: verifying_encryption)
//	POST /confirm   ActivationConfirm -> SealedMessage        (key confirmation; IT policy sealed; status: waiting_for_services)
//	POST /message   SealedMessage -> SealedMessage            (every later step, sealed both ways)
//
// A failed confirmation answers 401 with code "activation_password_incorrect".
// Sealed plaintexts are JSON objects with a "type": see the Activation* types below.

// ActivationStart asks to activate a device for the user with this e-mail address.
type ActivationStart struct {
	Email  string     `json:"email"`
	Device DeviceInfo `json:"device"`
	// Routing says how the device reached the portal: directly, or through a relay by alias.
	Routing Routing `json:"routing"`
	// DeviceKey is the device's own Ed25519 public key (base64url), bound into the key exchange.
	DeviceKey string `json:"device_key"`
}

// Routing is how a device reaches its portal.
type Routing struct {
	PortalURL string `json:"portal_url,omitempty"`
	Alias     string `json:"alias,omitempty"`
	Relay     string `json:"relay,omitempty"`
}

// ActivationStarted hands the device what it needs for the key exchange.
type ActivationStarted struct {
	SessionID string `json:"session_id"`
	// Salt and KDFParams derive the password-related string from the activation password.
	Salt      string `json:"salt"`
	KDFParams string `json:"kdf_params"`
	// PortalKey is the portal's manifest signing key (base64url), bound into the key exchange.
	PortalKey string `json:"portal_key"`
	// SID is the CPace session identifier (base64url), fresh per attempt.
	SID string `json:"sid"`
}

// ActivationExchange carries the device's CPace share.
type ActivationExchange struct {
	SessionID string `json:"session_id"`
	Share     string `json:"share"` // base64url
}

// ActivationExchanged carries the portal's share and its key confirmation.
type ActivationExchanged struct {
	Share   string `json:"share"`
	Confirm string `json:"confirm"`
}

// ActivationConfirm carries the device's key confirmation.
type ActivationConfirm struct {
	SessionID string `json:"session_id"`
	Confirm   string `json:"confirm"`
}

// SealedMessage is one sealed step of an activation.
type SealedMessage struct {
	SessionID string `json:"session_id"`
	Seq       uint64 `json:"seq"`
	CT        string `json:"ct"` // base64 of AES-256-GCM ciphertext
}

// Sealed message types.
const (
	MsgITPolicy     = "it_policy"     // portal -> device: the rules to enforce
	MsgPolicyResult = "policy_result" // device -> portal: accepted, or rejected with the rules it cannot enforce
	MsgServices     = "services"      // portal -> device: service books, manifest, device token
	MsgInstalled    = "installed"     // device -> portal: the package is installed
	MsgSyncRequest  = "sync"          // device -> portal: the next page of organizer data
	MsgSyncPage     = "sync_page"     // portal -> device
	MsgBackup       = "backup"        // device -> portal: device options to keep
	MsgDone         = "done"          // portal -> device: acknowledged
	MsgStop         = "stop"          // portal -> device: activation ends, with a reason
)

// ActivationPayload is any sealed plaintext; Type says which fields matter.
type ActivationPayload struct {
	Type string `json:"type"`

	// it_policy
	Policy *Policy `json:"policy,omitempty"`

	// policy_result
	Accepted bool           `json:"accepted,omitempty"`
	Rejected []RejectedRule `json:"rejected,omitempty"`

	// services
	ServiceBooks []ServiceBook `json:"service_books,omitempty"`
	Manifest     string        `json:"manifest,omitempty"` // compact JWS
	DeviceToken  string        `json:"device_token,omitempty"`
	DeviceID     string        `json:"device_id,omitempty"`

	// policy_result: the device keeps the activation's collaboration key
	// (packages/activation: Keys.CollaborationKey) to seal its messaging
	// credentials with; services: the portal kept its side of it. Both keep
	// it only when both say so.
	CollaborationKey bool `json:"collaboration_key,omitempty"`

	// installed
	Installed map[string]string `json:"installed,omitempty"`

	// sync / sync_page
	Kind     string       `json:"kind,omitempty"`
	Cursor   string       `json:"cursor,omitempty"`
	Items    []SyncItem   `json:"items,omitempty"`
	Next     string       `json:"next,omitempty"`
	Progress int          `json:"progress,omitempty"`
	Options  []SyncItem   `json:"options,omitempty"`
	Stop     *StatusError `json:"stop,omitempty"`
}

// RejectedRule names a policy rule a device cannot enforce, and why.
type RejectedRule struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// SyncItem is one organizer record delivered by slow synchronisation.
type SyncItem struct {
	Kind    string `json:"kind"`
	UID     string `json:"uid"`
	Summary string `json:"summary"`
	Data    []byte `json:"data"`
}

// ActivationChannelID is CPace's channel identifier for an activation: it
// binds the exchange to one portal (its key's fingerprint) and one user (the
// e-mail address), which both sides know before they start.
func ActivationChannelID(fingerprint, email string) []byte {
	return []byte("provportal activation\x00portal=" + fingerprint + "\x00user=" + strings.ToLower(strings.TrimSpace(email)))
}
