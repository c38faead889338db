package portal

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable, machine-readable error code. Codes are API: add, never rename.
type Code string

const (
	CodeMalformed        Code = "malformed_request"
	CodeInvalid          Code = "invalid_field"
	CodeUnauthenticated  Code = "unauthenticated"
	CodeBadCredentials   Code = "bad_credentials"
	CodeForbidden        Code = "forbidden"
	CodeNotFound         Code = "not_found"
	CodeConflict         Code = "already_exists"
	CodeTooLarge         Code = "too_large"
	CodeTooManyAttempts  Code = "too_many_attempts"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal_error"

	// Enterprise activation.
	CodeNoActivationPassword      Code = "no_activation_password"
	CodeActivationPasswordExpired Code = "activation_password_expired"
	CodeActivationPasswordUsed    Code = "activation_password_used"
	CodeActivationIncorrect       Code = "activation_password_incorrect"
	CodeSealedMessageRejected     Code = "sealed_message_rejected"
	CodeITPolicyRejected          Code = "it_policy_rejected"

	// Migration packages.
	CodeMigrationPackageUnknown Code = "migration_package_unknown"
	CodeMigrationPackageExpired Code = "migration_package_expired"
	CodeMigrationPackageRevoked Code = "migration_package_revoked"

	// Collaboration logons (CodeBadCredentials for a wrong messaging password).
	CodeNotPermitted Code = "not_permitted" // neither the user nor any of their groups may collaborate
	CodeServerBusy   Code = "server_busy"   // the session cap is reached and no session is idle
	CodeFailed       Code = "failed"        // the messaging server cannot take the logon; the message says why
	// An enterprise-activated device sent its messaging password unsealed.
	CodeCredentialsNotSealed Code = "credentials_not_sealed"
	// Sealed messaging credentials did not open: another key, another
	// connection's challenge, altered, or a device the portal holds no key for.
	CodeCredentialsSealRejected Code = "sealed_credentials_rejected"

	// Provisioning links and iPhone and iPad profiles.
	CodeInvitationGone         Code = "invitation_gone"          // the invitation expired or was withdrawn
	CodeProfileResponseInvalid Code = "profile_response_invalid" // a device's signed answer to the profile service does not verify
)

// Status is the HTTP status that answers an error with this code.
func (c Code) Status() int {
	switch c {
	case CodeMalformed, CodeSealedMessageRejected, CodeCredentialsNotSealed:
		return http.StatusBadRequest
	case CodeNoActivationPassword:
		return http.StatusNotFound
	case CodeActivationPasswordExpired, CodeActivationPasswordUsed, CodeITPolicyRejected,
		CodeMigrationPackageUnknown, CodeMigrationPackageExpired, CodeMigrationPackageRevoked:
		return http.StatusForbidden
	case CodeActivationIncorrect:
		return http.StatusUnauthorized
	case CodeInvalid:
		return http.StatusUnprocessableEntity
	case CodeUnauthenticated, CodeBadCredentials, CodeCredentialsSealRejected:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeTooManyAttempts:
		return http.StatusTooManyRequests
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case CodeUnavailable, CodeServerBusy:
		return http.StatusServiceUnavailable
	case CodeNotPermitted:
		return http.StatusForbidden
	case CodeFailed:
		return http.StatusBadGateway
	case CodeInvitationGone:
		return http.StatusGone
	case CodeProfileResponseInvalid:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error the client may see: a code, a message for people and,
// for invalid input, the field at fault. Err is the cause, logged, never sent.
type Error struct {
	Code  Code
	Msg   string
	Field string
	Err   error
	// RetryAfter, when set, tells the client how long to wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return string(e.Code) + ": " + e.Field + ": " + e.Msg
	}
	return string(e.Code) + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Invalid reports a field whose value is refused.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err if it is (or wraps) an *Error, else CodeInternal.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err says a thing does not exist.
func IsNotFound(err error) bool { return CodeOf(err) == CodeNotFound }
