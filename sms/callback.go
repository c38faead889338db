package sms

import (
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// VerifySignature reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature, with authToken, of a request to fullURL carrying
// form (the POST parameters). fullURL must be the URL exactly as Twilio
// called it, scheme, host and query included: behind a proxy, the public
// URL, not the one the portal listens on.
func VerifySignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// ParseStatus reads a Twilio message status callback: the message SID, the
// queue state the status corresponds to, and Twilio's error code, if any.
//
// Twilio's accepted, scheduled, queued and sending (Twilio still holds the
// message) become StateQueued; sent StateSent; delivered and read
// StateDelivered; undelivered StateUndelivered; failed and canceled
// StateFailed; an undelivered or failed message with error 21610 (the
// recipient unsubscribed) StateOptedOut. Any other status gives "".
//
// Callbacks arrive out of order and more than once, and a "queued" callback
// comes after the message left our queue: storage must never move a message
// back to an earlier state (see StateRank), or the worker would send it
// again.
func ParseStatus(form url.Values) (sid, status, errorCode string) {
	sid = form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	raw := form.Get("MessageStatus")
	if raw == "" {
		raw = form.Get("SmsStatus")
	}
	errorCode = strings.TrimSpace(form.Get("ErrorCode"))
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "accepted", "scheduled", "queued", "sending":
		status = StateQueued
	case "sent":
		status = StateSent
	case "delivered", "read":
		status = StateDelivered
	case "undelivered":
		status = StateUndelivered
	case "failed", "canceled":
		status = StateFailed
	}
	if (status == StateUndelivered || status == StateFailed) && errorCode == "21610" {
		status = StateOptedOut
	}
	return sid, status, errorCode
}

// StateRank orders queue states so that storage can ignore a callback that
// would move a message backwards: a state replaces another only when its
// rank is higher. The final states (delivered, undelivered, failed,
// opted_out) share the top rank. Unknown states rank -1.
func StateRank(state string) int {
	switch state {
	case StateQueued:
		return 0
	case StateSending:
		return 1
	case StateSent:
		return 2
	case StateDelivered, StateUndelivered, StateFailed, StateOptedOut:
		return 3
	}
	return -1
}
