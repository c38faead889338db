package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// writeTimeout bounds a write whose context has no earlier deadline, so
	// a stalled server cannot hold the write lock forever.
	writeTimeout = 30 * time.Second
	// closeTimeout is how long Close waits for the server to end its side
	// of the stream.
	closeTimeout = 3 * time.Second
	// eventBuffer is how many incoming stanzas wait for the reader of
	// Events before the connection stops reading.
	eventBuffer = 64
)

// Conn is a logged-on XMPP connection. Its methods are safe for concurrent use.
//
// Incoming messages and presence arrive on Events, which must be read
// promptly: while it is full, nothing more is read from the server,
// replies to Ping included.
type Conn struct {
	jid       string
	domain    string
	mechanism string
	secure    bool

	conn net.Conn
	dec  *xml.Decoder // used by the reader goroutine only

	writeMu sync.Mutex
	ended   bool // under writeMu: the stream end was sent or the connection is gone

	events   chan Event
	stop     chan struct{} // closed by Close: nobody reads Events any more
	readDone chan struct{} // closed when the reader goroutine returns
	readErr  error         // why it returned; read only after readDone

	pendingMu sync.Mutex
	pending   map[string]chan *stanza // replies awaited, by iq id

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

func newConn(n *negotiation) *Conn {
	c := &Conn{
		jid:       n.jid,
		domain:    n.cfg.Domain,
		mechanism: n.mechanism,
		secure:    n.secure,
		conn:      n.conn,
		dec:       n.dec,
		events:    make(chan Event, eventBuffer),
		stop:      make(chan struct{}),
		readDone:  make(chan struct{}),
		pending:   make(map[string]chan *stanza),
	}
	go c.read()
	return c
}

// JID is the full JID the server bound, user@domain/resource.
func (c *Conn) JID() string { return c.jid }

// Mechanism is the SASL mechanism that logged on, e.g. ScramSHA1.
func (c *Conn) Mechanism() string { return c.mechanism }

// Secure reports whether the stream runs over TLS.
func (c *Conn) Secure() bool { return c.secure }

// Events delivers incoming messages (as Message) and presence (as
// Presence), and is closed when the connection ends; Err then says why.
// Messages without a body, such as chat state notifications, are left out.
// The server echoes the user's own presence, from c.JID(), too.
func (c *Conn) Events() <-chan Event { return c.events }

// Err returns why the connection ended: nil while it is up and after Close,
// otherwise a *StreamError, an error matching ErrClosed if the server ended
// the stream, or the network error.
func (c *Conn) Err() error {
	select {
	case <-c.readDone:
		return c.readErr
	default:
		return nil
	}
}

// Send sends a message, of type chat unless m.Type says otherwise, and
// returns its id, generated unless m.ID is set.
func (c *Conn) Send(ctx context.Context, m Message) (id string, err error) {
	s := stanza{XMLName: xml.Name{Local: "message"}, ID: m.ID, To: m.To, Type: m.Type, Body: m.Body}
	if s.ID == "" {
		s.ID = newID()
	}
	if s.Type == "" {
		s.Type = "chat"
	}
	return s.ID, c.write(ctx, &s)
}

// SendPresence sends presence: broadcast to the user's contacts when p.To is
// empty, directed to p.To otherwise.
func (c *Conn) SendPresence(ctx context.Context, p Presence) error {
	s := stanza{XMLName: xml.Name{Local: "presence"}, To: p.To, Type: p.Type, Show: p.Show, Status: p.Status}
	return c.write(ctx, &s)
}

// Ping asks the server for a reply (XEP-0199), to keep the connection alive
// and to find out whether it still is. Any reply counts, even an error from
// a server without ping support.
func (c *Conn) Ping(ctx context.Context) error {
	iq := stanza{XMLName: iqName, ID: newID(), To: c.domain, Type: "get", Ping: &struct{}{}}
	reply := make(chan *stanza, 1)
	c.pendingMu.Lock()
	c.pending[iq.ID] = reply
	c.pendingMu.Unlock()
	defer func() {
		c.pendingMu.Lock()
		delete(c.pending, iq.ID)
		c.pendingMu.Unlock()
	}()

	if err := c.write(ctx, &iq); err != nil {
		return err
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.readDone:
		return ErrClosed
	}
}

// Close ends the stream, waits briefly for the server to end its side, and
// closes the connection. The reader goroutine has returned and Events is
// closed when Close returns. Only the first call does anything.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.writeMu.Lock()
		if !c.ended {
			c.ended = true
			c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
			if _, err := io.WriteString(c.conn, streamClose); err != nil {
				c.closeErr = fmt.Errorf("xmpp: close: %w", err)
			}
		}
		c.writeMu.Unlock()
		close(c.stop)

		wait := time.NewTimer(closeTimeout)
		defer wait.Stop()
		select {
		case <-c.readDone:
		case <-wait.C:
		}
		c.conn.Close()
		<-c.readDone
	})
	return c.closeErr
}

// write sends one stanza. The context's deadline, or writeTimeout, bounds
// the write; a failed write may have left half a stanza on the wire, so it
// closes the connection.
func (c *Conn) write(ctx context.Context, s *stanza) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := xml.Marshal(s)
	if err != nil {
		return fmt.Errorf("xmpp: encode %s: %w", s.XMLName.Local, err)
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.ended {
		return ErrClosed
	}
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetWriteDeadline(deadline)
	if _, err := c.conn.Write(b); err != nil {
		c.ended = true
		c.conn.Close()
		return fmt.Errorf("xmpp: send %s: %w", s.XMLName.Local, err)
	}
	return nil
}

// read is the reader goroutine: it dispatches incoming stanzas until the
// stream or the connection ends.
func (c *Conn) read() {
	err := c.receive()

	var streamErr *StreamError
	c.writeMu.Lock()
	if !c.ended && (errors.Is(err, errStreamEnd) || errors.As(err, &streamErr)) {
		// The server ended the stream: end ours in turn (RFC 6120 §4.4).
		c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		io.WriteString(c.conn, streamClose)
	}
	c.ended = true
	c.writeMu.Unlock()
	c.conn.Close()

	if c.closing.Load() {
		err = nil // whatever happened after Close is no news to the caller
	}
	c.readErr = err
	close(c.events)
	close(c.readDone)
}

func (c *Conn) receive() error {
	for {
		start, err := next(c.dec)
		if err != nil {
			return err
		}
		if start.Name.Space != "jabber:client" {
			if err := c.dec.Skip(); err != nil {
				return fmt.Errorf("xmpp: read: %w", err)
			}
			continue
		}
		var s stanza
		if err := c.dec.DecodeElement(&s, &start); err != nil {
			return fmt.Errorf("xmpp: read %s: %w", start.Name.Local, err)
		}
		switch start.Name.Local {
		case "message":
			if s.Body != "" || s.Type == "error" {
				c.deliver(Message{ID: s.ID, From: s.From, To: s.To, Type: s.Type, Body: s.Body, Error: s.Error.err()})
			}
		case "presence":
			c.deliver(Presence{From: s.From, To: s.To, Type: s.Type, Show: s.Show, Status: s.Status, Error: s.Error.err()})
		case "iq":
			c.answer(&s)
		}
	}
}

func (c *Conn) deliver(e Event) {
	select {
	case c.events <- e:
	case <-c.stop:
	}
}

// answer hands a reply to the Ping waiting for it, and answers requests
// from the server: pings with a result, anything else with
// service-unavailable, as RFC 6120 §8.2.3 asks.
func (c *Conn) answer(iq *stanza) {
	switch iq.Type {
	case "result", "error":
		c.pendingMu.Lock()
		reply := c.pending[iq.ID]
		delete(c.pending, iq.ID)
		c.pendingMu.Unlock()
		if reply != nil {
			reply <- iq
		}
	case "get", "set":
		answer := stanza{XMLName: iqName, ID: iq.ID, To: iq.From, Type: "result"}
		if iq.Ping == nil {
			answer.Type = "error"
			answer.Error = &errorPayload{Type: "cancel", Children: []element{
				{XMLName: xml.Name{Space: nsStanzas, Local: "service-unavailable"}},
			}}
		}
		// A failure here ends the connection, which the read side reports.
		c.write(context.Background(), &answer)
	}
}
