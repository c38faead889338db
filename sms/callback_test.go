package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// twilioSignature signs as Twilio documents it: the URL followed by each
// POST parameter's name and value, sorted by name, HMAC-SHA1 with the auth
// token, base64. Only the test computes it, to play Twilio's part.
func twilioSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	const callbackURL = "https://portal.example.com/api/twilio/status?tenant=1"
	form := url.Values{
		"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"delivered"},
		"AccountSid": {testAccountSID}, "To": {testTo}, "From": {testFrom}, "ApiVersion": {"2010-04-01"},
	}
	sig := twilioSignature(testAuthToken, callbackURL, form)

	// twilio-go's own validator agrees with the test's signature.
	rv := client.NewRequestValidator(testAuthToken)
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	if !rv.Validate(callbackURL, params, sig) {
		t.Fatal("twilio-go rejects the test's signature: the test signs wrongly")
	}

	if !VerifySignature(testAuthToken, callbackURL, form, sig) {
		t.Error("VerifySignature rejected a valid signature")
	}
	if !VerifySignature(testAuthToken, "https://portal.example.com:443/api/twilio/status?tenant=1", form, sig) {
		t.Error("VerifySignature rejected the URL with its default port spelled out")
	}

	changed := url.Values{}
	for k, v := range form {
		changed[k] = v
	}
	changed.Set("MessageStatus", "failed")
	added := url.Values{"ErrorCode": {"30007"}}
	for k, v := range form {
		added[k] = v
	}
	tests := []struct {
		name, token, url, sig string
		form                  url.Values
	}{
		{"changed_param", testAuthToken, callbackURL, sig, changed},
		{"added_param", testAuthToken, callbackURL, sig, added},
		{"changed_url", testAuthToken, "https://portal.example.com/api/twilio/status?tenant=2", sig, form},
		{"http_not_https", testAuthToken, "http://portal.example.com/api/twilio/status?tenant=1", sig, form},
		{"other_token", "fedcba9876543210fedcba9876543210", callbackURL, sig, form},
		{"no_signature", testAuthToken, callbackURL, "", form},
		{"no_token", "", callbackURL, sig, form},
		{"garbage_signature", testAuthToken, callbackURL, "not base64!", form},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifySignature(tt.token, tt.url, tt.form, tt.sig) {
				t.Error("VerifySignature accepted a request it must refuse")
			}
		})
	}
}

// TestVerifySignatureTwilioVector is the example Twilio publishes with its
// libraries.
func TestVerifySignatureTwilioVector(t *testing.T) {
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	if !VerifySignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form, "vOEb5UThFn24KEfnOFLQY2AE5FY=") {
		t.Error("VerifySignature rejected Twilio's published example")
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		twilio, code, want string
	}{
		{"accepted", "", StateQueued},
		{"scheduled", "", StateQueued},
		{"queued", "", StateQueued},
		{"sending", "", StateQueued},
		{"sent", "", StateSent},
		{"delivered", "", StateDelivered},
		{"read", "", StateDelivered},
		{"undelivered", "30003", StateUndelivered},
		{"failed", "30008", StateFailed},
		{"canceled", "", StateFailed},
		{"failed", "21610", StateOptedOut},
		{"undelivered", "21610", StateOptedOut},
		{"receiving", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.twilio+tt.code, func(t *testing.T) {
			form := url.Values{"MessageSid": {"SMabc"}, "MessageStatus": {tt.twilio}, "ErrorCode": {tt.code}}
			sid, status, code := ParseStatus(form)
			if sid != "SMabc" || status != tt.want || code != tt.code {
				t.Errorf("ParseStatus(%s, %q) = %q, %q, %q; want SMabc, %q, %q", tt.twilio, tt.code, sid, status, code, tt.want, tt.code)
			}
		})
	}
	sid, status, _ := ParseStatus(url.Values{"SmsSid": {"SMold"}, "SmsStatus": {"delivered"}})
	if sid != "SMold" || status != StateDelivered {
		t.Errorf("legacy SmsSid/SmsStatus = %q, %q; want SMold, delivered", sid, status)
	}
}

func TestStateRank(t *testing.T) {
	order := []string{StateQueued, StateSending, StateSent, StateDelivered}
	for i := 1; i < len(order); i++ {
		if StateRank(order[i-1]) >= StateRank(order[i]) {
			t.Errorf("%s must rank below %s", order[i-1], order[i])
		}
	}
	for _, s := range []string{StateUndelivered, StateFailed, StateOptedOut} {
		if StateRank(s) != StateRank(StateDelivered) {
			t.Errorf("%s must rank with the final states", s)
		}
	}
	if StateRank("bogus") != -1 {
		t.Error("unknown state must rank -1")
	}
}
