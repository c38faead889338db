package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"provportal/portal/xmpp"
	"provportal/portal/xmpp/prosodytest"
)

// TestCollaborationEndToEnd drives `bootloader chat` of the real bootloader
// binary, installed by its own logon, through the real portal binary to a
// real Prosody, where a second user is connected directly.
func TestCollaborationEndToEnd(t *testing.T) {
	srv := prosodytest.Start(t, prosodytest.Options{})
	srv.AddUser(t, "dora", "dora-im-secret")
	srv.AddUser(t, "bob", "bob-im-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bob, err := xmpp.Dial(ctx, srv.Client("bob", "bob-im-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	bob.SendPresence(ctx, xmpp.Presence{})

	blDir := t.TempDir()
	buildBootloader(t, blDir)
	exe := filepath.Join(blDir, "bootloader-"+runtime.GOOS+"-"+runtime.GOARCH)
	data := t.TempDir()
	if out, err := run(t, "opal-Secret-123\n", "admin", "create", "--username", "opal", "--password-stdin", "--data-dir", data); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	p := startPortal(t, nil, "--data-dir", data, "--bootloader-dir", blDir,
		"--xmpp-ca-file", filepath.Join(srv.Dir, "certs", srv.Domain+".crt"))
	_, token := login(t, p.URL, "opal", "opal-Secret-123")
	a := &adminClient{t: t, url: p.URL, token: token}
	a.do("PUT", "/api/v1/collaboration/settings", map[string]any{"grace_window": "1m",
		"server": map[string]any{"host": srv.Host, "port": srv.Port, "domain": srv.Domain}}, nil)
	group := a.id("POST", "/api/v1/groups", map[string]any{"name": "chat", "collaboration": true})
	a.id("POST", "/api/v1/users", map[string]any{"username": "dora", "password": "Dora-pass-24680", "groups": []string{group}})

	install := filepath.Join(t.TempDir(), "install")
	logon := exec.Command(exe, "--server", p.URL, "--username", "dora", "--password-stdin", "--install-dir", install, "--non-interactive")
	logon.Stdin = strings.NewReader("Dora-pass-24680\n")
	if out, err := logon.CombinedOutput(); err != nil {
		t.Fatalf("bootloader: %v\n%s", err, out)
	}

	chat := exec.Command(exe, "chat", "--password-stdin", "--install-dir", install, "--to", "bob", "--message", "hello from the binary")
	stdin, _ := chat.StdinPipe()
	stdout, _ := chat.StdoutPipe()
	var stderr strings.Builder
	chat.Stderr = &stderr
	if err := chat.Start(); err != nil {
		t.Fatal(err)
	}
	defer chat.Process.Kill()
	io.WriteString(stdin, "dora-im-secret\n")
	frames := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var f map[string]any
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				t.Errorf("bootloader chat printed a line that is not JSON: %q", sc.Text())
				continue
			}
			frames <- f
		}
		close(frames)
	}()
	next := func(what string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("waiting for %s: bootloader chat ended; stderr:\n%s", what, stderr.String())
				}
				if match(f) {
					return f
				}
			case <-ctx.Done():
				t.Fatalf("waiting for %s: timed out; stderr:\n%s", what, stderr.String())
			}
		}
	}
	accepted := next("the logon", func(f map[string]any) bool { return f["type"] == "accepted" })
	if jid, _ := accepted["jid"].(string); !strings.HasPrefix(jid, "dora@"+srv.Domain+"/") || accepted["resume_token"] != nil {
		t.Errorf("accepted %v, want dora's JID and no resume token printed", accepted)
	}
	nextBobMessage := func() xmpp.Message {
		t.Helper()
		for ev := range bob.Events() {
			if m, ok := ev.(xmpp.Message); ok {
				return m
			}
		}
		t.Fatal("bob's connection ended")
		return xmpp.Message{}
	}
	m := nextBobMessage()
	if m.Body != "hello from the binary" {
		t.Fatalf("bob got %+v", m)
	}
	bob.Send(ctx, xmpp.Message{To: m.From, Body: "hello, binary"})
	reply := next("bob's reply", func(f map[string]any) bool { return f["type"] == "message" })
	if reply["body"] != "hello, binary" || !strings.HasPrefix(reply["from"].(string), "bob@") {
		t.Errorf("printed %v, want bob's reply", reply)
	}
	io.WriteString(stdin, `{"to":"bob","body":"a line from standard input"}`+"\n")
	if m := nextBobMessage(); m.Body != "a line from standard input" {
		t.Errorf("bob got %+v, want the line sent from standard input", m)
	}

	chat.Process.Signal(syscall.SIGINT)
	if err := chat.Wait(); err != nil {
		t.Fatalf("bootloader chat after SIGINT: %v; stderr:\n%s", err, stderr.String())
	}
	var sessions struct{ Total int }
	a.do("GET", "/api/v1/collaboration/sessions", nil, &sessions)
	if sessions.Total != 0 {
		t.Errorf("%d sessions after the logoff, want none", sessions.Total)
	}
	if srv.Logins(t, "dora") != 1 {
		t.Errorf("dora logged on to Prosody %d times, want once", srv.Logins(t, "dora"))
	}
}
