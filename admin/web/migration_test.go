package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"provportal/packages"
	"provportal/portal"
)

func TestMigrationPackagePages(t *testing.T) {
	env := newConsole(t)
	p := portal.MigrationPackage{Platform: "linux-amd64", Host: "portal.example.com", Port: 443,
		Legacy: &packages.LegacyClient{Paths: []string{"/opt/oldmdm"}, Service: "oldmdm"}, ExpiresAt: time.Now().Add(time.Hour)}
	if err := env.Store.CreateMigrationPackage(context.Background(), &p, "hash-of-a-secret"); err != nil {
		t.Fatal(err)
	}

	b := env.browser()
	b.signIn("root")
	list := b.get("/admin/migration-packages").want(t, http.StatusOK).
		wantText(t, "portal.example.com:443", "service oldmdm, /opt/oldmdm", "Build a package", "/admin/migration-packages/"+p.ID+"/revoke")
	csrf := list.csrf(t)

	t.Run("alias_and_host_refused_beside_the_fields", func(t *testing.T) {
		b.post("/admin/migration-packages", url.Values{"csrf_token": {csrf}, "platform": {"linux-amd64"}, "alias": {"acme"},
			"host": {"portal.example.com"}, "port": {"443"}, "legacy.paths": {"/opt/oldmdm\n/etc/oldmdm"}}).
			want(t, http.StatusUnprocessableEntity).
			wantText(t, "Give alias, or host and port, not both", `value="portal.example.com"`, "/etc/oldmdm")
	})
	t.Run("legacy_path_refused_naming_it", func(t *testing.T) {
		b.post("/admin/migration-packages", url.Values{"csrf_token": {csrf}, "platform": {"linux-amd64"}, "alias": {"acme"},
			"legacy.paths": {"opt/oldmdm"}}).
			want(t, http.StatusUnprocessableEntity).wantText(t, "Legacy client’s paths", "is not an absolute path")
	})
	t.Run("no_bootloader_said_above_the_form", func(t *testing.T) {
		b.post("/admin/migration-packages", url.Values{"csrf_token": {csrf}, "platform": {"darwin-arm64"}, "alias": {"acme"}}).
			want(t, http.StatusServiceUnavailable).wantText(t, "no bootloader for darwin-arm64")
	})
	t.Run("helpdesk_reads_but_does_not_build", func(t *testing.T) {
		h := env.browser()
		h.signIn("help")
		h.get("/admin/migration-packages").want(t, http.StatusOK).wantText(t, "portal.example.com:443").wantNoText(t, "Build a package", "/revoke")
	})

	b.get("/admin/migration-packages/"+p.ID+"/revoke").want(t, http.StatusOK).wantText(t, "Revoke the linux-amd64 package for portal.example.com:443?")
	b.post("/admin/migration-packages/"+p.ID+"/revoke", url.Values{"csrf_token": {csrf}}).wantRedirect(t, "/admin/migration-packages")
	b.get("/admin/migration-packages").want(t, http.StatusOK).wantText(t, "was revoked", "state-revoked")
	got, err := env.Store.MigrationPackage(context.Background(), p.ID)
	if err != nil || got.RevokedAt == nil {
		t.Errorf("after revoking: %+v, %v", got, err)
	}
	entries, _ := env.Store.Audit(context.Background(), portal.AuditFilter{Kind: "migration_package", ObjectID: p.ID, Actor: "root"})
	if entries.Total != 1 || entries.Items[0].Action != "revoke" {
		t.Errorf("audit by root: %+v, want the revoke", entries.Items)
	}
}
