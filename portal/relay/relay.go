package relay

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	proxyproto "github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"provportal/packages"
)

// Config is the relay's configuration.
type Config struct {
	Addr    string // --addr, RELAY_ADDR
	DataDir string // --data-dir, RELAY_DATA_DIR: bindings.json, aliases.json
	// HandshakeTimeout bounds a portal's proof and a device's upgrade.
	HandshakeTimeout time.Duration
	// ShutdownTimeout bounds how long a stopping relay waits for requests
	// that are not relayed connections (health, metrics).
	ShutdownTimeout time.Duration
	// MaxPerAddress and MaxPerAlias bound the device connections open at
	// once from one address and to one alias; 0 means the defaults.
	MaxPerAddress, MaxPerAlias int
}

// Defaults returns the configuration a relay has when nothing is set.
func Defaults() Config {
	return Config{Addr: ":8090", DataDir: "./relay-data", HandshakeTimeout: 10 * time.Second, ShutdownTimeout: 5 * time.Second}
}

// Validate checks the configuration once, before anything starts.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("the address (--addr, RELAY_ADDR) must not be empty")
	case c.DataDir == "":
		return errors.New("the data directory (--data-dir, RELAY_DATA_DIR) must not be empty")
	case c.HandshakeTimeout <= 0:
		return errors.New("the handshake timeout must be positive")
	}
	return nil
}

// Relay switches devices to the portals holding their aliases.
type Relay struct {
	cfg      Config
	log      *slog.Logger
	bindings *bindings
	metrics  *metrics
	registry *prometheus.Registry

	limit *connLimit

	mu      sync.Mutex
	portals map[string]*attachedPortal
	closed  bool
}

// attachedPortal is one portal's live session.
type attachedPortal struct {
	alias       string
	fingerprint string
	remote      string
	session     *yamux.Session
}

// New opens the relay's data dir.
func New(cfg Config, log *slog.Logger) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b, err := openBindings(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	perAddress, perAlias := cfg.MaxPerAddress, cfg.MaxPerAlias
	if perAddress <= 0 {
		perAddress = defaultMaxPerAddress
	}
	if perAlias <= 0 {
		perAlias = defaultMaxPerAlias
	}
	return &Relay{cfg: cfg, log: log, bindings: b, metrics: newMetrics(reg), registry: reg,
		limit: newConnLimit(perAddress, perAlias), portals: map[string]*attachedPortal{}}, nil
}

// Handler is every route of the relay's one port.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", r.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+packages.RelayPortalPath, r.attach)
	mux.HandleFunc("GET "+packages.RelayConnectPath, r.connect)
	return mux
}

// Serve answers on ln until ctx is done, then drops every portal, which
// ends the connections relayed to them.
func (r *Relay) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: r.cfg.HandshakeTimeout,
		// Without it a kept-alive connection waits for its next request
		// for ever: anyone could hold the relay's sockets after one /healthz.
		IdleTimeout: r.cfg.HandshakeTimeout,
		ErrorLog:    slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		r.Close()
		return err
	case <-ctx.Done():
	}
	r.log.Info("relay stopping: dropping every portal")
	r.Close()
	sctx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close drops every portal and refuses new ones.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	portals := make([]*attachedPortal, 0, len(r.portals))
	for _, p := range r.portals {
		portals = append(portals, p)
	}
	r.mu.Unlock()
	for _, p := range portals {
		p.session.Close()
	}
}

// Connected says whether a portal holds the alias now.
func (r *Relay) Connected(alias string) bool {
	return r.portal(alias) != nil
}

func (r *Relay) portal(alias string) *attachedPortal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.portals[alias]
}

func (r *Relay) healthz(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	n := len(r.portals)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"status\":\"ok\",\"portals\":%d}\n", n)
}

// upgradeAlias checks that the request asks for the relay's upgrade with a
// valid alias, answering the refusal itself when not.
func (r *Relay) upgradeAlias(w http.ResponseWriter, req *http.Request) (string, bool) {
	if !strings.EqualFold(req.Header.Get("Upgrade"), packages.RelayProtocol) || !hasToken(req.Header, "Connection", "upgrade") {
		w.Header().Set("Upgrade", packages.RelayProtocol)
		refuse(w, http.StatusUpgradeRequired, "this address is a relay: it takes only an upgrade to "+packages.RelayProtocol)
		return "", false
	}
	alias, err := packages.CheckAlias(req.URL.Query().Get("alias"))
	if err != nil {
		refuse(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return alias, true
}

// refuse answers before the upgrade with one line a person can read.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// switchProtocols takes the connection from the HTTP server and answers 101.
func switchProtocols(w http.ResponseWriter, extra http.Header) (net.Conn, *bufio.Reader, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("take over the connection: %w", err)
	}
	// The server's header deadline may still be set on the connection.
	conn.SetDeadline(time.Time{})
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n", packages.RelayProtocol)
	extra.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, brw.Reader, nil
}

// attach is a portal connecting: it proves it holds its key, the alias is
// bound to that key (or already was), and its session replaces any earlier
// one with the same key. The handler holds the session until it ends.
func (r *Relay) attach(w http.ResponseWriter, req *http.Request) {
	alias, ok := r.upgradeAlias(w, req)
	if !ok {
		r.metrics.handshakes.WithLabelValues("malformed").Inc()
		return
	}
	log := r.log.With("alias", alias, "remote", req.RemoteAddr)
	challenge := make([]byte, challengeSize)
	rand.Read(challenge)
	conn, br, err := switchProtocols(w, http.Header{packages.RelayChallengeHeader: {b64.EncodeToString(challenge)}})
	if err != nil {
		log.Warn("portal handshake failed", "err", err)
		return
	}
	conn.SetDeadline(time.Now().Add(r.cfg.HandshakeTimeout))
	fingerprint, err := r.verifyProof(br, alias, challenge)
	if err == nil {
		err = r.bindings.admit(alias, fingerprint, time.Now())
	}
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
	case err != nil:
		log.Error("portal handshake failed", "err", err)
		refusal = &Refusal{Code: CodeRelayFailure, Message: "the relay could not take the portal: see the relay's log"}
	}
	if refusal != nil {
		r.metrics.handshakes.WithLabelValues(refusal.Code).Inc()
		log.Warn("portal refused", "code", refusal.Code, "reason", refusal.Message, "key_fingerprint", fingerprint)
		writeLine(conn, handshakeAnswer{Error: refusal})
		conn.Close()
		return
	}
	if err := writeLine(conn, handshakeAnswer{Status: "connected"}); err != nil {
		log.Warn("portal handshake failed", "err", err)
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	cfg := yamuxConfig(log)
	cfg.ConnectionWriteTimeout = 30 * time.Second
	session, err := yamux.Server(packages.WithBuffered(conn, br), cfg)
	if err != nil {
		log.Error("portal session failed", "err", err)
		conn.Close()
		return
	}
	p := &attachedPortal{alias: alias, fingerprint: fingerprint, remote: req.RemoteAddr, session: session}
	if !r.hold(p, log) {
		session.Close()
		return
	}
	r.metrics.handshakes.WithLabelValues("connected").Inc()
	go refuseStreams(session)
	<-session.CloseChan()
	r.release(p)
	log.Info("portal disconnected")
}

// verifyProof reads the portal's proof and checks its signature over the
// challenge; it returns the key's fingerprint.
func (r *Relay) verifyProof(br *bufio.Reader, alias string, challenge []byte) (string, error) {
	var p portalProof
	if err := readLine(br, &p); err != nil {
		return "", &Refusal{Code: CodeBadProof, Message: "the portal's proof is not readable: " + err.Error()}
	}
	pub, err := b64.DecodeString(p.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return "", &Refusal{Code: CodeBadProof, Message: "the portal's key is not an Ed25519 public key"}
	}
	sig, err := b64.DecodeString(p.Signature)
	fingerprint := packages.Fingerprint(pub)
	if err != nil || !ed25519.Verify(pub, proofMessage(alias, challenge), sig) {
		return fingerprint, &Refusal{Code: CodeBadProof, Message: "the portal's signature does not verify for key " + fingerprint}
	}
	return fingerprint, nil
}

// hold makes p the portal for its alias, dropping an earlier session of the
// same key: a portal that restarts, or lost its connection without the
// relay noticing yet, takes its alias back at once.
func (r *Relay) hold(p *attachedPortal, log *slog.Logger) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	old := r.portals[p.alias]
	r.portals[p.alias] = p
	if old == nil {
		r.metrics.portals.Inc()
	}
	r.mu.Unlock()
	if old != nil {
		old.session.Close()
		log.Info("portal reconnected: the new connection replaces the old", "key_fingerprint", p.fingerprint, "old_remote", old.remote)
		return true
	}
	log.Info("portal connected", "key_fingerprint", p.fingerprint)
	return true
}

func (r *Relay) release(p *attachedPortal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.portals[p.alias] == p {
		delete(r.portals, p.alias)
		r.metrics.portals.Dec()
	}
}

// refuseStreams closes any stream a portal opens: only the relay opens
// streams, and one left unread would hold the relay's memory.
func refuseStreams(s *yamux.Session) {
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return
		}
		st.Close()
	}
}

// connect is a device asking for an alias: a stream to the portal holding
// it, opened with a PROXY protocol header naming the device's address, then
// the bytes both ways. A portal not connected is a refusal at once.
func (r *Relay) connect(w http.ResponseWriter, req *http.Request) {
	alias, ok := r.upgradeAlias(w, req)
	if !ok {
		r.metrics.connects.WithLabelValues(connectRefused).Inc()
		return
	}
	notConnected := "the portal for alias " + alias + " is not connected to the relay; ask your administrator"
	p := r.portal(alias)
	if p == nil {
		r.metrics.connects.WithLabelValues(connectNotConnected).Inc()
		refuse(w, http.StatusServiceUnavailable, notConnected)
		return
	}
	release, why := r.limit.acquire(req.RemoteAddr, alias)
	if release == nil {
		r.metrics.connects.WithLabelValues(connectRefused).Inc()
		refuse(w, http.StatusTooManyRequests, why)
		return
	}
	defer release()
	stream, err := p.session.OpenStream()
	if err == nil {
		stream.SetWriteDeadline(time.Now().Add(r.cfg.HandshakeTimeout))
		_, err = proxyHeader(req).WriteTo(stream)
		stream.SetWriteDeadline(time.Time{})
		if err != nil {
			stream.Close()
		}
	}
	if err != nil {
		r.log.Warn("cannot open a stream to the portal", "alias", alias, "err", err)
		r.metrics.connects.WithLabelValues(connectNotConnected).Inc()
		refuse(w, http.StatusServiceUnavailable, notConnected)
		return
	}
	conn, br, err := switchProtocols(w, nil)
	if err != nil {
		stream.Close()
		return
	}
	r.metrics.connects.WithLabelValues(connectRelayed).Inc()
	r.pipe(packages.WithBuffered(conn, br), stream)
}

// proxyHeader names the device's address and the relay's for the portal,
// which logs and throttles by the device's address.
func proxyHeader(req *http.Request) *proxyproto.Header {
	src, _ := net.ResolveTCPAddr("tcp", req.RemoteAddr)
	dst, _ := req.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if src == nil || dst == nil {
		return proxyproto.HeaderProxyFromAddrs(2, nil, nil) // LOCAL: no address to tell
	}
	return proxyproto.HeaderProxyFromAddrs(2, src, dst)
}
