package portal

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// CheckUsername refuses usernames people could not type on a phone or that
// could be mistaken for something else in a log.
func CheckUsername(field, s string) error {
	if !usernameRE.MatchString(s) {
		return Invalid(field, "must be 1 to 64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	return nil
}

// CheckName checks a display name or the name of a group, app or policy.
func CheckName(field, s string, required bool, max int) error {
	if strings.TrimSpace(s) == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(field, "is longer than %d characters", max)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return Invalid(field, "must not contain control characters")
	}
	if s != strings.TrimSpace(s) {
		return Invalid(field, "must not start or end with spaces")
	}
	return nil
}

// CheckEmail accepts an empty address or a plain one such as alice@example.com.
func CheckEmail(s string) error {
	if s == "" {
		return nil
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || len(s) > 254 {
		return Invalid("email", "must be a plain e-mail address such as alice@example.com")
	}
	return nil
}

// Password length limits for users and administrators.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// CheckPassword checks a new password's length.
func CheckPassword(field, s string) error {
	if utf8.RuneCountInString(s) < MinPasswordLen || len(s) > MaxPasswordLen {
		return Invalid(field, "must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// CheckIDs refuses empty or overlong IDs in a list.
func CheckIDs(field string, ids []string) error {
	for _, id := range ids {
		if id == "" || len(id) > 64 {
			return Invalid(field, "holds an empty or overlong ID")
		}
	}
	return nil
}

// InvalidPhone is the error for a phone number that cannot be normalised.
func InvalidPhone(s string) *Error {
	return Invalid("phone", "%q is not a phone number; write it with its country code, e.g. +14155550132", s)
}
