package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// haproxy starts Debian's HAProxy forwarding one port to the portal with
// the PROXY protocol (v2), connecting to it from source; it returns the
// port devices use.
func haproxy(t *testing.T, portalAddr, source string) string {
	t.Helper()
	exe, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed; .ci/run installs it")
		}
		t.Skip("NOTICE: haproxy is not installed, so the DMZ proxy test is skipped: apt-get install -y haproxy")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	conf := fmt.Sprintf(`global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend devices
  bind %s
  default_backend portal
backend portal
  source %s
  server portal %s send-proxy-v2
`, front, source, portalAddr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-db", "-f", cfg)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", front); err == nil {
			c.Close()
			return front
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("haproxy did not start:\n%s", out.String())
	return ""
}

// TestProxyProtocolThroughHAProxy puts a real HAProxy in front of the
// portal, as in a DMZ: the bootloader reaches the portal through the one
// forwarded port, and the portal's log names the device's address rather
// than the proxy's. A PROXY header from an address that is not trusted is
// refused, so nobody can claim an address they do not have.
func TestProxyProtocolThroughHAProxy(t *testing.T) {
	blDir := t.TempDir()
	buildBootloader(t, blDir)
	db := []string{"--data-dir", t.TempDir()}
	if out, err := run(t, "opal-Secret-123\n", append([]string{"admin", "create", "--username", "opal", "--password-stdin"}, db...)...); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	// HAProxy connects from 127.0.0.3, the only trusted address; devices
	// connect from 127.0.0.1, which must be what the portal logs.
	const proxySource = "127.0.0.3"
	p := startPortal(t, nil, append(db, "--bootloader-dir", blDir, "--proxy-protocol", "--trusted-proxies", proxySource+"/32")...)
	front := haproxy(t, strings.TrimPrefix(p.URL, "http://"), proxySource)

	_, token := login(t, p.URL, "opal", "opal-Secret-123")
	a := &adminClient{t: t, url: p.URL, token: token}
	g := a.id("POST", "/api/v1/groups", map[string]string{"name": "dmz"})
	a.id("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "Carol-pass-98765", "groups": []string{g}})
	app := a.id("POST", "/api/v1/apps", map[string]string{"name": "dmz-app", "version": "1.0.0"})
	a.do("PUT", "/api/v1/apps/"+app+"/artifacts/"+runtime.GOOS+"-"+runtime.GOARCH+"?filename=d.tar.gz", tarGz(t, "dmz.txt", "dmz-marker-8086"), nil)
	a.do("POST", "/api/v1/assignments", map[string]string{"app_id": app, "group_id": g}, nil)

	exe := filepath.Join(blDir, "bootloader-"+runtime.GOOS+"-"+runtime.GOARCH)
	install := t.TempDir()
	cmd := exec.Command(exe, "--server", "http://"+front, "--username", "carol", "--password-stdin", "--install-dir", install, "--non-interactive")
	cmd.Stdin = strings.NewReader("Carol-pass-98765\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bootloader through HAProxy: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(install, "apps", "dmz-app", "dmz.txt")); err != nil || string(b) != "dmz-marker-8086" {
		t.Fatalf("the app was not installed through HAProxy: %q, %v", b, err)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "/device/v1/logon") {
		t.Fatalf("the portal logged no device logon:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "/device/v1/") && !strings.Contains(line, "remote=127.0.0.1") {
			t.Errorf("a device request is logged without the device's own address: %s", line)
		}
		if strings.Contains(line, proxySource) {
			t.Errorf("the proxy's address reached the log: %s", line)
		}
	}

	// A direct connection from 127.0.0.1 (not trusted) claiming to be
	// 10.9.9.9 is refused; the same address without a header is served.
	c, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("10.9.9.9"), Port: 4000}, c.LocalAddr())
	if _, err := hdr.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: portal\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _ := c.Read(make([]byte, 512)); n > 0 {
		t.Error("a PROXY header from an untrusted address was answered")
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/healthz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a direct request without a header: %v %v", res, err)
	}
	res.Body.Close()
	if strings.Contains(p.stderr.String(), "10.9.9.9") {
		t.Error("the refused header's address reached the log")
	}
}
