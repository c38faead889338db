package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/bootloader"
	"provportal/packages"
	"provportal/portal"
	"provportal/portal/gormstore"
	"provportal/portal/relay"
	"provportal/portal/relay/relaytest"
	"provportal/portal/testdb"
)

const relayAlias = "acme@example.com"

// relayedPortal is a portal served by Serve, as `portal serve --relay
// --alias` runs it, holding its alias on a relay on loopback.
type relayedPortal struct {
	*portalEnv
	relay    *relay.Relay
	relayURL string
	stop     func()
}

func newRelayedPortal(t *testing.T) *relayedPortal {
	t.Helper()
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcfg := relay.Defaults()
	rcfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := relay.New(rcfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Serve(ctx, rln) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, gormstore.Config{SQLitePath: testdb.SQLitePath(t)})
	cfg := Defaults()
	cfg.DataDir, cfg.BootloaderDir = t.TempDir(), t.TempDir()
	cfg.HashParams = cheapHash
	cfg.PublicURL = "http://" + ln.Addr().String()
	cfg.RelayURL, cfg.Alias = "http://"+rln.Addr().String(), "ACME@example.com"
	srv, err := New(context.Background(), cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pctx, ln) }()
	var once sync.Once
	p := &relayedPortal{portalEnv: &portalEnv{t: t, URL: cfg.PublicURL, Store: st, Srv: srv, cfg: cfg},
		relay: r, relayURL: "http://" + rln.Addr().String(),
		stop: func() {
			once.Do(func() {
				pcancel()
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
				cancel()
				wg.Wait()
			})
		}}
	t.Cleanup(p.stop)
	p.addAdmin("root", portal.RoleAdmin)
	p.Token = p.login("root", adminPassword)
	waitFor(t, "the portal holds its alias on the relay", func() bool { return r.Connected(relayAlias) })
	return p
}

// relayedUser makes frank with an app holding marker, and returns his password.
func relayedUser(t *testing.T, p *relayedPortal, marker string) string {
	t.Helper()
	const password = "Frank-pass-31415"
	uid := p.as("POST", "/api/v1/users", map[string]any{"username": "frank", "email": "frank@example.com", "password": password}).want(http.StatusCreated).id()
	app := p.as("POST", "/api/v1/apps", map[string]string{"name": "relay-app", "version": "1.0.0"}).want(http.StatusCreated).id()
	p.as("PUT", "/api/v1/apps/"+app+"/artifacts/"+bootloader.Platform()+"?filename=hello.txt", []byte(strings.Repeat(marker+"\n", 4096))).want(http.StatusCreated)
	p.as("POST", "/api/v1/assignments", map[string]string{"app_id": app, "user_id": uid}).want(http.StatusCreated)
	return password
}

func TestBootloaderInstallsThroughTheRelay(t *testing.T) {
	p := newRelayedPortal(t)
	marker := fmt.Sprintf("relay-marker-%d", time.Now().UnixNano())
	password := relayedUser(t, p, marker)
	tap := relaytest.StartTap(t, strings.TrimPrefix(p.relayURL, "http://"))

	install := filepath.Join(t.TempDir(), "install")
	var out bytes.Buffer
	o := bootloader.Options{Alias: relayAlias, Relay: "http://" + tap.Addr, Username: "frank", Password: password,
		InstallDir: install, NonInteractive: true, Executable: standInExecutable(t), Stdout: &out}
	// No fingerprint: the key the portal's TLS shows is trusted on first
	// use, and must be the key its manifests are signed with.
	if err := bootloader.Run(context.Background(), o); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Trusting the portal's key on first use: "+p.Srv.Fingerprint()) {
		t.Errorf("the bootloader did not trust the portal's key:\n%s", out.String())
	}
	got, err := os.ReadFile(filepath.Join(install, "apps", "relay-app", "hello.txt"))
	if err != nil || !strings.HasPrefix(string(got), marker) {
		t.Fatalf("installed app: %q %v", got, err)
	}
	var id struct{ Alias, Relay, Fingerprint, PortalURL string }
	b, _ := os.ReadFile(filepath.Join(install, "device.json"))
	json.Unmarshal(b, &id)
	if id.Alias != relayAlias || id.Relay != "http://"+tap.Addr || id.Fingerprint != p.Srv.Fingerprint() || id.PortalURL != "" {
		t.Errorf("device.json remembers %s, want the alias, the relay and the key", b)
	}

	rec := tap.Recorded()
	if len(rec) < 4096*len(marker) {
		t.Fatalf("the tap recorded %d bytes: the install did not go through it", len(rec))
	}
	for _, secret := range []string{password, marker, "/device/v1/"} {
		if bytes.Contains(rec, []byte(secret)) {
			t.Errorf("the relay carried %q in plaintext", secret)
		}
	}

	// The installed client runs again with nothing but its install dir: it
	// remembers the alias, the relay and the key.
	o2 := bootloader.Options{Username: "frank", Password: password, InstallDir: install, NonInteractive: true, Executable: standInExecutable(t), Stdout: &out}
	if err := bootloader.Run(context.Background(), o2); err != nil {
		t.Fatalf("second run: %v", err)
	}
	var devices portal.Page[portal.Device]
	p.as("GET", "/api/v1/devices", nil).want(http.StatusOK).decode(&devices)
	if len(devices.Items) != 1 || devices.Items[0].Status != packages.StatusActivationComplete {
		t.Errorf("devices: %+v, want one, activation complete", devices.Items)
	}
}

func TestRelayedPortalRefusals(t *testing.T) {
	p := newRelayedPortal(t)
	password := relayedUser(t, p, "refusals")
	run := func(o bootloader.Options) error {
		o.Username, o.Password, o.NonInteractive = "frank", password, true
		o.InstallDir, o.Executable = t.TempDir(), standInExecutable(t)
		return bootloader.Run(context.Background(), o)
	}
	t.Run("alias_not_connected", func(t *testing.T) {
		err := run(bootloader.Options{Alias: "nobody@example.com", Relay: p.relayURL})
		want := "the portal for alias nobody@example.com is not connected to the relay; ask your administrator"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	})
	t.Run("another_key_pinned", func(t *testing.T) {
		err := run(bootloader.Options{Alias: relayAlias, Relay: p.relayURL, Fingerprint: "sha256:" + strings.Repeat("ab", 32)})
		if err == nil || !strings.Contains(err.Error(), "the portal for alias "+relayAlias+" shows the key "+p.Srv.Fingerprint()+", not the trusted sha256:abab") {
			t.Errorf("got %v, want the key refused", err)
		}
	})
	t.Run("relay_down", func(t *testing.T) {
		err := run(bootloader.Options{Alias: relayAlias, Relay: "http://127.0.0.1:1", Fingerprint: p.Srv.Fingerprint()})
		if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the relay at http://127.0.0.1:1") {
			t.Errorf("got %v, want the relay named", err)
		}
	})
	t.Run("pinned_key", func(t *testing.T) {
		if err := run(bootloader.Options{Alias: relayAlias, Relay: p.relayURL, Fingerprint: p.Srv.Fingerprint()}); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestLandingStampsAliasAndRelay(t *testing.T) {
	p := newRelayedPortal(t)
	platform := runtime.GOOS + "-" + runtime.GOARCH
	if err := os.WriteFile(filepath.Join(p.cfg.BootloaderDir, "bootloader-"+platform), []byte("a bootloader build"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(p.URL + "/download/" + platform)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	cfg, err := packages.ReadStamp(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%d: %v", res.StatusCode, err)
	}
	want := packages.BootConfig{Alias: relayAlias, Relay: p.relayURL, Fingerprint: p.Srv.Fingerprint()}
	if *cfg != want {
		t.Errorf("stamped %+v, want %+v", *cfg, want)
	}
}

func TestStoppingPortalLeavesTheRelay(t *testing.T) {
	p := newRelayedPortal(t)
	p.stop()
	waitFor(t, "the relay drops the alias", func() bool { return !p.relay.Connected(relayAlias) })
}

func TestRelayConfiguration(t *testing.T) {
	tests := []struct {
		name         string
		relay, alias string
		want         string
	}{
		{"alias_without_relay", "", "acme", "--alias needs the relay to hold it on: --relay URL (PORTAL_RELAY_URL)"},
		{"relay_without_alias", "http://relay.example.com", "", "--relay needs the alias devices will ask it for: --alias NAME (PORTAL_ALIAS)"},
		{"bad_relay", "relay.example.com", "acme", `the relay URL "relay.example.com" must be an http:// or https:// address such as https://relay.example.com`},
		{"bad_alias", "http://relay.example.com", "acme corp", `alias "acme corp" is not valid: ' ' is not allowed; use letters, digits and . _ - + @`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.RelayURL, cfg.Alias = tc.relay, tc.alias
			err := cfg.Validate()
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
