package collab

import (
	"context"

	"provportal/portal/xmpp"
)

// messenger is a session's logged-on connection to the messaging server:
// what the service uses of *xmpp.Conn.
type messenger interface {
	JID() string
	// Events delivers messages and presence, and is closed when the connection ends.
	Events() <-chan xmpp.Event
	SendMessage(ctx context.Context, m xmpp.Message) error
	SendPresence(ctx context.Context, p xmpp.Presence) error
	Ping(ctx context.Context) error
	Close() error
}

type dialFunc func(ctx context.Context, cfg xmpp.Config) (messenger, error)

// xmppConn is an *xmpp.Conn as a messenger.
type xmppConn struct{ *xmpp.Conn }

func (c xmppConn) SendMessage(ctx context.Context, m xmpp.Message) error {
	_, err := c.Send(ctx, m)
	return err
}

func dialXMPP(ctx context.Context, cfg xmpp.Config) (messenger, error) {
	c, err := xmpp.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return xmppConn{c}, nil
}
