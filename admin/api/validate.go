package api

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"provportal/portal"
	"provportal/portal/web"
	"provportal/sms"
)

var decode = web.DecodeJSON

var checkUsername = portal.CheckUsername

// checkName checks a display name or the name of a group, app or policy.
func checkName(field, s string, required bool, max int) error {
	if strings.TrimSpace(s) == "" {
		if required {
			return portal.Invalid(field, "is required")
		}
		return nil
	}
	if utf8.RuneCountInString(s) > max {
		return portal.Invalid(field, "is longer than %d characters", max)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return portal.Invalid(field, "must not contain control characters")
	}
	if s != strings.TrimSpace(s) {
		return portal.Invalid(field, "must not start or end with spaces")
	}
	return nil
}

func checkEmail(s string) error {
	if s == "" {
		return nil
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || len(s) > 254 {
		return portal.Invalid("email", "must be a plain e-mail address such as alice@example.com")
	}
	return nil
}

// normalizePhone returns the number in E.164, or an error naming the field.
func (a *API) normalizePhone(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	e164, err := sms.NormalizePhone(s, a.phoneRegion)
	if err != nil {
		return "", portal.Invalid("phone", "%q is not a phone number; write it with its country code, e.g. +14155550132", s)
	}
	return e164, nil
}

const (
	minPasswordLen = 8
	maxPasswordLen = 1024
)

func checkPassword(field, s string) error {
	n := utf8.RuneCountInString(s)
	if n < minPasswordLen || len(s) > maxPasswordLen {
		return portal.Invalid(field, "must be %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	return nil
}

func checkIDs(field string, ids []string) error {
	for _, id := range ids {
		if id == "" || len(id) > 64 {
			return portal.Invalid(field, "holds an empty or overlong ID")
		}
	}
	return nil
}
