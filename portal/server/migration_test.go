package server

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"provportal/packages"
	"provportal/packages/bundle/bundletest"
	"provportal/portal"
	"provportal/portal/deviceapi"
	"provportal/portal/gormstore"
)

// unpackMigration reads a migration package into name -> bytes.
func unpackMigration(t *testing.T, res *response) map[string][]byte {
	t.Helper()
	var files map[string]bundletest.File
	switch ct := res.Header.Get("Content-Type"); ct {
	case "application/gzip":
		files = bundletest.UntarGz(t, res.Body)
	case "application/zip":
		files = bundletest.Unzip(t, res.Body)
	default:
		t.Fatalf("Content-Type %q, want application/gzip or application/zip", ct)
	}
	out := map[string][]byte{}
	for name, f := range files {
		out[name] = f.Body
	}
	return out
}

func TestMigrationPackageRequests(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		fakeBootloaders(t, e.cfg.BootloaderDir)
		refused := []struct {
			name  string
			body  string
			field string
		}{
			{"alias_and_host", `{"platform":"linux-amd64","alias":"acme@example.com","host":"127.0.0.1","port":8080}`, "alias"},
			{"alias_and_port", `{"platform":"linux-amd64","alias":"acme@example.com","port":8080}`, "alias"},
			{"neither", `{"platform":"linux-amd64"}`, "alias"},
			{"host_without_port", `{"platform":"linux-amd64","host":"portal.example.com"}`, "port"},
			{"port_without_host", `{"platform":"linux-amd64","port":443}`, "host"},
			{"host_with_scheme", `{"platform":"linux-amd64","host":"https://portal.example.com","port":443}`, "host"},
			{"port_out_of_range", `{"platform":"linux-amd64","host":"portal.example.com","port":70000}`, "port"},
			{"phone_platform", `{"platform":"android-arm64","alias":"acme"}`, "platform"},
			{"unknown_platform", `{"platform":"plan9-386","alias":"acme"}`, "platform"},
			{"no_platform", `{"alias":"acme"}`, "platform"},
			{"relative_legacy_path", `{"platform":"linux-amd64","alias":"acme","legacy":{"paths":["opt/old"]}}`, "legacy.paths"},
			{"root_legacy_path", `{"platform":"linux-amd64","alias":"acme","legacy":{"paths":["/"]}}`, "legacy.paths"},
			{"unix_path_for_windows", `{"platform":"windows-amd64","alias":"acme","legacy":{"paths":["/opt/old"]}}`, "legacy.paths"},
			{"drive_root_for_windows", `{"platform":"windows-amd64","alias":"acme","legacy":{"paths":["C:\\"]}}`, "legacy.paths"},
			{"service_with_shell", `{"platform":"linux-amd64","alias":"acme","legacy":{"service":"old; rm -rf /"}}`, "legacy.service"},
			{"uninstall_on_two_lines", `{"platform":"linux-amd64","alias":"acme","legacy":{"uninstall":"a\nb"}}`, "legacy.uninstall"},
			{"unknown_legacy_field", `{"platform":"linux-amd64","alias":"acme","legacy":{"registry":"x"}}`, "registry"},
			{"expiry_too_long", `{"platform":"linux-amd64","alias":"acme","expires_in":"9000h"}`, "expires_in"},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				res := e.as("POST", "/api/v1/migration-packages", tt.body).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
				if got := res.field(); got != tt.field {
					t.Errorf("field %q, want %q (%s)", got, tt.field, res.Body)
				}
				if tt.field == "alias" && (!bytes.Contains(res.Body, []byte("alias")) || !bytes.Contains(res.Body, []byte("host"))) {
					t.Errorf("the refusal must name alias and host: %s", res.Body)
				}
			})
		}
		if n := e.count("/api/v1/migration-packages"); n != 0 {
			t.Errorf("%d packages after refused requests, want none", n)
		}

		t.Run("helpdesk_may_not_build", func(t *testing.T) {
			e.addAdmin("desk", portal.RoleHelpdesk)
			tok := e.login("desk", adminPassword)
			e.call("POST", "/api/v1/migration-packages", tok, `{"platform":"linux-amd64","alias":"acme"}`).wantError(http.StatusForbidden, portal.CodeForbidden)
			e.call("GET", "/api/v1/migration-packages", tok, nil).want(http.StatusOK)
		})
		t.Run("missing_bootloader", func(t *testing.T) {
			if err := os.Remove(filepath.Join(e.cfg.BootloaderDir, "bootloader-darwin-arm64")); err != nil {
				t.Fatal(err)
			}
			res := e.as("POST", "/api/v1/migration-packages", `{"platform":"darwin-arm64","alias":"acme"}`).wantError(http.StatusServiceUnavailable, portal.CodeUnavailable)
			if !bytes.Contains(res.Body, []byte("darwin-arm64")) || !bytes.Contains(res.Body, []byte("make bootloaders")) {
				t.Errorf("the refusal must name the platform and the fix: %s", res.Body)
			}
			if n := e.count("/api/v1/migration-packages"); n != 0 {
				t.Errorf("a refused build kept a package (%d)", n)
			}
		})
	})
}

func TestMigrationPackageContents(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		fakeBootloaders(t, e.cfg.BootloaderDir)
		u, _ := url.Parse(e.URL)

		res := e.as("POST", "/api/v1/migration-packages", map[string]any{"platform": "linux-amd64", "host": u.Hostname(), "port": mustAtoi(t, u.Port()),
			"legacy": map[string]any{"paths": []string{"/opt/oldmdm", "/etc/oldmdm"}, "service": "oldmdm-agent", "uninstall": "/opt/oldmdm/uninstall --quiet"}}).want(http.StatusOK)
		if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename=migration-linux-amd64.tar.gz` {
			t.Errorf("Content-Disposition %q", cd)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store: the file carries a secret", cc)
		}
		id := res.Header.Get("X-Migration-Package-Id")
		files := unpackMigration(t, res)
		bl := files["bootloader-linux-amd64"]
		if !bytes.HasPrefix(bl, []byte("MZ stand-in for linux-amd64")) {
			t.Fatalf("entries %v: no linux-amd64 bootloader", slices.Sorted(maps.Keys(files)))
		}
		stamp := bundletest.Stamp(t, bl)
		if stamp.PortalURL != e.URL || stamp.Fingerprint != e.Srv.Fingerprint() || stamp.Alias != "" || len(stamp.Migration) < 40 {
			t.Errorf("stamp %+v, want portal %s, fingerprint %s and a long secret", stamp, e.URL, e.Srv.Fingerprint())
		}
		if stamp.Legacy == nil || strings.Join(stamp.Legacy.Paths, ",") != "/opt/oldmdm,/etc/oldmdm" || stamp.Legacy.Service != "oldmdm-agent" || stamp.Legacy.Uninstall != "/opt/oldmdm/uninstall --quiet" {
			t.Errorf("stamped legacy client %+v", stamp.Legacy)
		}
		if sh := string(files["install.sh"]); !strings.Contains(sh, `"$@"`) || !strings.Contains(sh, "bootloader-linux-amd64") {
			t.Errorf("install.sh:\n%s", sh)
		}
		var settings packages.Settings
		if err := json.Unmarshal(files[packages.SettingsFile], &settings); err != nil || settings.Host != u.Hostname() || settings.Port != mustAtoi(t, u.Port()) || settings.Alias != "" {
			t.Errorf("%s = %s (%v)", packages.SettingsFile, files[packages.SettingsFile], err)
		}

		// Only the secret's hash is kept, and the package is listed without it.
		p, err := e.Store.MigrationPackageBySecretHash(context.Background(), deviceapi.HashToken(stamp.Migration))
		if err != nil || p.ID != id {
			t.Fatalf("the stamped secret finds %+v (%v), want package %s", p, err, id)
		}
		var page struct {
			Items []map[string]any
			Total int
		}
		e.as("GET", "/api/v1/migration-packages", nil).want(http.StatusOK).decode(&page)
		list, _ := json.Marshal(page)
		if page.Total != 1 || page.Items[0]["id"] != id || page.Items[0]["state"] != "active" || page.Items[0]["host"] != u.Hostname() ||
			page.Items[0]["platform"] != "linux-amd64" || page.Items[0]["uses"] != float64(0) || page.Items[0]["expires_at"] == nil {
			t.Errorf("list = %s", list)
		}
		if bytes.Contains(list, []byte(stamp.Migration)) || bytes.Contains(list, []byte(deviceapi.HashToken(stamp.Migration))) {
			t.Error("the list shows the secret or its hash")
		}

		// Windows: a zip with both launchers, routed by alias.
		res = e.as("POST", "/api/v1/migration-packages", `{"platform":"windows-amd64","alias":"acme@example.com","expires_in":"48h"}`).want(http.StatusOK)
		if res.Header.Get("Content-Type") != "application/zip" || !strings.Contains(res.Header.Get("Content-Disposition"), "migration-windows-amd64.zip") {
			t.Errorf("windows package: %s, %s", res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		files = unpackMigration(t, res)
		for _, name := range []string{"install.ps1", "install.cmd", "bootloader-windows-amd64.exe", packages.SettingsFile} {
			if files[name] == nil {
				t.Errorf("windows package lacks %s: %v", name, slices.Sorted(maps.Keys(files)))
			}
		}
		win := bundletest.Stamp(t, files["bootloader-windows-amd64.exe"])
		if win.Alias != "acme@example.com" || win.PortalURL != "" || win.Migration == "" || win.Migration == stamp.Migration || win.Legacy != nil {
			t.Errorf("windows stamp %+v", win)
		}
		var winPkg portal.MigrationPackage
		e.as("GET", "/api/v1/migration-packages/"+res.Header.Get("X-Migration-Package-Id"), nil).want(http.StatusOK).decode(&winPkg)
		if d := time.Until(winPkg.ExpiresAt); d < 47*time.Hour || d > 49*time.Hour {
			t.Errorf("expires in %s, want 48h", d)
		}

		// Revoking is audited like every change, and answers the package as revoked.
		var revoked map[string]any
		e.as("DELETE", "/api/v1/migration-packages/"+id, nil).want(http.StatusOK).decode(&revoked)
		if revoked["state"] != "revoked" || revoked["revoked_at"] == nil {
			t.Errorf("revoked = %v", revoked)
		}
		e.as("DELETE", "/api/v1/migration-packages/nope", nil).wantError(http.StatusNotFound, portal.CodeNotFound)
		var audit portal.Page[portal.AuditEntry]
		e.as("GET", "/api/v1/audit?kind=migration_package&object_id="+id, nil).want(http.StatusOK).decode(&audit)
		var actions []string
		for _, a := range audit.Items {
			actions = append(actions, a.Action+" by "+a.Actor)
		}
		if strings.Join(actions, ",") != "revoke by root,create by root" {
			t.Errorf("audit = %v, want the create and the revoke, by root", actions)
		}
	})
}

func TestMigrationPackageLogon(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		fakeBootloaders(t, e.cfg.BootloaderDir)
		e.as("POST", "/api/v1/users", map[string]any{"username": "frank", "password": "Frank-pass-31415"}).want(http.StatusCreated)
		secretOf := func() (string, string) {
			res := e.as("POST", "/api/v1/migration-packages", `{"platform":"linux-amd64","host":"127.0.0.1","port":8080}`).want(http.StatusOK)
			return bundletest.Stamp(t, unpackMigration(t, res)["bootloader-linux-amd64"]).Migration, res.Header.Get("X-Migration-Package-Id")
		}
		logon := func(password, secret string) *response {
			return e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: "frank", Password: password, Migration: secret,
				Device: packages.DeviceInfo{Name: "frank-laptop", Platform: "linux-amd64"}})
		}

		secret, id := secretOf()
		var out packages.LogonResponse
		logon("Frank-pass-31415", secret).want(http.StatusOK).decode(&out)
		var timeline struct{ Items []portal.DeviceEvent }
		e.as("GET", "/api/v1/devices/"+out.DeviceID+"/timeline", nil).want(http.StatusOK).decode(&timeline)
		found := false
		for _, ev := range timeline.Items {
			found = found || (ev.Event == "migration_package_logon" && ev.Detail["migration_package_id"] == id)
		}
		if !found {
			t.Errorf("the device's timeline %+v does not name package %s", timeline.Items, id)
		}
		var p portal.MigrationPackage
		e.as("GET", "/api/v1/migration-packages/"+id, nil).want(http.StatusOK).decode(&p)
		if p.Uses != 1 || p.LastUsedAt == nil {
			t.Errorf("after one logon: uses %d, last used %v", p.Uses, p.LastUsedAt)
		}

		t.Run("wrong_password_is_still_bad_credentials", func(t *testing.T) {
			logon("wrong", secret).wantError(http.StatusUnauthorized, portal.CodeBadCredentials)
		})
		t.Run("unknown_secret", func(t *testing.T) {
			logon("Frank-pass-31415", "not-a-package-secret").wantError(http.StatusForbidden, portal.CodeMigrationPackageUnknown)
		})
		t.Run("revoked", func(t *testing.T) {
			s, id := secretOf()
			e.as("DELETE", "/api/v1/migration-packages/"+id, nil).want(http.StatusOK)
			res := logon("Frank-pass-31415", s).wantError(http.StatusForbidden, portal.CodeMigrationPackageRevoked)
			if bytes.Contains(res.Body, []byte("\\n")) {
				t.Errorf("reason spans lines: %s", res.Body)
			}
		})
		t.Run("expired", func(t *testing.T) {
			old := portal.MigrationPackage{Platform: "linux-amd64", Host: "127.0.0.1", Port: 8080, ExpiresAt: time.Now().Add(-time.Minute)}
			if err := e.Store.CreateMigrationPackage(context.Background(), &old, deviceapi.HashToken("an-expired-secret")); err != nil {
				t.Fatal(err)
			}
			res := logon("Frank-pass-31415", "an-expired-secret").wantError(http.StatusForbidden, portal.CodeMigrationPackageExpired)
			if !bytes.Contains(res.Body, []byte("expired")) {
				t.Errorf("reason %s does not say it expired", res.Body)
			}
		})
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func TestMigrationPackageCarriesThePortalsRelay(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), func(c *Config) { c.RelayURL, c.Alias = "https://relay.example.com", "acme@example.com" })
		fakeBootloaders(t, e.cfg.BootloaderDir)
		res := e.as("POST", "/api/v1/migration-packages", `{"platform":"darwin-arm64","alias":"Acme@Example.com"}`).want(http.StatusOK)
		files := unpackMigration(t, res)
		stamp := bundletest.Stamp(t, files["bootloader-darwin-arm64"])
		if stamp.Alias != "acme@example.com" || stamp.Relay != "https://relay.example.com" || stamp.PortalURL != "" || stamp.Fingerprint != e.Srv.Fingerprint() {
			t.Errorf("stamp %+v, want the alias in lower case with the portal's relay", stamp)
		}
		var settings packages.Settings
		if err := json.Unmarshal(files[packages.SettingsFile], &settings); err != nil || settings.Alias != "acme@example.com" || settings.Relay != "https://relay.example.com" {
			t.Errorf("%s = %s (%v)", packages.SettingsFile, files[packages.SettingsFile], err)
		}
		e.as("POST", "/api/v1/migration-packages", `{"platform":"darwin-arm64","alias":"acme example"}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
	})
}
