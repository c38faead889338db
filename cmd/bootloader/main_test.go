package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
	"provportal/packages"
)

var binary string

// TestMain builds the real binary once, as a device gets it (no cgo); the
// tests run it as a process against a device API on loopback.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bootloader-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "bootloader")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bootloader: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs exe with args, stdin and extra environment (nothing of the
// test's own BOOTLOADER_* variables leaks in).
func runBinary(t *testing.T, exe, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Stdin = strings.NewReader(stdin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOOTLOADER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", exe, err)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	return r
}

func newPortal(t *testing.T) (*portaltest.Portal, portaltest.App, portaltest.App) {
	p := portaltest.New(t)
	plain := portaltest.App{Name: "vpn", Version: "7", Filename: "corp.vpnconf", Bytes: []byte("remote vpn.example.com 1194\n")}
	tgz := portaltest.App{Name: "field-notes", Version: "1.0.0", Filename: "field-notes.tar.gz", Bytes: portaltest.TarGz(t,
		portaltest.Entry{Name: "bin/field-notes", Body: "#!/bin/sh\necho notes\n", Mode: 0o755})}
	p.SetApps(plain, tgz)
	return p, plain, tgz
}

func installedClient(dir string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(dir, "bin", "bootloader.exe")
	}
	return filepath.Join(dir, "bin", "bootloader")
}

func TestBinaryInstalls(t *testing.T) {
	p, plain, _ := newPortal(t)
	dir := t.TempDir()
	r := runBinary(t, binary, p.Password+"\n", nil,
		"--server", p.URL, "--username", p.Username, "--password-stdin", "--non-interactive", "--install-dir", dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	for name, want := range map[string]string{
		"apps/vpn/corp.vpnconf":            string(plain.Bytes),
		"apps/field-notes/bin/field-notes": "#!/bin/sh\necho notes\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %q (%v), want %q", name, got, err, want)
		}
	}
	self, _ := os.ReadFile(binary)
	if got, err := os.ReadFile(installedClient(dir)); err != nil || !bytes.Equal(got, self) {
		t.Errorf("installed client: %d bytes (%v), want the binary's %d", len(got), err, len(self))
	}
	if rep := p.LastReport(); rep.Status != packages.StatusActivationComplete {
		t.Errorf("last report: got %+v, want activation_complete", rep)
	}
}

func TestBinaryFailsWithOneLine(t *testing.T) {
	p, _, _ := newPortal(t)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name   string
		stdin  string
		env    []string
		args   []string
		code   int
		stderr string // the whole of it; "" checks only that it is one line
	}{
		{"wrong_password", "wrong\n", nil, []string{"--server", p.URL, "--username", "alice", "--password-stdin", "--non-interactive"}, 1,
			"bootloader: logon refused: username or password is incorrect\n"},
		{"no_password_on_stdin", "", nil, []string{"--server", p.URL, "--username", "alice", "--password-stdin", "--non-interactive"}, 1,
			"bootloader: --password-stdin: standard input gave no password\n"},
		{"no_username", "pw\n", nil, []string{"--server", p.URL, "--password-stdin", "--non-interactive"}, 1,
			"bootloader: no username: pass --username\n"},
		{"alias_without_relay", "", nil, []string{"--alias", "acme", "--non-interactive"}, 1,
			"bootloader: alias acme is on a relay: pass --relay URL\n"},
		{"activation_password_without_email", "123456\n", nil, []string{"--activation-password-stdin", "--non-interactive"}, 2,
			"bootloader: --activation-password-stdin needs --email\n"},
		{"unknown_flag", "", nil, []string{"--colour"}, 2,
			"bootloader: flag provided but not defined: -colour (see --help)\n"},
		{"untrusted_manifest", p.Password + "\n", nil, []string{"--server", p.URL, "--username", "alice", "--password-stdin", "--non-interactive",
			"--fingerprint", packages.Fingerprint(otherKey.Public().(ed25519.PublicKey))}, 1, ""},
		{"portal_down_from_environment", p.Password + "\n", []string{"BOOTLOADER_SERVER=http://127.0.0.1:1"},
			[]string{"--username", "alice", "--password-stdin", "--non-interactive"}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--install-dir", t.TempDir()}, tc.args...)
			r := runBinary(t, binary, tc.stdin, tc.env, args...)
			if r.code != tc.code {
				t.Errorf("exit code: got %d, want %d", r.code, tc.code)
			}
			if tc.stderr != "" && r.stderr != tc.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", r.stderr, tc.stderr)
			}
			if !strings.HasPrefix(r.stderr, "bootloader: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Errorf("stderr %q is not one line starting with \"bootloader: \"", r.stderr)
			}
		})
	}
}

func TestBinaryEnvironmentAndFlags(t *testing.T) {
	p, _, _ := newPortal(t)
	t.Run("environment_gives_server_and_install_dir", func(t *testing.T) {
		dir := t.TempDir()
		r := runBinary(t, binary, p.Password+"\n",
			[]string{"BOOTLOADER_SERVER=" + p.URL, "BOOTLOADER_INSTALL_DIR=" + dir, "BOOTLOADER_FINGERPRINT=" + p.Fingerprint},
			"--username", "alice", "--password-stdin", "--non-interactive")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "first use") {
			t.Error("BOOTLOADER_FINGERPRINT was not pinned")
		}
		if _, err := os.Stat(filepath.Join(dir, "apps", "vpn", "corp.vpnconf")); err != nil {
			t.Errorf("not installed in BOOTLOADER_INSTALL_DIR: %v", err)
		}
	})
	t.Run("flag_wins_over_environment", func(t *testing.T) {
		r := runBinary(t, binary, p.Password+"\n", []string{"BOOTLOADER_SERVER=http://127.0.0.1:1"},
			"--server", p.URL, "--install-dir", t.TempDir(), "--username", "alice", "--password-stdin", "--non-interactive")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	})
}

// A bootloader downloaded from the portal carries its configuration in the
// file: it needs nothing but the logon.
func TestStampedBinary(t *testing.T) {
	p, plain, _ := newPortal(t)
	self, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	trailer, err := packages.StampTrailer(packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint, Invitation: "inv-42"})
	if err != nil {
		t.Fatal(err)
	}
	stamped := filepath.Join(t.TempDir(), filepath.Base(binary))
	if err := os.WriteFile(stamped, append(self, trailer...), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := runBinary(t, stamped, p.Password+"\n", nil, "--install-dir", dir, "--username", "alice", "--password-stdin", "--non-interactive")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := p.Logons()[0].Invitation; got != "inv-42" {
		t.Errorf("invitation: got %q, want inv-42 from the stamp", got)
	}
	if strings.Contains(r.stdout, "first use") {
		t.Error("the stamped fingerprint was not pinned")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "apps", "vpn", "corp.vpnconf")); !bytes.Equal(got, plain.Bytes) {
		t.Errorf("installed: got %q, want %q", got, plain.Bytes)
	}
	installed, err := os.ReadFile(installedClient(dir))
	if err != nil || !bytes.Equal(installed, self) {
		t.Errorf("installed client: %d bytes (%v), want the %d bytes before the stamp", len(installed), err, len(self))
	}

	// The installed client runs again on its own: its install dir and
	// device.json tell it where and whom to trust.
	r = runBinary(t, installedClient(dir), p.Password+"\n", nil, "--username", "alice", "--password-stdin", "--non-interactive")
	if r.code != 0 {
		t.Fatalf("installed client: exit %d: %s", r.code, r.stderr)
	}
	if logons := p.Logons(); logons[1].Device.ID != "dev-1" {
		t.Errorf("second logon: device %q, want dev-1 from device.json", logons[1].Device.ID)
	}
}

func TestBinaryVersionAndHelp(t *testing.T) {
	r := runBinary(t, binary, "", nil, "--version")
	if want := "bootloader dev " + bootloader.Platform() + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("--version: exit %d, %q; want 0, %q", r.code, r.stdout, want)
	}
	r = runBinary(t, binary, "", nil, "--help")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("--help: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, flag := range []string{"--server", "--alias", "--relay", "--fingerprint", "--invitation", "--username", "--password-stdin",
		"--email", "--activation-password-stdin", "--install-dir", "--non-interactive", "--version",
		"BOOTLOADER_SERVER", "BOOTLOADER_FINGERPRINT", "BOOTLOADER_INSTALL_DIR"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
}
