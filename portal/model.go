package portal

import (
	"encoding/json"
	"time"
)

// Role is what an administrator may do.
type Role string

const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleHelpdesk may read everything and send provisioning messages, nothing else.
	RoleHelpdesk Role = "helpdesk"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleHelpdesk }

// Admin is a person who works in the admin API and console.
type Admin struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// User is a person whose devices the portal provisions.
type User struct {
	ID           string   `json:"id"`
	Username     string   `json:"username"`
	Email        string   `json:"email"`
	Phone        string   `json:"phone"` // E.164, or empty
	DisplayName  string   `json:"display_name"`
	PasswordHash string   `json:"-"`
	HasPassword  bool     `json:"has_password"`
	Groups       []string `json:"groups"` // group IDs
	SMSOptedOut  bool     `json:"sms_opted_out"`
	// Collaboration lets the user log on to the messaging server through the
	// portal; so does the flag on any of their groups.
	Collaboration bool      `json:"collaboration"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Group gathers users so apps and policies can be assigned to all of them at once.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Members     int    `json:"members"`
	// Collaboration lets every member log on to the messaging server through the portal.
	Collaboration bool      `json:"collaboration"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// App is an application the portal deploys, with one artifact per platform.
type App struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Description string     `json:"description"`
	Artifacts   []Artifact `json:"artifacts"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Artifact is an app's bytes for one platform, kept in the blob store by SHA-256.
type Artifact struct {
	Platform   Platform  `json:"platform"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Filename   string    `json:"filename,omitempty"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// Policy is a named set of typed IT policy rules.
type Policy struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Rules       Rules     `json:"rules"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Assignment deploys an app or a policy to a group or a user.
// Exactly one of AppID and PolicyID is set, and exactly one of GroupID and UserID.
type Assignment struct {
	ID        string    `json:"id"`
	AppID     string    `json:"app_id,omitempty"`
	PolicyID  string    `json:"policy_id,omitempty"`
	GroupID   string    `json:"group_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// DeviceError explains why a device is stuck, with a stable code.
type DeviceError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Device is a phone or computer the portal knows of.
type Device struct {
	ID         string            `json:"id"`
	UserID     string            `json:"user_id"`
	Name       string            `json:"name"`
	Platform   string            `json:"platform"`
	OSVersion  string            `json:"os_version,omitempty"`
	Status     string            `json:"status"`
	Progress   int               `json:"progress"`
	Error      *DeviceError      `json:"error,omitempty"`
	Installed  map[string]string `json:"installed"` // app name -> version
	LastSeenAt *time.Time        `json:"last_seen_at"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// AuditEntry records one administrative change: who, what, when, before and after.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    string          `json:"actor_id"`
	Actor      string          `json:"actor"`
	RemoteAddr string          `json:"remote_addr"`
	Action     string          `json:"action"` // create, update, delete, ...
	Kind       string          `json:"kind"`   // user, group, app, ...
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

// ListOptions pages and filters a list.
type ListOptions struct {
	Limit  int
	Offset int
	Name   string // case-insensitive substring of the name (username for users)
}

// Page is one page of a list.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// AuditFilter narrows the audit log.
type AuditFilter struct {
	ListOptions
	Kind     string
	ObjectID string
	Actor    string
}
