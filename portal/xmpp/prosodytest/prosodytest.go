// Package prosodytest starts throwaway Prosody servers for tests of code that
// speaks XMPP, so that they run against the real server the organisation
// uses rather than a stand-in.
package prosodytest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provportal/portal/xmpp"
)

// startTimeout bounds Prosody's start-up; it takes well under a second on
// an idle machine.
const startTimeout = 60 * time.Second

// Options shape the server.
type Options struct {
	Domain string // the VirtualHost; empty: "example.test"

	// MaxConnections, when above zero, caps the client connections the
	// server accepts, as a server under load would.
	MaxConnections int

	// NoTLS leaves the server without a certificate, so it offers no
	// STARTTLS and allows authentication without encryption.
	NoTLS bool
}

// Server is a running Prosody instance, stopped when the test ends.
type Server struct {
	Domain  string
	Host    string // always 127.0.0.1
	Port    int    // client-to-server port
	Dir     string // holds the config, data, certificate and log
	Config  string // the config file, as prosodyctl --config wants it
	LogFile string
	RootCAs *x509.CertPool // trusts the server's certificate; nil with NoTLS

	prosodyctl string
	stop       func()
}

// Start starts Prosody on a free loopback port and waits until it accepts
// connections. Without Prosody installed the test is skipped, or fails when
// CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	prosody, err := exec.LookPath("prosody")
	if err != nil {
		missing(t)
	}
	if opts.Domain == "" {
		opts.Domain = "example.test"
	}
	s := &Server{
		Domain:     opts.Domain,
		Host:       "127.0.0.1",
		Dir:        t.TempDir(),
		prosodyctl: filepath.Join(filepath.Dir(prosody), "prosodyctl"),
	}
	s.Config = filepath.Join(s.Dir, "prosody.cfg.lua")
	s.LogFile = filepath.Join(s.Dir, "prosody.log")
	for _, dir := range []string{"data", "certs"} {
		if err := os.Mkdir(filepath.Join(s.Dir, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if !opts.NoTLS {
		pool, err := writeCertificate(filepath.Join(s.Dir, "certs"), s.Domain)
		if err != nil {
			t.Fatalf("prosodytest: certificate: %v", err)
		}
		s.RootCAs = pool
	}

	// The free port is only free until it is closed, and another process
	// may take it before Prosody binds it: a few attempts make that harmless.
	for attempt := 1; ; attempt++ {
		err := s.start(t, prosody, opts)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatalf("prosodytest: %v\n%s", err, s.logTail())
		}
	}
}

// missing skips the test, or fails it under CI, where a missing server is a
// broken setup rather than a laptop without one.
func missing(t testing.TB) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal("prosodytest: prosody is not installed (CI=true, so this is a failure; apt-get install prosody)")
	}
	t.Skip("NOTICE: prosody is not installed, so tests against a real XMPP server are skipped (apt-get install prosody)")
}

var errPortTaken = errors.New("port taken")

func (s *Server) start(t testing.TB, prosody string, opts Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	if err := os.WriteFile(s.Config, []byte(s.configText(opts)), 0o600); err != nil {
		return err
	}
	os.Remove(s.LogFile) // from a failed attempt

	console, err := os.Create(filepath.Join(s.Dir, "console.log"))
	if err != nil {
		return err
	}
	defer console.Close()
	// -F: stay in the foreground, as this process's child.
	cmd := exec.Command(prosody, "-F", "--config", s.Config)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = console, console
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting prosody: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	release := watchdog(cmd.Process.Pid)
	s.stop = sync.OnceFunc(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		release()
	})

	if err := s.waitReady(exited); err != nil {
		s.stop()
		return err
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("prosodytest: the end of the server log:\n%s", s.logTail())
		}
	})
	return nil
}

// waitReady watches the log for the c2s port being opened. Prosody loads
// everything else before its event loop starts, so a connection made from
// then on waits for it rather than failing. Watching the log, rather than
// connecting, leaves MaxConnections untouched.
func (s *Server) waitReady(exited <-chan struct{}) error {
	ready := fmt.Sprintf("Activated service 'c2s' on [%s]:%d", s.Host, s.Port)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		log, _ := os.ReadFile(s.LogFile)
		switch {
		case strings.Contains(string(log), ready):
			return nil
		case strings.Contains(string(log), "Failed to open server port"):
			return errPortTaken
		}
		select {
		case <-exited:
			return errors.New("prosody exited during start-up")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("prosody did not open port %d within %v", s.Port, startTimeout)
}

func (s *Server) configText(opts Options) string {
	var b strings.Builder
	set := func(name, value string) { fmt.Fprintf(&b, "%s = %s\n", name, value) }
	set("pidfile", lua(filepath.Join(s.Dir, "prosody.pid")))
	set("data_path", lua(filepath.Join(s.Dir, "data")))
	set("certificates", lua(filepath.Join(s.Dir, "certs")))
	set("log", "{ info = "+lua(s.LogFile)+" }")
	if os.Geteuid() == 0 {
		// Otherwise Prosody switches to the prosody user, who cannot
		// read the test's directory.
		set("run_as_root", "true")
	}
	set("c2s_ports", "{ "+strconv.Itoa(s.Port)+" }")
	set("c2s_interfaces", `{ "127.0.0.1" }`)
	set("c2s_direct_tls_ports", "{}")
	set("s2s_ports", "{}")
	set("http_ports", "{}")
	set("https_ports", "{}")
	set("authentication", `"internal_hashed"`)
	// Besides the modules Prosody always loads (presence, message, iq,
	// offline, c2s…): authentication and binding, STARTTLS, rosters, pings.
	// Without a certificate mod_tls must stay out: it would still offer
	// STARTTLS, and then fail the handshake.
	if opts.NoTLS {
		set("modules_enabled", `{ "saslauth"; "roster"; "disco"; "ping" }`)
		set("c2s_require_encryption", "false")
	} else {
		set("modules_enabled", `{ "saslauth"; "tls"; "roster"; "disco"; "ping" }`)
	}
	if opts.MaxConnections > 0 {
		// Only the libevent backend honours max_connections. At the cap it
		// closes one new connection, then stops accepting for
		// accept_retry_interval seconds.
		set("network_backend", `"event"`)
		set("network_settings", fmt.Sprintf("{ max_connections = %d; accept_retry_interval = 1 }", opts.MaxConnections))
	}
	fmt.Fprintf(&b, "VirtualHost %s\n", lua(s.Domain))
	return b.String()
}

// Stop shuts the server down, as its administrator would; a test calls it
// to see what clients make of that. The test's cleanup calls it otherwise.
func (s *Server) Stop() { s.stop() }

// AddUser registers an account with prosodyctl.
func (s *Server) AddUser(t testing.TB, username, password string) {
	t.Helper()
	out, err := exec.Command(s.prosodyctl, "--config", s.Config, "register", username, s.Domain, password).CombinedOutput()
	if err != nil {
		t.Fatalf("prosodytest: registering %s: %v\n%s", username, err, out)
	}
}

// Client returns the xmpp.Config that logs username on to this server.
func (s *Server) Client(username, password string) xmpp.Config {
	c := xmpp.Config{
		Host:     s.Host,
		Port:     s.Port,
		Domain:   s.Domain,
		Username: username,
		Password: password,
	}
	if s.RootCAs != nil {
		c.TLSConfig = &tls.Config{RootCAs: s.RootCAs, ServerName: s.Domain}
	} else {
		c.AllowPlaintext = true
	}
	return c
}

// Logins counts the successful logons of username so far, from the
// "Authenticated as" lines Prosody logs, so a test can prove that something
// did, or did not, log on.
func (s *Server) Logins(t testing.TB, username string) int {
	t.Helper()
	f, err := os.Open(s.LogFile)
	if err != nil {
		t.Fatalf("prosodytest: %v", err)
	}
	defer f.Close()
	suffix := "Authenticated as " + username + "@" + s.Domain
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasSuffix(sc.Text(), suffix) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("prosodytest: reading the log: %v", err)
	}
	return n
}

// Log returns the server log so far.
func (s *Server) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatalf("prosodytest: %v", err)
	}
	return string(b)
}

// logTail is the end of the server log and console output, for failures.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, name := range []string{"console.log", "prosody.log"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, name))
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s", name, data)
	}
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lua quotes s as a Lua string literal.
func lua(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
