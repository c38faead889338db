package relay

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	proxyproto "github.com/pires/go-proxyproto"

	"provportal/packages"
)

// UplinkConfig is what a portal needs to hold its alias on a relay.
type UplinkConfig struct {
	RelayURL string             // --relay, PORTAL_RELAY_URL
	Alias    string             // --alias, PORTAL_ALIAS
	Key      ed25519.PrivateKey // the manifest signing key, which the portal proves it holds
	Log      *slog.Logger
	// MinRetry is the first wait after a failed attempt; it doubles up to
	// MaxRetry. RefusedRetry is the wait after the relay refused the key:
	// only an operator can change that, so asking often is no use.
	MinRetry, MaxRetry, RefusedRetry time.Duration
	// HandshakeTimeout bounds connecting to the relay and its handshake.
	HandshakeTimeout time.Duration
}

// Uplink holds a portal's alias on a relay: it connects out, proves the key,
// and keeps the connection up, reconnecting with capped, jittered backoff.
// It is also the net.Listener on which the relay's streams arrive.
type Uplink struct {
	cfg   UplinkConfig
	relay *url.URL
	alias string
	log   *slog.Logger

	streams   chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	session *yamux.Session
}

// ParseRelayURL checks a relay's address: http:// or https://, a host, no query.
func ParseRelayURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("the relay URL %q must be an http:// or https:// address such as https://relay.example.com", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.Fragment, u.RawFragment, u.RawPath = "", "", ""
	return u, nil
}

// NewUplink checks the configuration; Run connects.
func NewUplink(cfg UplinkConfig) (*Uplink, error) {
	relay, err := ParseRelayURL(cfg.RelayURL)
	if err != nil {
		return nil, err
	}
	alias, err := packages.CheckAlias(cfg.Alias)
	if err != nil {
		return nil, err
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("the uplink needs the portal's Ed25519 signing key")
	}
	if cfg.MinRetry <= 0 {
		cfg.MinRetry = 500 * time.Millisecond
	}
	if cfg.MaxRetry < cfg.MinRetry {
		cfg.MaxRetry = max(30*time.Second, cfg.MinRetry)
	}
	if cfg.RefusedRetry <= 0 {
		cfg.RefusedRetry = 2 * time.Minute
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 15 * time.Second
	}
	log := cfg.Log.With("relay", relay.Redacted(), "alias", alias)
	return &Uplink{cfg: cfg, relay: relay, alias: alias, log: log, streams: make(chan net.Conn), closed: make(chan struct{})}, nil
}

// stableAfter is how long a connection must have lasted for the next
// failure to start the backoff again from MinRetry.
const stableAfter = 30 * time.Second

// Run holds the alias until ctx is done or the listener is closed.
func (u *Uplink) Run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil && !u.isClosed() {
		session, err := u.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := u.backoff(failures)
			var refusal *Refusal
			switch {
			case errors.As(err, &refusal) && refusal.Code == CodeAliasBound:
				wait = jitter(u.cfg.RefusedRetry)
				u.log.Error(refusal.Message, "key_fingerprint", packages.Fingerprint(u.cfg.Key.Public().(ed25519.PublicKey)), "retry_in", wait.Round(time.Second))
			case errors.As(err, &refusal):
				u.log.Error("the relay refused this portal: "+refusal.Message, "code", refusal.Code, "retry_in", wait.Round(time.Millisecond))
			default:
				u.log.Warn("cannot connect to the relay", "err", err, "retry_in", wait.Round(time.Millisecond))
			}
			if !u.sleep(ctx, wait) {
				return
			}
			continue
		}
		u.log.Info("connected to the relay: devices reach this portal by its alias")
		since := time.Now()
		err = u.serve(ctx, session)
		if ctx.Err() != nil || u.isClosed() {
			return
		}
		if time.Since(since) >= stableAfter {
			failures = 0
		}
		failures++
		wait := u.backoff(failures)
		u.log.Warn("lost the connection to the relay", "err", err, "connected_for", time.Since(since).Round(time.Second), "retry_in", wait.Round(time.Millisecond))
		if !u.sleep(ctx, wait) {
			return
		}
	}
}

// backoff is the wait before the next attempt after n failures in a row:
// doubling from MinRetry, capped at MaxRetry, with jitter so portals cut
// off together do not all come back in the same instant.
func (u *Uplink) backoff(n int) time.Duration {
	d := u.cfg.MaxRetry
	if n < 30 {
		d = min(u.cfg.MinRetry<<(n-1), u.cfg.MaxRetry)
	}
	return jitter(d)
}

// jitter picks a wait between half of d and d.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func (u *Uplink) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-u.closed:
	}
	return false
}

// dial connects to the relay and runs the handshake.
func (u *Uplink) dial(ctx context.Context) (*yamux.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.HandshakeTimeout)
	defer cancel()
	conn, err := packages.DialRelay(ctx, u.relay)
	if err != nil {
		return nil, err
	}
	session, err := u.handshake(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return session, nil
}

func (u *Uplink) handshake(ctx context.Context, conn net.Conn) (*yamux.Session, error) {
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := packages.RelayUpgradeRequest(u.relay, packages.RelayPortalPath, u.alias, "provportal-portal")
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, maxLine)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("the relay's answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		reason := packages.RelayRefusal(resp)
		if reason == "" {
			reason = "no reason given"
		}
		return nil, fmt.Errorf("the relay answered %s: %s", resp.Status, reason)
	}
	challenge, err := b64.DecodeString(resp.Header.Get(packages.RelayChallengeHeader))
	if err != nil || len(challenge) != challengeSize {
		return nil, errors.New("the relay sent no usable challenge")
	}
	pub := u.cfg.Key.Public().(ed25519.PublicKey)
	proof := portalProof{PublicKey: b64.EncodeToString(pub), Signature: b64.EncodeToString(ed25519.Sign(u.cfg.Key, proofMessage(u.alias, challenge)))}
	if err := writeLine(conn, proof); err != nil {
		return nil, err
	}
	var ans handshakeAnswer
	if err := readLine(br, &ans); err != nil {
		return nil, fmt.Errorf("the relay's answer to the proof: %w", err)
	}
	if ans.Error != nil {
		return nil, ans.Error
	}
	if ans.Status != "connected" {
		return nil, fmt.Errorf("the relay answered the proof with %q", ans.Status)
	}
	if !stop() {
		return nil, ctx.Err()
	}
	conn.SetDeadline(time.Time{})
	return yamux.Client(packages.WithBuffered(conn, br), yamuxConfig(u.log))
}

// serve hands the relay's streams to Accept until the session ends.
func (u *Uplink) serve(ctx context.Context, session *yamux.Session) error {
	u.mu.Lock()
	u.session = session
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.session = nil
		u.mu.Unlock()
		session.Close()
	}()
	stop := context.AfterFunc(ctx, func() { session.Close() })
	defer stop()
	for {
		st, err := session.AcceptStream()
		if err != nil {
			return err
		}
		select {
		case u.streams <- streamConn{st}:
		case <-u.closed:
			st.Close()
		case <-session.CloseChan():
			st.Close()
		}
	}
}

// streamConn is a relayed stream as the portal's TLS and HTTP server take
// it. They abort a pending read with a past deadline and carry on only when
// the error says it is temporary, as a TCP connection's does; yamux's own
// deadline error does not, and would leave the TLS connection broken.
type streamConn struct{ *yamux.Stream }

func (c streamConn) Read(p []byte) (int, error) {
	n, err := c.Stream.Read(p)
	return n, deadlineError(err)
}

func (c streamConn) Write(p []byte) (int, error) {
	n, err := c.Stream.Write(p)
	return n, deadlineError(err)
}

func deadlineError(err error) error {
	if errors.Is(err, yamux.ErrTimeout) {
		return os.ErrDeadlineExceeded
	}
	return err
}

// Connected says whether the relay holds the alias for this portal now.
func (u *Uplink) Connected() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.session != nil && !u.session.IsClosed()
}

// Accept returns the next device connection the relay sends (net.Listener).
func (u *Uplink) Accept() (net.Conn, error) {
	select {
	case c := <-u.streams:
		return c, nil
	case <-u.closed:
		return nil, net.ErrClosed
	}
}

// Close stops taking device connections and tells the relay to send no
// more; connections already accepted go on until Run's context ends, so a
// stopping portal finishes its in-flight requests.
func (u *Uplink) Close() error {
	u.closeOnce.Do(func() {
		close(u.closed)
		u.mu.Lock()
		if u.session != nil {
			u.session.GoAway()
		}
		u.mu.Unlock()
	})
	return nil
}

func (u *Uplink) isClosed() bool {
	select {
	case <-u.closed:
		return true
	default:
		return false
	}
}

// Addr names the relay and alias (net.Listener).
func (u *Uplink) Addr() net.Addr { return uplinkAddr(u.relay.Redacted() + "#" + u.alias) }

type uplinkAddr string

func (a uplinkAddr) Network() string { return "relay" }
func (a uplinkAddr) String() string  { return string(a) }

// Listener is what the portal serves relayed devices on: each stream, its
// PROXY header read for the device's address, with TLS under the signing key.
func (u *Uplink) Listener() (net.Listener, error) {
	cfg, err := PortalTLS(u.cfg.Key)
	if err != nil {
		return nil, err
	}
	pl := &proxyproto.Listener{
		Listener:          u,
		ReadHeaderTimeout: u.cfg.HandshakeTimeout,
		ConnPolicy: func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			return proxyproto.REQUIRE, nil // the relay opens every stream with one
		},
	}
	return tls.NewListener(pl, cfg), nil
}
