package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChatFailsWithOneLine covers what `bootloader chat` refuses before it
// reaches a portal; the whole flow, through a real portal to a real Prosody,
// is cmd/portal's TestCollaborationEndToEnd.
func TestChatFailsWithOneLine(t *testing.T) {
	installed := t.TempDir()
	os.WriteFile(filepath.Join(installed, "device.json"), []byte(`{"device_id":"d1","portal_url":"http://portal.example.com","device_token":"t"}`), 0o600)
	down := t.TempDir()
	os.WriteFile(filepath.Join(down, "device.json"), []byte(`{"device_id":"d1","portal_url":"http://127.0.0.1:1","device_token":"t"}`), 0o600)
	// An activated device seals its password, so plain HTTP to another
	// machine is no reason to stop; 0.0.0.0 is not a loopback address, yet
	// refuses the connection at once.
	sealed := t.TempDir()
	os.WriteFile(filepath.Join(sealed, "device.json"), []byte(`{"device_id":"d1","portal_url":"http://0.0.0.0:1","device_token":"t",`+
		`"collaboration_key":"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}`), 0o600)
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"to_without_message", "pw\n", []string{"--password-stdin", "--to", "bob"}, 2,
			"bootloader: chat: --to and --message go together\n"},
		{"no_password_on_stdin", "", []string{"--password-stdin"}, 1,
			"bootloader: --password-stdin: standard input gave no password\n"},
		{"no_password_and_no_terminal", "", nil, 2,
			"bootloader: chat: no messaging password: pass --password-stdin and write it on standard input\n"},
		{"not_installed", "pw\n", []string{"--password-stdin", "--install-dir", t.TempDir()}, 1, ""},
		{"plain_http_to_another_machine", "pw\n", []string{"--password-stdin", "--install-dir", installed}, 1,
			"bootloader: the portal http://portal.example.com is reached over plain HTTP: the messaging password is sent only over HTTPS\n"},
		{"portal_down", "pw\n", []string{"--password-stdin", "--install-dir", down}, 1, ""},
		{"plain_http_to_another_machine_sealed", "pw\n", []string{"--password-stdin", "--install-dir", sealed}, 1, ""},
		{"unknown_flag", "", []string{"--colour"}, 2,
			"bootloader: chat: flag provided but not defined: -colour (see bootloader chat --help)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, binary, tc.stdin, nil, append([]string{"chat"}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit code: got %d, want %d", r.code, tc.code)
			}
			if tc.stderr != "" && r.stderr != tc.stderr {
				t.Errorf("stderr:\n got %q\nwant %q", r.stderr, tc.stderr)
			}
			if strings.HasSuffix(tc.name, "_sealed") && strings.Contains(r.stderr, "plain HTTP") {
				t.Errorf("stderr %q: a sealing device was refused plain HTTP", r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "bootloader: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q is not one line starting with \"bootloader: \"", r.stderr)
			}
		})
	}
	r := runBinary(t, binary, "", nil, "chat", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: bootloader chat") {
		t.Errorf("chat --help: exit %d, stdout %q", r.code, r.stdout)
	}
}
