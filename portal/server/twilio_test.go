package server

import (
	"provportal/sms"
	"provportal/sms/smstest"
)

func withTwilio(f *smstest.Twilio) option {
	return func(c *Config) {
		c.SMS = sms.Config{AccountSID: smstest.AccountSID, AuthToken: smstest.AuthToken, From: smstest.From, APIURL: f.URL}
	}
}
