package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"provportal/sms/smstest"
)

// buildBootloader builds the real bootloader for this machine into dir,
// named as `make bootloaders` names it.
func buildBootloader(t *testing.T, dir string) {
	t.Helper()
	out := filepath.Join(dir, "bootloader-"+runtime.GOOS+"-"+runtime.GOARCH)
	cmd := exec.Command("go", "build", "-o", out, "../bootloader")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the bootloader: %v\n%s", err, b)
	}
}

// adminClient calls the admin API of a running portal.
type adminClient struct {
	t     *testing.T
	url   string
	token string
}

func (a *adminClient) do(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return res.StatusCode
}

func (a *adminClient) id(method, path string, body any) string {
	a.t.Helper()
	var v struct{ ID string }
	a.do(method, path, body, &v)
	return v.ID
}

// tarGz makes an app artifact holding one file.
func tarGz(t *testing.T, name, content string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func getWithUA(t *testing.T, u, ua string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func download(t *testing.T, u, path string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %d", u, res.StatusCode)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// runBootloader runs a downloaded bootloader as a person would, with the
// password on standard input, and returns its exit error and output.
func runBootloader(t *testing.T, exe, password, installDir string) (string, error) {
	t.Helper()
	cmd := exec.Command(exe, "--username", "carol", "--password-stdin", "--install-dir", installDir, "--non-interactive")
	cmd.Stdin = strings.NewReader(password + "\n")
	return runUntil(t, cmd, 2*time.Minute, "bootloader")
}

// runUntil runs cmd with its output and errors collected, and fails the
// test when what it runs has not finished within limit. It returns the
// output and how cmd exited.
func runUntil(t *testing.T, cmd *exec.Cmd, limit time.Duration, what string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(limit):
		cmd.Process.Kill()
		t.Fatalf("%s did not finish:\n%s", what, out.String())
	}
	return "", nil
}

var smsLinkRE = regexp.MustCompile(`https?://\S+/p/\S+`)

// TestProvisioningEndToEnd drives the real portal and bootloader binaries:
// an SMS through a Twilio stand-in, the landing page, the stamped
// bootloader's logon, install and report, and a second run after the
// assignments changed.
func TestProvisioningEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, db []string) {
		blDir := t.TempDir()
		buildBootloader(t, blDir)
		tw := smstest.NewTwilio(t)
		create := append([]string{"admin", "create", "--username", "opal", "--password-stdin"}, db...)
		if out, err := run(t, "opal-Secret-123\n", create...); err != nil {
			t.Fatalf("admin create: %v\n%s", err, out)
		}
		p := startPortal(t, []string{"TWILIO_ACCOUNT_SID=" + smstest.AccountSID, "TWILIO_AUTH_TOKEN=" + smstest.AuthToken,
			"TWILIO_FROM=" + smstest.From, "TWILIO_API_URL=" + tw.URL}, append(db, "--bootloader-dir", blDir)...)
		_, token := login(t, p.URL, "opal", "opal-Secret-123")
		a := &adminClient{t: t, url: p.URL, token: token}

		g := a.id("POST", "/api/v1/groups", map[string]string{"name": "couriers"})
		uid := a.id("POST", "/api/v1/users", map[string]any{"username": "carol", "phone": "+447700900123",
			"password": "Carol-pass-98765", "groups": []string{g}})
		planner := a.id("POST", "/api/v1/apps", map[string]string{"name": "route-planner", "version": "2.1.0"})
		a.do("PUT", "/api/v1/apps/"+planner+"/artifacts/"+runtime.GOOS+"-"+runtime.GOARCH+"?filename=rp.tar.gz", tarGz(t, "hello.txt", "planner-marker-5150"), nil)
		pol := a.id("POST", "/api/v1/policies", map[string]any{"name": "couriers-policy", "rules": map[string]any{"password_required": true}})
		plannerToGroup := a.id("POST", "/api/v1/assignments", map[string]string{"app_id": planner, "group_id": g})
		a.do("POST", "/api/v1/assignments", map[string]string{"policy_id": pol, "group_id": g}, nil)

		a.do("POST", "/api/v1/provisioning/sms", map[string]any{"user_ids": []string{uid}}, nil)
		var link string
		for range 100 {
			if msgs := tw.Messages(); len(msgs) > 0 {
				if msgs[0].To != "+447700900123" {
					t.Fatalf("SMS went to %s", msgs[0].To)
				}
				link = smsLinkRE.FindString(msgs[0].Body)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.HasPrefix(link, p.URL+"/p/") {
			t.Fatalf("Twilio got no message with a link to the portal (link %q)", link)
		}

		var landing struct {
			Platform  string
			Downloads map[string]string
		}
		getWithUA(t, link, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", &landing)
		if landing.Platform != "android-arm64" {
			t.Errorf("an Android phone is offered %q", landing.Platform)
		}
		getWithUA(t, link, "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", &landing)
		here := runtime.GOOS + "-" + runtime.GOARCH
		dl := landing.Downloads[here]
		if landing.Platform != "linux-amd64" || dl == "" {
			t.Fatalf("a Linux desktop is offered %q with downloads %v", landing.Platform, landing.Downloads)
		}
		exe := filepath.Join(t.TempDir(), "bootloader")
		download(t, dl, exe)

		install := filepath.Join(t.TempDir(), "install")
		out, err := runBootloader(t, exe, "wrong-password", install)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err == nil || !strings.Contains(strings.ToLower(lines[len(lines)-1]), "password") {
			t.Errorf("wrong password: %v, output %q; want failure saying so", err, out)
		}
		if _, err := os.Stat(filepath.Join(install, "apps")); err == nil {
			t.Error("a refused logon installed something")
		}

		if out, err := runBootloader(t, exe, "Carol-pass-98765", install); err != nil {
			t.Fatalf("bootloader: %v\n%s", err, out)
		}
		got, err := os.ReadFile(filepath.Join(install, "apps", "route-planner", "hello.txt"))
		if err != nil || string(got) != "planner-marker-5150" {
			t.Fatalf("installed hello.txt = %q, %v", got, err)
		}
		var devices struct {
			Items []struct {
				ID, Status, Platform string
				Progress             int
				Installed            map[string]string
			}
		}
		a.do("GET", "/api/v1/devices", nil, &devices)
		if len(devices.Items) != 1 || devices.Items[0].Status != "activation_complete" || devices.Items[0].Progress != 100 ||
			devices.Items[0].Installed["route-planner"] != "2.1.0" || devices.Items[0].Platform != here {
			t.Fatalf("devices = %+v, want one activation_complete with route-planner 2.1.0", devices.Items)
		}

		// The admin withdraws the planner and assigns a notes app; the next run follows.
		notes := a.id("POST", "/api/v1/apps", map[string]string{"name": "field-notes", "version": "1.0.0"})
		a.do("PUT", "/api/v1/apps/"+notes+"/artifacts/"+here+"?filename=notes.txt", []byte("notes-marker-77"), nil)
		a.do("POST", "/api/v1/assignments", map[string]string{"app_id": notes, "user_id": uid}, nil)
		a.do("DELETE", "/api/v1/assignments/"+plannerToGroup, nil, nil)
		if out, err := runBootloader(t, exe, "Carol-pass-98765", install); err != nil {
			t.Fatalf("second run: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(install, "apps", "route-planner")); !os.IsNotExist(err) {
			t.Errorf("the withdrawn app is still installed (%v)", err)
		}
		got, err = os.ReadFile(filepath.Join(install, "apps", "field-notes", "notes.txt"))
		if err != nil || string(got) != "notes-marker-77" {
			t.Errorf("new app: %q, %v", got, err)
		}
		devices.Items = nil // decoding into the old map would merge, not replace
		a.do("GET", "/api/v1/devices", nil, &devices)
		if len(devices.Items) != 1 || devices.Items[0].Installed["field-notes"] != "1.0.0" || devices.Items[0].Installed["route-planner"] != "" {
			t.Errorf("after the second run devices = %+v", devices.Items)
		}
	})
}

// TestActivationEndToEnd drives enterprise activation with the real portal
// and bootloader binaries: the one-time password works once, then is dead.
func TestActivationEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, db []string) {
		blDir := t.TempDir()
		buildBootloader(t, blDir)
		exe := filepath.Join(blDir, "bootloader-"+runtime.GOOS+"-"+runtime.GOARCH)
		if out, err := run(t, "opal-Secret-123\n", append([]string{"admin", "create", "--username", "opal", "--password-stdin"}, db...)...); err != nil {
			t.Fatalf("admin create: %v\n%s", err, out)
		}
		p := startPortal(t, nil, append(db, "--bootloader-dir", blDir)...)
		_, token := login(t, p.URL, "opal", "opal-Secret-123")
		a := &adminClient{t: t, url: p.URL, token: token}
		uid := a.id("POST", "/api/v1/users", map[string]any{"username": "dave", "email": "dave@example.com"})
		app := a.id("POST", "/api/v1/apps", map[string]string{"name": "ward-rounds", "version": "3.0.0"})
		a.do("PUT", "/api/v1/apps/"+app+"/artifacts/"+runtime.GOOS+"-"+runtime.GOARCH+"?filename=w.tar.gz", tarGz(t, "rounds.txt", "rounds-marker-31"), nil)
		a.do("POST", "/api/v1/assignments", map[string]string{"app_id": app, "user_id": uid}, nil)
		a.do("POST", "/api/v1/users/"+uid+"/organizer?kind=calendar", []map[string]string{{"summary": "Ward round", "start": "2026-12-01T08:00:00Z"}}, nil)
		var pw struct{ Password string }
		a.do("POST", "/api/v1/users/"+uid+"/activation-password", map[string]any{}, &pw)

		activate := func(install string) (string, error) {
			cmd := exec.Command(exe, "--server", p.URL, "--email", "dave@example.com", "--activation-password-stdin",
				"--install-dir", install, "--non-interactive")
			cmd.Stdin = strings.NewReader(pw.Password + "\n")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		install := filepath.Join(t.TempDir(), "i")
		if out, err := activate(install); err != nil {
			t.Fatalf("activation: %v\n%s", err, out)
		}
		if b, err := os.ReadFile(filepath.Join(install, "apps", "ward-rounds", "rounds.txt")); err != nil || string(b) != "rounds-marker-31" {
			t.Errorf("installed app: %q, %v", b, err)
		}
		if files, _ := os.ReadDir(filepath.Join(install, "organizer", "calendar")); len(files) != 1 {
			t.Errorf("synchronised calendar items: %d, want 1", len(files))
		}
		var devices struct{ Items []struct{ Status string } }
		a.do("GET", "/api/v1/devices", nil, &devices)
		if len(devices.Items) != 1 || devices.Items[0].Status != "synchronised" {
			t.Errorf("devices = %+v, want one synchronised", devices.Items)
		}
		out, err := activate(filepath.Join(t.TempDir(), "again"))
		if err == nil || !strings.Contains(out, "already used") || strings.Count(strings.TrimSpace(out), "\n") > 3 {
			t.Errorf("second activation with the same password: %v\n%s", err, out)
		}
	})
}
