package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sender hands a message to an SMS provider.
type Sender interface {
	// Send submits one message. Its error is a *SendError saying whether
	// trying again can help.
	Send(ctx context.Context, to, body string) (Receipt, error)
	// Find reports a message already submitted to the number with this
	// body, so that a sender restarted after a crash can tell whether the
	// message it was sending went out, instead of sending it twice.
	Find(ctx context.Context, to, body string) (Receipt, bool, error)
}

// Receipt identifies a submitted message at the provider.
type Receipt struct {
	SID string // the provider's message id: Twilio's "SM...", or "outbox-..."
	// Status is the provider's own word for the message at submission
	// (Twilio: "queued", "accepted", ...; the outbox: "stored"). It is not a
	// queue state: Queue.MarkSent moves a message to StateSent whatever it
	// says, and status callbacks (ParseStatus) move it on.
	Status string
}

// Twilio error codes with a meaning of their own here.
const (
	TwilioInvalidTo    = 21211 // the 'To' number is not a valid phone number
	TwilioUnsubscribed = 21610 // the recipient replied STOP: never send again
)

// Error codes for failures that carry no Twilio code, as stored in
// Message.ErrorCode. A failure with an HTTP status but no Twilio code is
// stored as "http_<status>".
const (
	// CodeNetwork: no complete answer from the provider, so the message may
	// or may not have been accepted. The worker reconciles (Sender.Find)
	// before it sends such a message again.
	CodeNetwork = "network"
	// CodeUnreconciled: the worker could not ask the provider whether an
	// earlier attempt went out. It asks again before the next attempt.
	CodeUnreconciled = "unreconciled"
)

// SendError is why a provider did not take a message.
type SendError struct {
	HTTPStatus int    // 0 when no HTTP answer arrived
	Code       int    // Twilio's error code, 0 if none
	Message    string // the provider's explanation, or the network error
	// Permanent says trying again cannot succeed: the number is wrong, the
	// recipient opted out, the request is refused. Network errors, 429 and
	// 5xx are not permanent.
	Permanent bool
	// RetryAfter is how long the provider asked us to wait (Retry-After).
	RetryAfter time.Duration
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	} else {
		b.WriteString("no answer")
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ", Twilio error %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Permanent {
		b.WriteString(" (permanent)")
	}
	return b.String()
}

// OptedOut reports whether the recipient unsubscribed (replied STOP):
// nothing may be sent to them until they opt in again.
func (e *SendError) OptedOut() bool { return e.Code == TwilioUnsubscribed }

// ErrorCode is the code stored with the message: Twilio's code ("21211"),
// else "http_<status>", else CodeNetwork.
func (e *SendError) ErrorCode() string {
	switch {
	case e.Code != 0:
		return strconv.Itoa(e.Code)
	case e.HTTPStatus != 0:
		return "http_" + strconv.Itoa(e.HTTPStatus)
	default:
		return CodeNetwork
	}
}

// asSendError reads any error from a Sender as a *SendError; an error of
// another kind is treated as a network error, transient.
func asSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Message: err.Error()}
}

// Config chooses and configures the sender. With no AccountSID, messages go
// to the outbox.
type Config struct {
	AccountSID string // TWILIO_ACCOUNT_SID
	AuthToken  string // TWILIO_AUTH_TOKEN; also verifies status callbacks
	// From is the sending phone number (E.164) or alphanumeric sender ID,
	// or a Messaging Service SID ("MG..."), sent as MessagingServiceSid.
	From string // TWILIO_FROM
	// APIURL replaces https://api.twilio.com, e.g. "http://127.0.0.1:8089"
	// for a local server that speaks the Messages API. Empty: Twilio.
	APIURL string // TWILIO_API_URL
	// StatusCallback, when set, is the absolute URL Twilio posts delivery
	// status to (see VerifySignature and ParseStatus).
	StatusCallback string
	// Timeout bounds one request to Twilio; default 15 seconds.
	Timeout time.Duration
}

// Twilio reports whether c sends through Twilio rather than the outbox.
func (c Config) Twilio() bool { return c.AccountSID != "" }

// Validate checks a Twilio configuration; an empty one (the outbox) is valid.
func (c Config) Validate() error {
	if !c.Twilio() {
		if c.AuthToken != "" || c.From != "" {
			return errors.New("TWILIO_ACCOUNT_SID is required when TWILIO_AUTH_TOKEN or TWILIO_FROM is set")
		}
		return nil
	}
	// twilio-go refuses credentials with other characters, request by
	// request; say so once, at start-up.
	if !alphanumeric(c.AccountSID) {
		return errors.New("TWILIO_ACCOUNT_SID must be letters and digits (AC...)")
	}
	if c.AuthToken == "" || !alphanumeric(c.AuthToken) {
		return errors.New("TWILIO_AUTH_TOKEN is required with TWILIO_ACCOUNT_SID, letters and digits only")
	}
	if strings.TrimSpace(c.From) == "" {
		return errors.New("TWILIO_FROM is required when TWILIO_ACCOUNT_SID is set")
	}
	if c.APIURL != "" {
		if err := checkAbsoluteURL(c.APIURL); err != nil {
			return fmt.Errorf("TWILIO_API_URL: %w", err)
		}
	}
	if c.StatusCallback != "" {
		if err := checkAbsoluteURL(c.StatusCallback); err != nil {
			return fmt.Errorf("sms status callback: %w", err)
		}
	}
	return nil
}

// NewSender returns the sender c describes: Twilio when an account is
// configured, else the outbox, which logs to log.
func NewSender(c Config, log *slog.Logger) (Sender, error) {
	if !c.Twilio() {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return &OutboxSender{Log: log}, nil
	}
	return NewTwilioSender(c)
}

func alphanumeric(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}
