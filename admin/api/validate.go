package api

import (
	"provportal/portal"
	"provportal/portal/web"
	"provportal/sms"
)

var decode = web.DecodeJSON

var checkUsername = portal.CheckUsername

var (
	checkName     = portal.CheckName
	checkEmail    = portal.CheckEmail
	checkPassword = portal.CheckPassword
	checkIDs      = portal.CheckIDs
)

// normalizePhone returns the number in E.164, or an error naming the field.
func (a *API) normalizePhone(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	e164, err := sms.NormalizePhone(s, a.phoneRegion)
	if err != nil {
		return "", portal.InvalidPhone(s)
	}
	return e164, nil
}
