package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/packages"
	"provportal/portal/relay"
)

// logBuffer collects a component's log lines for the test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(s string) int { return strings.Count(b.String(), s) }

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// eventually waits for cond, failing the test when it does not come.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// held waits until the portal and the relay both hold the portal's alias.
func held(t testing.TB, r *testRelay, p *testPortal) {
	t.Helper()
	eventually(t, "the portal holds its alias", func() bool { return p.Uplink.Connected() && r.Connected(p.Alias) })
}

// testRelay is a relay serving on loopback.
type testRelay struct {
	*relay.Relay
	URL  string
	Addr string
	Log  *logBuffer
	dir  string
	stop func()
}

// startRelay serves a relay with its data in dir, on addr ("" for any port).
func startRelay(t testing.TB, dir, addr string, configure ...func(*relay.Config)) *testRelay {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	log, buf := newLog()
	cfg := relay.Defaults()
	cfg.DataDir, cfg.Addr = dir, ln.Addr().String()
	for _, f := range configure {
		f(&cfg)
	}
	r, err := relay.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Serve(ctx, ln); err != nil {
			t.Errorf("relay: %v", err)
		}
	}()
	var once sync.Once
	tr := &testRelay{Relay: r, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Log: buf, dir: dir,
		stop: func() { once.Do(func() { cancel(); <-done }) }}
	t.Cleanup(tr.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relay log:\n%s", buf)
		}
	})
	return tr
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fingerprint(k ed25519.PrivateKey) string {
	return packages.Fingerprint(k.Public().(ed25519.PublicKey))
}

// testPortal is a portal's side: an uplink holding an alias and an HTTP
// server answering the devices the relay sends, over TLS.
type testPortal struct {
	Name   string
	Alias  string
	Uplink *relay.Uplink
	Key    ed25519.PrivateKey
	Log    *logBuffer
	stop   func()
}

type portalOption func(*relay.UplinkConfig)

func startPortal(t testing.TB, name, relayURL, alias string, key ed25519.PrivateKey, opts ...portalOption) *testPortal {
	t.Helper()
	log, buf := newLog()
	cfg := relay.UplinkConfig{RelayURL: relayURL, Alias: alias, Key: key, Log: log,
		MinRetry: 20 * time.Millisecond, MaxRetry: 200 * time.Millisecond, RefusedRetry: 200 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	up, err := relay.NewUplink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := up.Listener()
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: portalHandler(name), ErrorLog: stdlog.New(buf, "http: ", 0)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hs.Serve(ln) })
	wg.Go(func() { up.Run(ctx) })
	var once sync.Once
	a, _ := packages.CheckAlias(alias)
	p := &testPortal{Name: name, Alias: a, Uplink: up, Key: key, Log: buf,
		stop: func() { once.Do(func() { cancel(); hs.Close(); wg.Wait() }) }}
	t.Cleanup(p.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("portal %s log:\n%s", name, buf)
		}
	})
	return p
}

// portalHandler answers: /whoami with the portal's name and the device's
// address as the portal sees it; /echo with the request's body; /bytes?n=N
// with N bytes of a pattern.
func portalHandler(name string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.RemoteAddr)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		io.Copy(w, io.LimitReader(pattern{}, n))
	})
	return mux
}

// pattern is an endless reader of recognisable bytes.
type pattern struct{}

var patternBlock = func() []byte {
	b := make([]byte, 26*2048)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

func (pattern) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], patternBlock)
	}
	return n, nil
}

// refusedError is the relay answering a device's upgrade with a refusal.
type refusedError struct {
	Status int
	Reason string
}

func (e *refusedError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

// upgrade is a device asking the relay for an alias: the raw pipe.
func upgrade(ctx context.Context, relayURL, alias string) (net.Conn, error) {
	u, err := url.Parse(relayURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	req, _ := http.NewRequest("GET", relayURL+packages.RelayConnectPath+"?"+url.Values{"alias": {alias}}.Encode(), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", packages.RelayProtocol)
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		return nil, &refusedError{Status: resp.StatusCode, Reason: strings.TrimSpace(string(b))}
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return nil, errors.New("bytes behind the 101 before the device spoke")
	}
	return conn, nil
}

// deviceClient is an HTTP client that reaches the alias through the relay
// and pins the portal's key, as the bootloader does.
func deviceClient(relayURL, alias, pinned string) *http.Client {
	t := &http.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := upgrade(ctx, relayURL, alias)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, NextProtos: []string{"http/1.1"},
				VerifyConnection: func(cs tls.ConnectionState) error {
					pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
					if !ok || packages.Fingerprint(pub) != pinned {
						return errors.New("the portal's certificate does not carry the pinned key")
					}
					return nil
				}})
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		},
		MaxIdleConnsPerHost: 100,
	}
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

func get(t testing.TB, c *http.Client, path string) string {
	t.Helper()
	res, err := c.Get("https://" + packages.RelayPortalHost + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return string(b)
}
