package packages

import "time"

// The device API's wire types, shared by the portal and the bootloader.
// Routes (all under the portal's URL):
//
//	POST /device/v1/logon            LogonRequest -> LogonResponse
//	GET  /device/v1/key              KeyResponse (the portal's signing key, for a bootloader that pins none yet)
//	GET  /device/v1/manifest         compact JWS (application/jose), ETag; 304 on If-None-Match
//	GET  /device/v1/blobs/{sha256}   the bytes, with Range and If-Range
//	POST /device/v1/status           StatusReport -> 204
//
// Every route but logon and key takes Authorization: Bearer <device token>.
// Errors are {"error":{"code","message"}}.

// DeviceInfo describes the device logging on.
type DeviceInfo struct {
	// ID is the device's own stable identifier, kept in its install dir; empty on first logon.
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	OSVersion string `json:"os_version,omitempty"`
}

// LogonRequest logs a device on with the user's directory password.
type LogonRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	Invitation string `json:"invitation,omitempty"`
	// Migration is the enrolment secret a migration package carries.
	Migration string     `json:"migration,omitempty"`
	Device    DeviceInfo `json:"device"`
}

// LogonResponse carries the device token.
type LogonResponse struct {
	Token     string    `json:"token"`
	DeviceID  string    `json:"device_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// KeyResponse is the portal's manifest signing key.
type KeyResponse struct {
	PublicKey   string `json:"public_key"` // base64url, 32 bytes
	Fingerprint string `json:"fingerprint"`
}

// Device statuses the bootloader reports.
const (
	StatusInstalling         = "installing"
	StatusActivationComplete = "activation_complete"
	StatusFailed             = "failed"
)

// StatusReport tells the portal how far the device is.
type StatusReport struct {
	Status    string            `json:"status"`
	Progress  int               `json:"progress"`
	Installed map[string]string `json:"installed,omitempty"` // app name -> version
	Error     *StatusError      `json:"error,omitempty"`
}

// StatusError is a failure with a stable code.
type StatusError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
