package sms

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidPhone says a phone number cannot be a real, dialable number.
var ErrInvalidPhone = errors.New("not a valid phone number")

// NormalizePhone returns raw as an E.164 number ("+14155550132"). Numbers
// without a leading + are read as national numbers of defaultRegion (an ISO
// 3166 code such as "US" or "GB").
func NormalizePhone(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 40 {
		return "", ErrInvalidPhone
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(defaultRegion))
	// "Possible" (the right length for its country) rather than "valid"
	// (in an allocated range): reserved fictional ranges such as Ofcom's
	// 07700 900xxx must work for testing and documentation.
	if err != nil || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return "", ErrInvalidPhone
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
