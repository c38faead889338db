package xmpp

import (
	"crypto/rand"
	"encoding/xml"
)

// Event is what Conn.Events delivers: a Message or a Presence.
type Event interface{ event() }

// Message is a chat message (RFC 6121 §5).
type Message struct {
	ID    string
	From  string // full JID of the sender; empty on sending
	To    string
	Type  string // "chat" if empty on sending; "error" for a bounce
	Body  string
	Error *StanzaError // set when Type is "error"
}

// Presence is a presence stanza (RFC 6121 §4).
type Presence struct {
	From   string // empty on sending
	To     string // empty: broadcast to the contacts; set: directed presence
	Type   string // "" (available), PresenceUnavailable, "subscribe", "subscribed", "error"…
	Show   string // "" (online), ShowAway, ShowChat, ShowDND or ShowXA
	Status string // free text
	Error  *StanzaError
}

// Values of Presence.Show and Presence.Type.
const (
	ShowAway = "away"
	ShowChat = "chat"
	ShowDND  = "dnd"
	ShowXA   = "xa"

	PresenceUnavailable = "unavailable"
)

func (Message) event()  {}
func (Presence) event() {}

const (
	nsStreams  = "http://etherx.jabber.org/streams"
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsPing     = "urn:xmpp:ping"
	streamOpen = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='%s'>"
	streamClose = "</stream:stream>"
)

// stanza is the wire form of <message/>, <presence/> and <iq/>, both ways:
// only the children this package reads or writes are mapped. Children are
// matched by name alone; extensions in other namespaces that reuse these
// names would sit deeper than the stanza's own children.
type stanza struct {
	XMLName xml.Name
	ID      string `xml:"id,attr,omitempty"`
	From    string `xml:"from,attr,omitempty"`
	To      string `xml:"to,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`

	Body   string `xml:"body,omitempty"`
	Show   string `xml:"show,omitempty"`
	Status string `xml:"status,omitempty"`

	Bind    *bindPayload  `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	Session *struct{}     `xml:"urn:ietf:params:xml:ns:xmpp-session session"`
	Ping    *struct{}     `xml:"urn:xmpp:ping ping"`
	Error   *errorPayload `xml:"error"`
}

type bindPayload struct {
	Resource string `xml:"resource,omitempty"`
	JID      string `xml:"jid,omitempty"`
}

type errorPayload struct {
	Type     string    `xml:"type,attr"`
	Children []element `xml:",any"`
}

func (p *errorPayload) err() *StanzaError {
	if p == nil {
		return nil
	}
	condition, text := errorCondition(p.Children)
	return &StanzaError{Type: p.Type, Condition: condition, Text: text}
}

// features is <stream:features/> (RFC 6120 §4.3.2).
type features struct {
	StartTLS *struct {
		Required *struct{} `xml:"required"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	Mechanisms []string  `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms>mechanism"`
	Bind       *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	Session    *struct {
		Optional *struct{} `xml:"optional"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-session session"`
}

// newID returns a random stanza id.
func newID() string {
	return rand.Text()
}
