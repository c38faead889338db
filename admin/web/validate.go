package web

import (
	"errors"

	"provportal/portal"
	"provportal/sms"
)

// The console checks fields with the same rules and messages as the API.
var (
	checkName     = portal.CheckName
	checkEmail    = portal.CheckEmail
	checkPassword = portal.CheckPassword
	checkIDs      = portal.CheckIDs
)

// normalizePhone is the API's phone rule: E.164, or the API's message.
func normalizePhone(s, region string) (string, error) {
	if s == "" {
		return "", nil
	}
	e164, err := sms.NormalizePhone(s, region)
	if err != nil {
		return "", portal.InvalidPhone(s)
	}
	return e164, nil
}

// formErrors are a refused form's problems: the API's message per field,
// and those about the form as a whole.
type formErrors struct {
	Fields map[string]string
	Form   []string
}

// add records err when it is a problem the person can fix (a *portal.Error
// other than an internal one) and reports whether it was; nil is nothing to
// record. Anything else is for the caller to return.
func (e *formErrors) add(err error) bool {
	if err == nil {
		return true
	}
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Code == portal.CodeInternal {
		return false
	}
	msg := fieldMessage(pe)
	if pe.Field == "" {
		e.Form = append(e.Form, msg)
		return true
	}
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, seen := e.Fields[pe.Field]; !seen {
		e.Fields[pe.Field] = msg
	}
	return true
}

func (e formErrors) empty() bool { return len(e.Fields) == 0 && len(e.Form) == 0 }
