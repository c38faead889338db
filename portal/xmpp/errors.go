package xmpp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"syscall"
)

var (
	// ErrBadCredentials: the server refused the username or password
	// (SASL not-authorized). Callers answer it as bad_credentials.
	ErrBadCredentials = errors.New("xmpp: bad credentials")

	// ErrServerUnavailable: the server refused the connection, dropped it
	// before saying anything, or said it is overloaded or shutting down, as
	// it does when its connection limit is reached. The cause is wrapped
	// alongside.
	ErrServerUnavailable = errors.New("xmpp: server unavailable")

	// ErrTLSRequired: the server did not offer STARTTLS, and plaintext was
	// not allowed.
	ErrTLSRequired = errors.New("xmpp: server does not offer STARTTLS")

	// ErrClosed: the connection has been closed.
	ErrClosed = errors.New("xmpp: connection closed")
)

// StreamError is a stream-level error from the server (RFC 6120 §4.9), which
// ends the connection.
type StreamError struct {
	Condition string // e.g. "host-unknown", "conflict", "system-shutdown"
	Text      string
}

func (e *StreamError) Error() string {
	return "xmpp: stream error: " + joinText(e.Condition, e.Text)
}

// SASLError is an authentication failure (RFC 6120 §6.5). The condition
// not-authorized also matches ErrBadCredentials.
type SASLError struct {
	Mechanism string
	Condition string // e.g. "not-authorized", "account-disabled"
	Text      string
}

func (e *SASLError) Error() string {
	return "xmpp: " + e.Mechanism + " authentication failed: " + joinText(e.Condition, e.Text)
}

func (e *SASLError) Is(target error) bool {
	return target == ErrBadCredentials && e.Condition == "not-authorized"
}

// StanzaError is an error returned for a stanza that was sent (RFC 6120 §8.3).
type StanzaError struct {
	Type      string // "cancel", "modify", "auth", "wait"…
	Condition string // e.g. "service-unavailable"
	Text      string
}

func (e *StanzaError) Error() string {
	return "xmpp: stanza error: " + joinText(e.Condition, e.Text)
}

func joinText(condition, text string) string {
	if text == "" {
		return condition
	}
	return condition + " (" + text + ")"
}

// unavailable marks err as the server being unavailable, keeping err reachable
// with errors.Is and errors.As.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrServerUnavailable, err)
}

// dropped reports whether err means the server closed or reset the
// connection: before its stream header, that is what a server at its
// connection limit does to the connections it turns away.
func dropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// overloaded lists the stream error conditions that say the server cannot
// take the connection now rather than that something is wrong with it.
var overloaded = map[string]bool{
	"resource-constraint": true,
	"system-shutdown":     true,
}

// errorCondition pulls the defined condition and the text out of the children
// of a stream error, a SASL failure or a stanza error, which all share that
// shape: one empty element naming the condition, and an optional <text/>.
func errorCondition(children []element) (condition, text string) {
	for _, c := range children {
		if c.XMLName.Local == "text" {
			text = c.Text
		} else if condition == "" {
			condition = c.XMLName.Local
		}
	}
	return condition, text
}

// element is any child element, kept by name and text.
type element struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}
