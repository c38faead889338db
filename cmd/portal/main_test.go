package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provportal/portal/testdb"
)

var binary string

// TestMain builds the real binary once; the tests run it as a process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portal-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "portal")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building portal: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testdb.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// backends runs fn with the database flags for SQLite and for PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, dbArgs []string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, []string{"--data-dir", t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, []string{"--data-dir", t.TempDir(), "--database-url", testdb.PostgresURL(t)})
	})
}

// portalProc is a running `portal serve`.
type portalProc struct {
	cmd    *exec.Cmd
	URL    string
	stdout *syncBuffer // everything printed on stdout
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done is closed
}

// syncBuffer is a buffer a process writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) { b.Write([]byte(s)) }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

func startPortal(t *testing.T, env []string, args ...string) *portalProc {
	t.Helper()
	// A free port chosen up front, so the links the portal writes name it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", addr, "--public-url", "http://" + addr}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &portalProc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("portal exited before listening; stderr:\n%s", p.stderr)
			}
			p.stdout.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				p.URL = "http://" + m[1]
			}
			if strings.HasPrefix(line, "  Health:") {
				// The banner's end; a first start adds the logon just after it.
				go func() {
					for l := range lines {
						p.stdout.WriteString(l + "\n")
					}
				}()
				waitHealthy(t, p.URL)
				return p
			}
		case <-timeout:
			t.Fatalf("portal did not start; stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		}
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	for range 100 {
		res, err := http.Get(url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", url)
}

func login(t *testing.T, url, user, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Token
}

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var logonRE = regexp.MustCompile(`(?m)^\s+username: (\S+)\n\s+password: (\S+)$`)

func TestFirstStartPrintsAdministratorOnce(t *testing.T) {
	backends(t, func(t *testing.T, db []string) {
		p := startPortal(t, nil, db...)
		var m []string
		for range 50 { // the logon lines follow the banner
			if m = logonRE.FindStringSubmatch(p.stdout.String()); m != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if m == nil {
			t.Fatalf("first start printed no logon:\n%s", p.stdout)
		}
		if status, tok := login(t, p.URL, m[1], m[2]); status != http.StatusOK || tok == "" {
			t.Fatalf("logon with the printed %s/%s: status %d", m[1], m[2], status)
		}
		if strings.Contains(p.stderr.String(), m[2]) {
			t.Errorf("the generated password also went to the log")
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done

		again := startPortal(t, nil, db...)
		time.Sleep(200 * time.Millisecond)
		if strings.Contains(again.stdout.String(), "password:") {
			t.Errorf("second start printed a password again:\n%s", again.stdout)
		}
		if status, _ := login(t, again.URL, m[1], m[2]); status != http.StatusOK {
			t.Errorf("the first start's logon does not survive a restart: status %d", status)
		}
	})
}

func TestAdminCreateAndMigrate(t *testing.T) {
	backends(t, func(t *testing.T, db []string) {
		out, err := run(t, "", append([]string{"migrate"}, db...)...)
		if err != nil || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
		if out, err := run(t, "", append([]string{"migrate"}, db...)...); err != nil {
			t.Fatalf("second migrate: %v\n%s", err, out)
		}
		create := append([]string{"admin", "create", "--username", "opal", "--password-stdin"}, db...)
		if out, err := run(t, "opal-Secret-123\n", create...); err != nil {
			t.Fatalf("admin create: %v\n%s", err, out)
		}
		bad := []struct {
			name, stdin string
			args        []string
			want        string
		}{
			{"duplicate", "opal-Secret-123\n", create, "already exists"},
			{"short_password", "short\n", append([]string{"admin", "create", "--username", "pat", "--password-stdin"}, db...), "at least 8"},
			{"no_password_stdin", "", append([]string{"admin", "create", "--username", "pat"}, db...), "--password-stdin"},
			{"bad_username", "pat-Secret-123\n", append([]string{"admin", "create", "--username", "../pat", "--password-stdin"}, db...), "--username"},
			{"bad_role", "pat-Secret-123\n", append([]string{"admin", "create", "--username", "pat", "--password-stdin", "--role", "root"}, db...), "--role"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				out, err := run(t, tt.stdin, tt.args...)
				if err == nil || !strings.Contains(out, tt.want) || strings.Count(strings.TrimSpace(out), "\n") > 0 {
					t.Errorf("got %v with %q; want failure, one line mentioning %q", err, out, tt.want)
				}
			})
		}
		p := startPortal(t, nil, db...)
		if strings.Contains(p.stdout.String(), "password:") {
			t.Errorf("a portal that has an administrator printed a generated password")
		}
		if status, tok := login(t, p.URL, "OPAL", "opal-Secret-123"); status != http.StatusOK || tok == "" {
			t.Errorf("logon as the created administrator: status %d", status)
		}
		if status, _ := login(t, p.URL, "opal", "opal-Secret-124"); status != http.StatusUnauthorized {
			t.Errorf("logon with a wrong password: status %d, want 401", status)
		}
	})
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	p := startPortal(t, nil, "--data-dir", t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("portal exited with %v after SIGTERM, want status 0; stderr:\n%s", p.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("portal did not stop after SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", p.stderr)
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	envDir, flagDir := t.TempDir(), t.TempDir()
	// The environment's address is unusable; the flag's must win.
	p := startPortal(t, []string{"PORTAL_ADDR=256.0.0.1:1", "PORTAL_DATA_DIR=" + envDir}, "--data-dir", flagDir)
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if _, err := os.Stat(filepath.Join(flagDir, "portal.db")); err != nil {
		t.Errorf("no database in the --data-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(envDir, "portal.db")); err == nil {
		t.Errorf("the environment's data dir was used although --data-dir was given")
	}

	// Without the flag, the environment is used.
	cmd := exec.Command(binary, "migrate")
	cmd.Env = append(os.Environ(), "PORTAL_DATA_DIR="+envDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate with PORTAL_DATA_DIR: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(envDir, "portal.db")); err != nil {
		t.Errorf("PORTAL_DATA_DIR was not used: %v", err)
	}
}

func TestBadConfigurationIsOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mysql_url", []string{"serve", "--database-url", "mysql://x", "--data-dir", t.TempDir()}, "postgres://"},
		{"unknown_command", []string{"frobnicate"}, "unknown command"},
		{"proxy_protocol_without_trust", []string{"serve", "--proxy-protocol", "--data-dir", t.TempDir()}, "--trusted-proxies"},
		{"bad_trusted_proxy", []string{"serve", "--proxy-protocol", "--trusted-proxies", "10.0.0.0/99", "--data-dir", t.TempDir()}, "CIDR"},
		{"alias_without_relay", []string{"serve", "--alias", "acme@example.com", "--data-dir", t.TempDir()}, "--relay URL"},
		{"bad_alias", []string{"serve", "--relay", "http://127.0.0.1:1", "--alias", "acme corp", "--data-dir", t.TempDir()}, `alias "acme corp" is not valid`},
		{"unreachable_postgres", []string{"migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, "postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Stdout = io.Discard
			err := cmd.Run()
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if err == nil || !strings.Contains(first, tt.want) {
				t.Errorf("exit %v, first line %q; want failure mentioning %q", err, first, tt.want)
			}
		})
	}
}
