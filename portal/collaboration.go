package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Collaboration is the service that lets an installed device log on to the
// organisation's instant-messaging (XMPP) server through the portal. A user
// may use it when their own collaboration flag is set or when any group they
// belong to has it set.

// CollaborationSettings are the administrator's settings for the collaboration service.
type CollaborationSettings struct {
	// MaxSessions caps the live sessions; 0 means no cap.
	MaxSessions int `json:"max_sessions"`
	// IdleTimeout is how long a device may send no status before its session
	// may be evicted to admit another logon when the cap is reached; 0 means
	// sessions are never evicted.
	IdleTimeout Duration `json:"idle_timeout"`
	// GraceWindow is how long the messaging connection is kept after the
	// device disconnects, for the device to resume its session; 0 ends the
	// session when the device disconnects.
	GraceWindow Duration `json:"grace_window"`
	// Server is the messaging server the portal logs on to.
	Server MessagingServer `json:"server"`
}

// MessagingServer is the organisation's XMPP server.
type MessagingServer struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Domain string `json:"domain"`
	// MaxConnections is how many client connections the server accepts; 0
	// means unknown, left to the server. With no session cap, the portal
	// refuses a logon that would exceed it.
	MaxConnections int `json:"max_connections"`
}

// Configured reports whether the server is set well enough to log on to.
func (m MessagingServer) Configured() bool { return m.Host != "" && m.Domain != "" }

// DefaultCollaborationSettings are the settings before an administrator changes them.
func DefaultCollaborationSettings() CollaborationSettings {
	return CollaborationSettings{GraceWindow: Duration(2 * time.Minute), Server: MessagingServer{Port: 5222}}
}

// Limits of the collaboration settings.
const (
	maxCollaborationSessions = 1_000_000
	maxIdleTimeout           = 30 * 24 * time.Hour
	maxGraceWindow           = 24 * time.Hour
)

var domainRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// Validate names the first field that is out of range.
func (s CollaborationSettings) Validate() error {
	switch {
	case s.MaxSessions < 0 || s.MaxSessions > maxCollaborationSessions:
		return Invalid("max_sessions", "must be from 0 (no cap) to %d", maxCollaborationSessions)
	case s.IdleTimeout < 0 || time.Duration(s.IdleTimeout) > maxIdleTimeout:
		return Invalid("idle_timeout", "must be from 0 (never evict) to %s", maxIdleTimeout)
	case s.GraceWindow < 0 || time.Duration(s.GraceWindow) > maxGraceWindow:
		return Invalid("grace_window", "must be from 0 (end at once) to %s", maxGraceWindow)
	case s.Server.Host != "" && (len(s.Server.Host) > 253 || strings.ContainsAny(s.Server.Host, " /\\@")):
		return Invalid("server.host", "must be a host name or IP address")
	case s.Server.Port < 1 || s.Server.Port > 65535:
		return Invalid("server.port", "must be from 1 to 65535")
	case s.Server.Domain != "" && (len(s.Server.Domain) > 253 || !domainRE.MatchString(s.Server.Domain)):
		return Invalid("server.domain", "must be a domain name such as example.com")
	case s.Server.MaxConnections < 0:
		return Invalid("server.max_connections", "must be 0 (left to the server) or more")
	}
	return nil
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("30s", "2m", "1h30m"); "0" (or the number 0) means none.
type Duration time.Duration

// String writes d as Go does, without the zero units Go adds: "2m", not "2m0s".
func (d Duration) String() string {
	if d == 0 {
		return "0"
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		if n.String() != "0" {
			return errors.New(`a duration is a string such as "30s", "5m" or "1h"; only 0 may be a number`)
		}
		*d = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "30s", "5m" or "1h"`)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf(`%q is not a duration such as "30s", "5m" or "1h"`, s)
	}
	*d = Duration(v)
	return nil
}

// CollaborationSession states.
const (
	// SessionActive: the device is connected and sent a status within the idle timeout.
	SessionActive = "active"
	// SessionIdle: the device is connected but has sent no status within the idle timeout.
	SessionIdle = "idle"
	// SessionAway: the device is disconnected (out of coverage); the
	// messaging connection is kept until the grace window closes.
	SessionAway = "away"
)

// CollaborationSession is a device's live logon to the messaging server through the portal.
type CollaborationSession struct {
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	Username     string    `json:"username"`
	DeviceID     string    `json:"device_id"`
	DeviceName   string    `json:"device_name"`
	JID          string    `json:"jid"`
	Since        time.Time `json:"since"`
	LastStatusAt time.Time `json:"last_status_at"`
	State        string    `json:"state"`
	// InCoverage is false while the device is disconnected.
	InCoverage bool `json:"in_coverage"`
	// GraceUntil is when an away session ends unless the device comes back.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
}

// Why a collaboration session ended, in timeline events and in what the device is told.
const (
	EndLogoff       = "logoff"         // the device logged off
	EndEvicted      = "evicted"        // idle, evicted to admit another logon
	EndByAdmin      = "ended_by_admin" // an administrator ended it
	EndGraceExpired = "grace_expired"  // the device did not come back within the grace window
	EndServerClosed = "server_closed"  // the messaging server closed the connection
	EndShutdown     = "shutdown"       // the portal is stopping
)

// CollaborationStore keeps the collaboration settings and permissions.
type CollaborationStore interface {
	CollaborationSettings(ctx context.Context) (CollaborationSettings, error)
	// PutCollaborationSettings replaces the settings, audited with the old and new values.
	PutCollaborationSettings(ctx context.Context, s CollaborationSettings) error
	// MayCollaborate reports whether the user's own flag or any of their groups' flag is set.
	MayCollaborate(ctx context.Context, userID string) (bool, error)
	// EndCollaborationSession records that an administrator ended a live
	// session: an audit entry and an event on the device's timeline.
	EndCollaborationSession(ctx context.Context, s CollaborationSession) error
	// SetDeviceCollaborationKey keeps an enterprise-activated device's
	// collaboration key as the caller sealed it for storage; nil forgets it.
	SetDeviceCollaborationKey(ctx context.Context, deviceID string, sealed []byte) error
	// DeviceCollaborationKey returns the device's sealed collaboration key,
	// or nil when it has none (it did not come through enterprise activation).
	DeviceCollaborationKey(ctx context.Context, deviceID string) ([]byte, error)
}

// Device timeline events of the collaboration service, all at stage StageCollaboration.
const (
	StageCollaboration = "collaboration"

	EventCollaborationLogon   = "logon"         // admitted: detail has session_id and jid
	EventCollaborationResumed = "resumed"       // the device came back within the grace window
	EventCollaborationRefused = "refused"       // detail has code and message
	EventCollaborationEvicted = "evicted"       // idle, evicted to admit another logon
	EventCollaborationEnded   = "session_ended" // detail has reason: see the End* constants
)
