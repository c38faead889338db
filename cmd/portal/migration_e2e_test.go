package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"provportal/packages/bundle/bundletest"
)

// buildMigrationPackage asks the portal for a migration package and
// unpacks it, as a management channel would, into a new folder.
func buildMigrationPackage(t *testing.T, a *adminClient, body map[string]any) (dir, id string) {
	t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", a.url+"/api/v1/migration-packages", bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("migration package: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), raw[:min(len(raw), 300)])
	}
	dir = t.TempDir()
	for name, f := range bundletest.UntarGz(t, raw) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), f.Body, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir, res.Header.Get("X-Migration-Package-Id")
}

// runPackage runs an unpacked package the way a management channel does:
// sh install.sh with the logon on standard input, unattended.
func runPackage(t *testing.T, dir, password, installDir string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "install.sh", "--username", "frank", "--password-stdin", "--install-dir", installDir, "--non-interactive")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(password + "\n")
	return runUntil(t, cmd, 2*time.Minute, "the package")
}

// placeLegacyClient installs a stand-in legacy client: its program folder
// and its configuration folder.
func placeLegacyClient(t *testing.T) []string {
	t.Helper()
	root := t.TempDir()
	paths := []string{filepath.Join(root, "opt", "oldmdm"), filepath.Join(root, "etc", "oldmdm")}
	for _, p := range paths {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "agent"), []byte("old client"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func legacyThere(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(p, "agent")); err != nil {
			return false
		}
	}
	return true
}

// TestMigrationPackageEndToEnd builds migration packages through the real
// portal, unpacks them and runs them over a pre-placed legacy client with
// the real bootloader, as a device-management channel would.
func TestMigrationPackageEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Linux and macOS package's launcher is a shell script")
	}
	backends(t, func(t *testing.T, db []string) {
		blDir := t.TempDir()
		buildBootloader(t, blDir)
		if out, err := run(t, "opal-Secret-123\n", append([]string{"admin", "create", "--username", "opal", "--password-stdin"}, db...)...); err != nil {
			t.Fatalf("admin create: %v\n%s", err, out)
		}
		p := startPortal(t, nil, append(db, "--bootloader-dir", blDir)...)
		_, token := login(t, p.URL, "opal", "opal-Secret-123")
		a := &adminClient{t: t, url: p.URL, token: token}
		here := runtime.GOOS + "-" + runtime.GOARCH
		g := a.id("POST", "/api/v1/groups", map[string]string{"name": "field"})
		a.do("POST", "/api/v1/users", map[string]any{"username": "frank", "password": "Frank-pass-31415", "groups": []string{g}}, nil)
		app := a.id("POST", "/api/v1/apps", map[string]string{"name": "field-app", "version": "4.0.0"})
		a.do("PUT", "/api/v1/apps/"+app+"/artifacts/"+here+"?filename=f.tar.gz", tarGz(t, "hello.txt", "migration-marker-2718"), nil)
		a.do("POST", "/api/v1/assignments", map[string]string{"app_id": app, "group_id": g}, nil)
		u, _ := url.Parse(p.URL)
		port := 0
		for _, r := range u.Port() {
			port = port*10 + int(r-'0')
		}

		legacy := placeLegacyClient(t)
		marker := filepath.Join(t.TempDir(), "uninstalled")
		// Built for a port the portal has since left; fixed in the settings file.
		pkg, id := buildMigrationPackage(t, a, map[string]any{"platform": here, "host": u.Hostname(), "port": 1,
			"legacy": map[string]any{"paths": legacy, "service": "oldmdm-agent", "uninstall": "echo done > '" + marker + "'"}})

		t.Run("unreachable_portal_leaves_the_legacy_client", func(t *testing.T) {
			out, err := runPackage(t, pkg, "Frank-pass-31415", filepath.Join(t.TempDir(), "i"))
			if err == nil || !strings.Contains(lastLine(out), "reach") || !legacyThere(legacy) {
				t.Errorf("exit %v, legacy kept %v; output:\n%s", err, legacyThere(legacy), out)
			}
		})
		settings := filepath.Join(pkg, "provisioning.json")
		if err := os.WriteFile(settings, []byte(`{"host": "`+u.Hostname()+`", "port": `+u.Port()+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run("wrong_password_leaves_the_legacy_client", func(t *testing.T) {
			install := filepath.Join(t.TempDir(), "i")
			out, err := runPackage(t, pkg, "wrong-password", install)
			if err == nil || !strings.Contains(lastLine(out), "password") || !legacyThere(legacy) {
				t.Errorf("exit %v, legacy kept %v; output:\n%s", err, legacyThere(legacy), out)
			}
			if _, err := os.Stat(filepath.Join(install, "apps")); err == nil {
				t.Error("a refused logon installed something")
			}
		})

		install := filepath.Join(t.TempDir(), "install")
		out, err := runPackage(t, pkg, "Frank-pass-31415", install)
		if err != nil {
			t.Fatalf("the package: %v\n%s", err, out)
		}
		if b, err := os.ReadFile(filepath.Join(install, "apps", "field-app", "hello.txt")); err != nil || string(b) != "migration-marker-2718" {
			t.Errorf("installed app: %q, %v", b, err)
		}
		for _, l := range legacy {
			if _, err := os.Stat(l); !os.IsNotExist(err) {
				t.Errorf("legacy path %s is still there (%v)", l, err)
			}
		}
		if b, err := os.ReadFile(marker); err != nil || string(b) != "done\n" {
			t.Errorf("the legacy uninstaller did not run: %q, %v", b, err)
		}
		var devices struct {
			Items []struct{ ID, Status string }
		}
		a.do("GET", "/api/v1/devices", nil, &devices)
		if len(devices.Items) != 1 || devices.Items[0].Status != "activation_complete" {
			t.Fatalf("devices = %+v, want one activation_complete", devices.Items)
		}
		var timeline struct {
			Items []struct {
				Event  string
				Detail map[string]any
			}
		}
		a.do("GET", "/api/v1/devices/"+devices.Items[0].ID+"/timeline", nil, &timeline)
		fromPackage := false
		for _, ev := range timeline.Items {
			fromPackage = fromPackage || (ev.Event == "migration_package_logon" && ev.Detail["migration_package_id"] == id)
		}
		if !fromPackage {
			t.Errorf("the device's timeline %+v does not name package %s", timeline.Items, id)
		}

		t.Run("revoked_package_is_refused", func(t *testing.T) {
			legacy := placeLegacyClient(t)
			pkg, id := buildMigrationPackage(t, a, map[string]any{"platform": here, "host": u.Hostname(), "port": port,
				"legacy": map[string]any{"paths": legacy}})
			a.do("DELETE", "/api/v1/migration-packages/"+id, nil, nil)
			out, err := runPackage(t, pkg, "Frank-pass-31415", filepath.Join(t.TempDir(), "i"))
			if err == nil || !strings.Contains(lastLine(out), "withdrawn") || !legacyThere(legacy) {
				t.Errorf("exit %v, legacy kept %v; output:\n%s", err, legacyThere(legacy), out)
			}
		})
		t.Run("expired_package_is_refused", func(t *testing.T) {
			legacy := placeLegacyClient(t)
			pkg, _ := buildMigrationPackage(t, a, map[string]any{"platform": here, "host": u.Hostname(), "port": port,
				"expires_in": "1s", "legacy": map[string]any{"paths": legacy}})
			time.Sleep(1100 * time.Millisecond)
			out, err := runPackage(t, pkg, "Frank-pass-31415", filepath.Join(t.TempDir(), "i"))
			if err == nil || !strings.Contains(lastLine(out), "expired") || !legacyThere(legacy) {
				t.Errorf("exit %v, legacy kept %v; output:\n%s", err, legacyThere(legacy), out)
			}
		})
	})
}
