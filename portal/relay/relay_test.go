package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"provportal/packages"
	"provportal/portal/relay"
	"provportal/portal/relay/relaytest"
)

const alias = "acme@example.com"

func TestPortalHoldsAliasAndDevicesReachIt(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	p := startPortal(t, "portal-a", r.URL, "ACME@example.com", newKey(t))
	held(t, r, p)

	c := deviceClient(r.URL, alias, fingerprint(p.Key))
	conn, err := net.Dial("tcp", r.Addr) // only to learn this host's loopback address
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
	conn.Close()
	got := get(t, c, "/whoami")
	name, addr, _ := strings.Cut(got, " ")
	if name != "portal-a" {
		t.Errorf("answered by %q, want portal-a", name)
	}
	// The relay names the device's address in a PROXY header on the stream.
	if h, _, err := net.SplitHostPort(addr); err != nil || h != host {
		t.Errorf("the portal saw the device at %q, want host %s", addr, host)
	}
	if !strings.Contains(p.Log.String(), "connected to the relay") {
		t.Errorf("portal log does not say it connected:\n%s", p.Log)
	}
	b, err := os.ReadFile(filepath.Join(r.dir, relay.BindingsFile))
	if err != nil || !strings.Contains(string(b), fingerprint(p.Key)) || !strings.Contains(string(b), alias) {
		t.Errorf("bindings.json does not bind %s to the key: %s %v", alias, b, err)
	}
}

func TestAnotherKeyCannotTakeABoundAlias(t *testing.T) {
	dir := t.TempDir()
	r := startRelay(t, dir, "")
	first := startPortal(t, "first", r.URL, alias, newKey(t))
	held(t, r, first)

	second := startPortal(t, "second", r.URL, alias, newKey(t))
	want := "alias " + alias + " is bound to another portal key on the relay"
	eventually(t, "the second portal is refused, twice", func() bool { return second.Log.count(want) >= 2 })
	if second.Uplink.Connected() {
		t.Error("the second portal holds the alias")
	}
	if !strings.Contains(r.Log.String(), "code=alias_bound") || !strings.Contains(r.Log.String(), fingerprint(second.Key)) {
		t.Errorf("the relay's log does not name the refusal and the refused key:\n%s", r.Log)
	}
	if got := get(t, deviceClient(r.URL, alias, fingerprint(first.Key)), "/whoami"); !strings.HasPrefix(got, "first ") {
		t.Errorf("answered by %q, want the first portal", got)
	}

	// The binding outlives the relay: restarted, it still refuses the
	// second key, even when the second portal comes first.
	first.stop()
	r.stop()
	r2 := startRelay(t, dir, r.Addr)
	n := second.Log.count(want)
	eventually(t, "the restarted relay refuses the second portal", func() bool { return second.Log.count(want) > n })
	if r2.Connected(alias) {
		t.Error("the restarted relay gave the alias to the second key")
	}
}

func TestOperatorListedKeysHoldTheirAlias(t *testing.T) {
	dir := t.TempDir()
	listed, other := newKey(t), newKey(t)
	aliases, _ := json.Marshal(map[string][]string{"Listed@Example.com": {strings.ToUpper(fingerprint(listed))}})
	if err := os.WriteFile(filepath.Join(dir, relay.AliasesFile), aliases, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, dir, "")
	intruder := startPortal(t, "intruder", r.URL, "listed@example.com", other)
	eventually(t, "an unlisted key is refused", func() bool { return intruder.Log.count("is bound to another portal key") > 0 })
	owner := startPortal(t, "owner", r.URL, "listed@example.com", listed)
	eventually(t, "the listed key holds the alias", func() bool { return owner.Uplink.Connected() })
}

func TestSameKeyReconnectReplacesTheOldConnection(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	key := newKey(t)
	// The old one would come back only after a minute: long enough to see
	// the new connection take over.
	old := startPortal(t, "old", r.URL, alias, key, func(c *relay.UplinkConfig) { c.MinRetry, c.MaxRetry = time.Minute, time.Minute })
	held(t, r, old)
	c := deviceClient(r.URL, alias, fingerprint(key))
	if got := get(t, c, "/whoami"); !strings.HasPrefix(got, "old ") {
		t.Fatalf("answered by %q, want old", got)
	}

	startPortal(t, "new", r.URL, alias, key)
	eventually(t, "the old connection is dropped", func() bool { return !old.Uplink.Connected() })
	eventually(t, "the old portal logs the lost connection", func() bool {
		return strings.Contains(old.Log.String(), "lost the connection to the relay")
	})
	c.CloseIdleConnections()
	if got := get(t, c, "/whoami"); !strings.HasPrefix(got, "new ") {
		t.Errorf("answered by %q, want new", got)
	}
	// The relay logs the replacement once the old session is closed, which
	// can be just after the new portal starts answering.
	eventually(t, "the relay logs the replacement", func() bool {
		return strings.Contains(r.Log.String(), "the new connection replaces the old")
	})
}

func TestDeviceRefusals(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	tests := []struct {
		name   string
		alias  string
		status int
		reason string
	}{
		{"portal_not_connected", "nobody@example.com", http.StatusServiceUnavailable,
			"the portal for alias nobody@example.com is not connected to the relay; ask your administrator"},
		{"malformed_alias", "no body", http.StatusBadRequest,
			`alias "no body" is not valid: ' ' is not allowed; use letters, digits and . _ - + @`},
		{"alias_too_long", strings.Repeat("a", packages.MaxAliasLength+1), http.StatusBadRequest, "is not valid: longer than 128 characters"},
		{"no_alias", "", http.StatusBadRequest, "the alias is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := upgrade(ctx, r.URL, tc.alias)
			var re *refusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if re.Status != tc.status || !strings.Contains(re.Reason, tc.reason) || strings.Contains(re.Reason, "\n") {
				t.Errorf("got %d %q, want %d and one line with %q", re.Status, re.Reason, tc.status, tc.reason)
			}
		})
	}
	t.Run("no_upgrade", func(t *testing.T) {
		res, err := http.Get(r.URL + packages.RelayConnectPath + "?alias=" + alias)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUpgradeRequired {
			t.Errorf("status %d, want 426", res.StatusCode)
		}
	})
}

func TestPortalProofMustVerify(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	conn, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s?alias=%s HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", packages.RelayPortalPath, alias, packages.RelayProtocol)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get(packages.RelayChallengeHeader) == "" {
		t.Fatalf("got %v %v, want 101 with a challenge", resp, err)
	}
	// A signature over something else than this challenge.
	key := newKey(t)
	sig := ed25519.Sign(key, []byte("not the challenge"))
	fmt.Fprintf(conn, `{"public_key":%q,"signature":%q}`+"\n", b64(key.Public().(ed25519.PublicKey)), b64(sig))
	line, _ := br.ReadString('\n')
	var ans struct{ Error relay.Refusal }
	if err := json.Unmarshal([]byte(line), &ans); err != nil || ans.Error.Code != relay.CodeBadProof {
		t.Errorf("answer %q, want the code %s", line, relay.CodeBadProof)
	}
	if r.Connected(alias) {
		t.Error("a portal without a proof holds the alias")
	}
}

func TestManyConcurrentStreams(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	p := startPortal(t, "p", r.URL, alias, newKey(t))
	held(t, r, p)
	c := deviceClient(r.URL, alias, fingerprint(p.Key))
	const streams, size = 64, 300 << 10
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		wg.Go(func() {
			body := bytes.Repeat([]byte{byte(i)}, size+i)
			res, err := c.Post("https://"+packages.RelayPortalHost+"/echo", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			if err != nil || sha256.Sum256(got) != sha256.Sum256(body) {
				errs <- fmt.Errorf("stream %d: %d bytes back of %d (%v)", i, len(got), len(body), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m := metrics(t, r.URL)
	if !strings.Contains(m, "relay_portals_connected 1") || !strings.Contains(m, `relay_device_connections_total{result="relayed"}`) {
		t.Errorf("metrics do not show the portal and the connections:\n%s", grepLines(m, "relay_"))
	}
	if v := metricValue(m, `relay_bytes_relayed_total{direction="to_portal"}`); v < streams*size {
		t.Errorf("bytes to portals: %v, want at least %d", v, streams*size)
	}
}

func TestHalfCloseReachesBothEnds(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	log, _ := newLog()
	up, err := relay.NewUplink(relay.UplinkConfig{RelayURL: r.URL, Alias: alias, Key: newKey(t), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go up.Run(ctx)
	eventually(t, "the portal holds its alias", func() bool { return up.Connected() && r.Connected(alias) })
	// The portal's end: read the request to its end, then answer and close.
	go func() {
		st, err := up.Accept()
		if err != nil {
			return
		}
		c := proxyproto.NewConn(st)
		defer c.Close()
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %d bytes", len(b))
	}()
	conn, err := upgrade(ctx, r.URL, alias)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(bytes.Repeat([]byte("x"), 100_000))
	conn.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "got 100000 bytes" {
		t.Errorf("got %q %v, want the answer after the half-close", got, err)
	}
	eventually(t, "the stream is closed on the relay", func() bool {
		return metricValue(metrics(t, r.URL), "relay_streams_open") == 0
	})
}

func TestPortalReconnectsAfterRelayRestart(t *testing.T) {
	dir := t.TempDir()
	r := startRelay(t, dir, "")
	p := startPortal(t, "p", r.URL, alias, newKey(t))
	held(t, r, p)
	r.stop()
	eventually(t, "the portal notices", func() bool { return !p.Uplink.Connected() })
	// While the relay is down, attempts fail and back off.
	eventually(t, "failed attempts are logged", func() bool { return p.Log.count("cannot connect to the relay") >= 2 })
	r2 := startRelay(t, dir, r.Addr)
	eventually(t, "the portal is back on the restarted relay", func() bool { return r2.Connected(alias) })
	if got := get(t, deviceClient(r2.URL, alias, fingerprint(p.Key)), "/whoami"); !strings.HasPrefix(got, "p ") {
		t.Errorf("answered by %q", got)
	}
	if n := p.Log.count("connected to the relay: devices reach"); n != 2 {
		t.Errorf("connected %d times, want 2:\n%s", n, p.Log)
	}
	if !strings.Contains(p.Log.String(), "retry_in=") {
		t.Errorf("the portal's log does not say when it retries:\n%s", p.Log)
	}
}

func TestPortalReconnectsAfterNetworkCut(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	cut := relaytest.StartTap(t, r.Addr)
	p := startPortal(t, "p", "http://"+cut.Addr, alias, newKey(t))
	held(t, r, p)
	cut.Cut()
	eventually(t, "the portal notices the cut", func() bool { return p.Log.count("lost the connection to the relay") == 1 })
	eventually(t, "the portal is back", func() bool { return p.Uplink.Connected() && r.Connected(alias) })
	if got := get(t, deviceClient(r.URL, alias, fingerprint(p.Key)), "/whoami"); !strings.HasPrefix(got, "p ") {
		t.Errorf("answered by %q", got)
	}
}

func TestRelayCarriesOnlyCiphertext(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	p := startPortal(t, "p", r.URL, alias, newKey(t))
	held(t, r, p)
	tp := relaytest.StartTap(t, r.Addr)
	c := deviceClient("http://"+tp.Addr, alias, fingerprint(p.Key))
	marker := "secret-marker-" + fmt.Sprint(time.Now().UnixNano())
	body := strings.Repeat(marker, 1000)
	res, err := c.Post("https://"+packages.RelayPortalHost+"/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(got) != body {
		t.Fatalf("echo came back with %d bytes, want %d", len(got), len(body))
	}
	rec := tp.Recorded()
	if len(rec) < len(body)*2 {
		t.Fatalf("the tap recorded %d bytes, want at least %d", len(rec), len(body)*2)
	}
	if bytes.Contains(rec, []byte(marker)) || bytes.Contains(rec, []byte("/echo")) {
		t.Error("the bytes through the relay hold plaintext")
	}
	if !bytes.Contains(rec, []byte(packages.RelayConnectPath)) {
		t.Error("the tap did not see the upgrade: the test is not looking at the relay's traffic")
	}
}

func TestPinnedKeyMismatchIsRefused(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	p := startPortal(t, "p", r.URL, alias, newKey(t))
	held(t, r, p)
	_, err := deviceClient(r.URL, alias, fingerprint(newKey(t))).Get("https://" + packages.RelayPortalHost + "/whoami")
	if err == nil || !strings.Contains(err.Error(), "does not carry the pinned key") {
		t.Errorf("got %v, want the pinned key refused", err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	r := startRelay(t, t.TempDir(), "")
	res, err := http.Get(r.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	upgrade(ctx, r.URL, "nobody@example.com")
	m := metrics(t, r.URL)
	for _, want := range []string{"relay_portals_connected 0", "relay_streams_open 0", `relay_device_connections_total{result="not_connected"} 1`, "go_goroutines"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "nobody") {
		t.Error("metrics name an alias")
	}
}

func TestBadConfiguration(t *testing.T) {
	key := newKey(t)
	log, _ := newLog()
	tests := []struct {
		name string
		cfg  relay.UplinkConfig
		want string
	}{
		{"bad_relay_url", relay.UplinkConfig{RelayURL: "ftp://relay", Alias: alias, Key: key, Log: log}, "must be an http:// or https:// address"},
		{"bad_alias", relay.UplinkConfig{RelayURL: "http://relay", Alias: "-acme", Key: key, Log: log}, "must start and end with a letter or digit"},
		{"no_key", relay.UplinkConfig{RelayURL: "http://relay", Alias: alias, Log: log}, "signing key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := relay.NewUplink(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("damaged_aliases_file", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, relay.AliasesFile), []byte(`{"acme": ["md5:1"]}`), 0o600)
		cfg := relay.Defaults()
		cfg.DataDir = dir
		if _, err := relay.New(cfg, log); err == nil || !strings.Contains(err.Error(), "is not a key fingerprint") {
			t.Errorf("got %v, want the fingerprint named", err)
		}
	})
}

func metrics(t testing.TB, relayURL string) string {
	t.Helper()
	res, err := http.Get(relayURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func metricValue(m, name string) float64 {
	for _, l := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestIdleKeepAliveConnectionIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := newLog()
	cfg := relay.Defaults()
	cfg.DataDir, cfg.Addr, cfg.HandshakeTimeout = t.TempDir(), ln.Addr().String(), 200*time.Millisecond
	r, err := relay.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle kept-alive connection: got %v, want the relay to close it (EOF)", err)
	}
}

// TestDeviceConnectionsAreCapped: one address may hold only so many device
// connections at once; the next is refused at once with the reason, and a
// place freed is a place taken again.
func TestDeviceConnectionsAreCapped(t *testing.T) {
	r := startRelay(t, t.TempDir(), "", func(c *relay.Config) { c.MaxPerAddress = 2 })
	p := startPortal(t, "capped", r.URL, alias, newKey(t))
	held(t, r, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var open []net.Conn
	for range 2 {
		c, err := upgrade(ctx, r.URL, alias)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		open = append(open, c)
	}
	_, err := upgrade(ctx, r.URL, alias)
	var re *refusedError
	if !errors.As(err, &re) || re.Status != http.StatusTooManyRequests || !strings.Contains(re.Reason, "too many connections from this address") {
		t.Fatalf("a third connection: %v, want 429 naming the address's connections", err)
	}
	open[0].Close()
	eventually(t, "the closed connection's place is free again", func() bool {
		c, err := upgrade(ctx, r.URL, alias)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
