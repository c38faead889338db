package bootloader

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"provportal/packages"
)

// relayTimeout bounds reaching the portal through the relay: the dial, the
// upgrade and the TLS handshake together.
const relayTimeout = 20 * time.Second

// relayRoute reaches a portal by its alias on a relay. Each connection is an
// upgrade on the relay, which pipes it to the portal; TLS runs inside it to
// the portal itself, whose certificate must carry the pinned key. The relay
// sees only ciphertext.
type relayRoute struct {
	relay *url.URL
	alias string

	mu     sync.Mutex
	pinned string // the fingerprint the portal must show; empty: the first one seen
}

func newRelayRoute(relay *url.URL, alias, fingerprint string) *relayRoute {
	return &relayRoute{relay: relay, alias: alias, pinned: fingerprint}
}

// pinnedKey is the fingerprint the route trusts: the configured one, or the
// one the portal showed first.
func (r *relayRoute) pinnedKey() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pinned
}

// client is an HTTP client whose requests to packages.RelayPortalHost go
// through the relay; any other host is reached directly.
func (r *relayRoute) client() *http.Client {
	t := newHTTPClient().Transport.(*http.Transport)
	t.Proxy = nil // the relay is dialled directly
	t.ForceAttemptHTTP2 = false
	direct := &tls.Dialer{}
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host != packages.RelayPortalHost {
			return direct.DialContext(ctx, network, addr)
		}
		return r.dial(ctx)
	}
	return &http.Client{Transport: t}
}

// dial opens one TLS connection to the portal through the relay.
func (r *relayRoute) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	conn, err := r.upgrade(ctx)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: packages.RelayPortalHost,
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"http/1.1"},
		// The portal's certificate is self-signed: what is checked is that
		// it carries the pinned key, in VerifyConnection.
		InsecureSkipVerify: true,
		VerifyConnection:   r.verify,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		var re *relayError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, &relayError{msg: fmt.Sprintf("TLS with the portal for alias %s through the relay failed: %v", r.alias, err), transient: true}
	}
	return tc, nil
}

// verify checks that the portal's certificate carries the pinned key, or
// pins the key when none is pinned yet (trust on first use; Run then checks
// that the portal's manifest key is this same key).
func (r *relayRoute) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return &relayError{msg: "the portal for alias " + r.alias + " showed no certificate"}
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return &relayError{msg: "the portal for alias " + r.alias + " showed a certificate without an Ed25519 key"}
	}
	fp := packages.Fingerprint(pub)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pinned == "" {
		r.pinned = fp
	}
	if fp != r.pinned {
		return &relayError{msg: fmt.Sprintf("the portal for alias %s shows the key %s, not the trusted %s: refusing it", r.alias, fp, r.pinned)}
	}
	return nil
}

// upgrade connects to the relay and asks for the alias; the connection it
// returns carries the bytes to and from the portal.
func (r *relayRoute) upgrade(ctx context.Context) (net.Conn, error) {
	unreachable := func(err error) error {
		return &relayError{msg: fmt.Sprintf("cannot reach the relay at %s: %v", r.relay.Redacted(), err), transient: true}
	}
	conn, err := packages.DialRelay(ctx, r.relay)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, unreachable(err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	req := packages.RelayUpgradeRequest(r.relay, packages.RelayConnectPath, r.alias, "provportal-bootloader")
	br := bufio.NewReader(conn)
	resp, err := func() (*http.Response, error) {
		if err := req.Write(conn); err != nil {
			return nil, err
		}
		return http.ReadResponse(br, req)
	}()
	if err != nil {
		conn.Close()
		return nil, unreachable(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer conn.Close()
		msg := packages.RelayRefusal(resp)
		if msg == "" {
			msg = fmt.Sprintf("the relay at %s refused alias %s: %s", r.relay.Redacted(), r.alias, resp.Status)
		}
		// A portal not connected now may be reconnecting: worth asking again
		// in the middle of a download, not at the start.
		return nil, &relayError{msg: msg, transient: resp.StatusCode == http.StatusServiceUnavailable}
	}
	conn.SetDeadline(time.Time{})
	return packages.WithBuffered(conn, br), nil
}

// relayError is the relay, or the portal behind it, failing or refusing;
// its message is whole, for a person.
type relayError struct {
	msg       string
	transient bool
}

func (e *relayError) Error() string { return e.msg }
