package xmpp

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// negotiationTimeout bounds Dial when its context has no deadline, so that a
// server that accepts the connection and then says nothing cannot hold it
// forever.
const negotiationTimeout = 30 * time.Second

var (
	iqName       = xml.Name{Local: "iq"}
	streamName   = xml.Name{Space: nsStreams, Local: "stream"}
	featuresName = xml.Name{Space: nsStreams, Local: "features"}
	errorName    = xml.Name{Space: nsStreams, Local: "error"}
	proceedName  = xml.Name{Space: nsTLS, Local: "proceed"}
	errStreamEnd = fmt.Errorf("%w: the server ended the stream", ErrClosed)
)

// Dial connects to the server, negotiates the stream (STARTTLS, SASL,
// resource binding, and a session if the server requires one), sends the
// initial presence and returns the logged-on connection.
//
// A wrong username or password fails with an error matching
// ErrBadCredentials; a server that refuses or drops the connection before
// greeting it, as Prosody does at its connection limit, with one matching
// ErrServerUnavailable. The context bounds the whole negotiation; without a
// deadline, 30 seconds apply.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, negotiationTimeout)
		defer cancel()
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", cfg.addr())
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, unavailable(err)
		}
		return nil, fmt.Errorf("xmpp: connect: %w", err)
	}

	// Every read and write of the negotiation blocks on the network: the
	// deadline bounds them, and cancellation moves it to the past.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })

	n := &negotiation{cfg: cfg, conn: raw}
	err = n.run(ctx)
	if !stop() && err == nil {
		// The context ended just as the negotiation did, and its deadline
		// may already be in the past: the connection is not usable.
		err = ctx.Err()
	}
	if err != nil {
		raw.Close()
		return nil, n.classify(ctx, err)
	}
	raw.SetDeadline(time.Time{})
	return newConn(n), nil
}

// negotiation is the state of a connection between TCP connect and the
// moment it is handed to a Conn.
type negotiation struct {
	cfg       Config
	conn      net.Conn // the TLS connection once STARTTLS is done
	dec       *xml.Decoder
	greeted   bool // the server has sent a stream header
	secure    bool
	mechanism string
	jid       string
}

func (n *negotiation) run(ctx context.Context) error {
	f, err := n.openStream()
	if err != nil {
		return err
	}
	if f.StartTLS != nil {
		if err := n.startTLS(ctx); err != nil {
			return err
		}
		if f, err = n.openStream(); err != nil {
			return err
		}
	} else if !n.cfg.AllowPlaintext || !loopback(n.conn.RemoteAddr()) {
		return ErrTLSRequired
	}

	if err := n.authenticate(f.Mechanisms); err != nil {
		return err
	}
	if f, err = n.openStream(); err != nil {
		return err
	}
	if err := n.bind(f); err != nil {
		return err
	}
	// RFC 6121 dropped sessions, and servers that still offer them mark
	// them optional; only old servers need the request.
	if f.Session != nil && f.Session.Optional == nil {
		iq := stanza{XMLName: iqName, ID: newID(), Type: "set", To: n.cfg.Domain, Session: &struct{}{}}
		if _, err := n.query(&iq, "establish session"); err != nil {
			return err
		}
	}
	return n.send(&stanza{XMLName: xml.Name{Local: "presence"}})
}

// classify turns a negotiation failure into the error Dial returns.
func (n *negotiation) classify(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is the context's, which may pass a
		// moment later by the context's own clock.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	var se *StreamError
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("xmpp: negotiation interrupted: %w", context.Cause(ctx))
		if !n.greeted && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// Connected, but never greeted: Prosody leaves connections
			// in its listen queue once it is at its limit.
			return unavailable(err)
		}
		return err
	case !n.greeted && dropped(err):
		return unavailable(err)
	case errors.As(err, &se) && overloaded[se.Condition]:
		return unavailable(err)
	}
	return err
}

// openStream sends a stream header, (again after STARTTLS and SASL, which
// restart the stream) and reads the server's header and features.
func (n *negotiation) openStream() (*features, error) {
	if err := n.send(fmt.Sprintf(streamOpen, escape(n.cfg.Domain))); err != nil {
		return nil, err
	}
	n.dec = xml.NewDecoder(n.conn)
	for {
		tok, err := n.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("xmpp: read stream header: %w", err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			if start.Name != streamName {
				return nil, fmt.Errorf("xmpp: expected a stream header, got <%s>", start.Name.Local)
			}
			break
		}
	}
	n.greeted = true

	start, err := next(n.dec)
	if err != nil {
		return nil, err
	}
	if start.Name != featuresName {
		return nil, fmt.Errorf("xmpp: expected stream features, got <%s>", start.Name.Local)
	}
	var f features
	if err := n.dec.DecodeElement(&f, &start); err != nil {
		return nil, fmt.Errorf("xmpp: read stream features: %w", err)
	}
	return &f, nil
}

func (n *negotiation) startTLS(ctx context.Context) error {
	if err := n.send("<starttls xmlns='" + nsTLS + "'/>"); err != nil {
		return err
	}
	start, err := next(n.dec)
	if err != nil {
		return err
	}
	if start.Name != proceedName {
		return fmt.Errorf("xmpp: server refused STARTTLS with <%s/>", start.Name.Local)
	}
	// The server sends nothing after <proceed/> until the handshake, so the
	// decoder being dropped holds no bytes that belong to TLS.
	tc := tls.Client(n.conn, n.cfg.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("xmpp: TLS handshake: %w", err)
	}
	n.conn, n.secure = tc, true
	return nil
}

func (n *negotiation) bind(f *features) error {
	if f.Bind == nil {
		return errors.New("xmpp: server offers no resource binding")
	}
	iq := stanza{XMLName: iqName, ID: newID(), Type: "set", Bind: &bindPayload{Resource: n.cfg.Resource}}
	reply, err := n.query(&iq, "bind resource")
	if err != nil {
		return err
	}
	if reply.Bind == nil || reply.Bind.JID == "" {
		return errors.New("xmpp: bind resource: the server returned no JID")
	}
	n.jid = reply.Bind.JID
	return nil
}

// query sends an iq and reads its reply. During negotiation nothing else
// can arrive first.
func (n *negotiation) query(iq *stanza, step string) (*stanza, error) {
	if err := n.send(iq); err != nil {
		return nil, err
	}
	start, err := next(n.dec)
	if err != nil {
		return nil, err
	}
	var reply stanza
	if err := n.dec.DecodeElement(&reply, &start); err != nil {
		return nil, fmt.Errorf("xmpp: %s: %w", step, err)
	}
	switch {
	case reply.XMLName.Local != "iq" || reply.ID != iq.ID:
		return nil, fmt.Errorf("xmpp: %s: unexpected <%s/>", step, reply.XMLName.Local)
	case reply.Type == "error":
		if reply.Error == nil {
			return nil, fmt.Errorf("xmpp: %s: error without a condition", step)
		}
		return nil, fmt.Errorf("xmpp: %s: %w", step, reply.Error.err())
	}
	return &reply, nil
}

// send writes a string as it is, and anything else as XML.
func (n *negotiation) send(v any) error {
	var err error
	if s, ok := v.(string); ok {
		_, err = io.WriteString(n.conn, s)
	} else {
		var b []byte
		if b, err = xml.Marshal(v); err == nil {
			_, err = n.conn.Write(b)
		}
	}
	if err != nil {
		return fmt.Errorf("xmpp: write: %w", err)
	}
	return nil
}

// next returns the next top-level element of the stream, skipping
// whitespace keepalives. The end of the stream and stream errors come back
// as errors.
func next(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		var syntax *xml.SyntaxError
		if errors.As(err, &syntax) && syntax.Msg == "unexpected EOF" {
			// encoding/xml's word for the connection ending mid-stream.
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("xmpp: read: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name != errorName {
				return t, nil
			}
			var e struct {
				Children []element `xml:",any"`
			}
			if err := dec.DecodeElement(&e, &t); err != nil {
				return xml.StartElement{}, fmt.Errorf("xmpp: read stream error: %w", err)
			}
			condition, text := errorCondition(e.Children)
			return xml.StartElement{}, &StreamError{Condition: condition, Text: text}
		case xml.EndElement:
			// The decoder checks nesting, so a top-level end is the stream's.
			return xml.StartElement{}, errStreamEnd
		}
	}
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}
