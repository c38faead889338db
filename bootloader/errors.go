package bootloader

import (
	"context"
	"errors"
	"fmt"
)

// Codes of the failures a bootloader reports to the portal after logon, which
// shows them to the administrator. Codes are API: add, never rename.
const (
	CodeManifestUnavailable = "manifest_unavailable" // the portal did not hand out a manifest
	CodeUntrustedManifest   = "manifest_untrusted"   // signed by a key other than the pinned one
	CodeInvalidManifest     = "manifest_invalid"     // malformed, expired, or for another device or platform
	CodeDownloadFailed      = "download_failed"      // an app's bytes could not be fetched
	CodeDigestMismatch      = "digest_mismatch"      // an app's bytes are not the ones the manifest names
	CodeUnsafeArchive       = "unsafe_archive"       // an archive would write outside its app folder, or is a bomb
	CodeInstallFailed       = "install_failed"       // unpacking or placing the apps failed (disk, permissions)
	CodeInterrupted         = "interrupted"          // the bootloader was stopped
	CodeITPolicyRejected    = "it_policy_rejected"   // the device cannot enforce the IT policy
)

// Error is a failure with a stable code; its message is one line for a person.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func failf(code, format string, a ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, a...)}
}

// codeOf is the code to report for err.
func codeOf(err error) string {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return CodeInterrupted
	}
	return CodeInstallFailed
}

// forApp names the app in err, keeping its code.
func forApp(name string, err error) error {
	return &Error{Code: codeOf(err), Err: fmt.Errorf("app %s: %w", name, err)}
}
