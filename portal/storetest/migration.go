package storetest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"provportal/packages"
	"provportal/portal"
)

func mustMigrationPackage(t *testing.T, s portal.Store, p portal.MigrationPackage, secretHash string) *portal.MigrationPackage {
	t.Helper()
	if p.Platform == "" {
		p.Platform = "linux-amd64"
	}
	if p.ExpiresAt.IsZero() {
		p.ExpiresAt = time.Now().Add(time.Hour)
	}
	if err := s.CreateMigrationPackage(context.Background(), &p, secretHash); err != nil {
		t.Fatalf("CreateMigrationPackage: %v", err)
	}
	return &p
}

var migrationCases = []storeCase{
	{"create_find_and_list_newest_first", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		legacy := &packages.LegacyClient{Paths: []string{"/opt/oldmdm"}, Service: "oldmdm", Uninstall: "/opt/oldmdm/uninstall --quiet"}
		first := mustMigrationPackage(t, s, portal.MigrationPackage{Host: "portal.example.com", Port: 8443, Legacy: legacy}, "hash-first")
		second := mustMigrationPackage(t, s, portal.MigrationPackage{Platform: "windows-amd64", Alias: "acme@example.com",
			Relay: "https://relay.example.com"}, "hash-second")
		if first.ID == "" || first.CreatedAt.IsZero() || first.Uses != 0 || first.State(time.Now()) != portal.InvitationActive {
			t.Errorf("created %+v, want an ID, a creation time, no uses, active", first)
		}
		got, err := s.MigrationPackageBySecretHash(ctx, "hash-first")
		must(t, "MigrationPackageBySecretHash", err)
		checkSame(t, "by secret hash", *got, *first)
		if got.Legacy == nil || !slices.Equal(got.Legacy.Paths, legacy.Paths) || got.Legacy.Service != "oldmdm" || got.Legacy.Uninstall != legacy.Uninstall {
			t.Errorf("legacy client = %+v, want %+v", got.Legacy, legacy)
		}
		got, err = s.MigrationPackage(ctx, second.ID)
		must(t, "MigrationPackage", err)
		if got.Alias != "acme@example.com" || got.Relay != "https://relay.example.com" || got.Host != "" || got.Legacy != nil || got.Platform != "windows-amd64" {
			t.Errorf("by ID: %+v, want the alias package without a legacy client", got)
		}
		page, err := s.MigrationPackages(ctx, portal.ListOptions{})
		must(t, "MigrationPackages", err)
		if ids := mapItems(page.Items, func(p portal.MigrationPackage) string { return p.ID }); !slices.Equal(ids, []string{second.ID, first.ID}) || page.Total != 2 {
			t.Errorf("list = %v (total %d), want newest first [%s %s]", ids, page.Total, second.ID, first.ID)
		}
		if _, err := s.MigrationPackageBySecretHash(ctx, "hash-unknown"); portal.CodeOf(err) != portal.CodeNotFound {
			t.Errorf("unknown secret: %v, want not_found", err)
		}
		if _, err := s.MigrationPackage(ctx, "nope"); portal.CodeOf(err) != portal.CodeNotFound {
			t.Errorf("unknown ID: %v, want not_found", err)
		}
		entries := auditLog(t, s, portal.AuditFilter{Kind: "migration_package", ObjectID: first.ID})
		if entries.Total != 1 || entries.Items[0].Action != "create" {
			t.Fatalf("audit of the package: %+v, want one create", entries.Items)
		}
		if bytes.Contains(entries.Items[0].After, []byte("hash-first")) {
			t.Error("the audit entry holds the secret's hash")
		}
	}},
	{"duplicate_secret_is_a_conflict", func(t *testing.T, s portal.Store) {
		mustMigrationPackage(t, s, portal.MigrationPackage{Host: "a.example.com", Port: 443}, "same-hash")
		p := portal.MigrationPackage{Platform: "linux-amd64", Host: "b.example.com", Port: 443, ExpiresAt: time.Now().Add(time.Hour)}
		wantErr(t, "second package with one secret", s.CreateMigrationPackage(context.Background(), &p, "same-hash"), portal.CodeConflict)
		if page, _ := s.MigrationPackages(context.Background(), portal.ListOptions{}); page.Total != 1 {
			t.Errorf("%d packages after the refused one, want 1", page.Total)
		}
	}},
	{"revoke_ends_it_once", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		p := mustMigrationPackage(t, s, portal.MigrationPackage{Alias: "acme"}, "hash-revoke")
		revoked, err := s.RevokeMigrationPackage(ctx, p.ID)
		must(t, "RevokeMigrationPackage", err)
		if revoked.RevokedAt == nil || revoked.State(time.Now()) != portal.InvitationRevoked {
			t.Fatalf("revoked: %+v, want revoked", revoked)
		}
		again, err := s.RevokeMigrationPackage(ctx, p.ID)
		must(t, "revoke again", err)
		if !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Errorf("revoking again moved revoked_at from %v to %v", revoked.RevokedAt, again.RevokedAt)
		}
		got, _ := s.MigrationPackageBySecretHash(ctx, "hash-revoke")
		if got == nil || got.State(time.Now()) != portal.InvitationRevoked {
			t.Errorf("found after revoking: %+v, want revoked", got)
		}
		entries := auditLog(t, s, portal.AuditFilter{Kind: "migration_package", ObjectID: p.ID})
		actions := mapItems(entries.Items, func(e portal.AuditEntry) string { return e.Action })
		if slices.Compare(sorted(actions), []string{"create", "revoke"}) != 0 {
			t.Errorf("audit actions %v, want create and one revoke", actions)
		}
		if _, err := s.RevokeMigrationPackage(ctx, "nope"); portal.CodeOf(err) != portal.CodeNotFound {
			t.Errorf("revoke unknown: %v, want not_found", err)
		}
	}},
	{"expired_package_says_so", func(t *testing.T, s portal.Store) {
		p := mustMigrationPackage(t, s, portal.MigrationPackage{Host: "h", Port: 1, ExpiresAt: time.Now().Add(-time.Minute)}, "hash-expired")
		got, err := s.MigrationPackage(context.Background(), p.ID)
		must(t, "MigrationPackage", err)
		if got.State(time.Now()) != portal.InvitationExpired {
			t.Errorf("state %s, want expired", got.State(time.Now()))
		}
	}},
	{"uses_are_counted_under_concurrency", func(t *testing.T, s portal.Store) {
		ctx := context.Background()
		p := mustMigrationPackage(t, s, portal.MigrationPackage{Host: "h", Port: 1}, "hash-uses")
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.UseMigrationPackage(ctx, p.ID, time.Now())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, "UseMigrationPackage", err)
		}
		got, err := s.MigrationPackage(ctx, p.ID)
		must(t, "MigrationPackage", err)
		if got.Uses != n || got.LastUsedAt == nil {
			t.Errorf("uses %d, last used %v; want %d and a time", got.Uses, got.LastUsedAt, n)
		}
		if err := s.UseMigrationPackage(ctx, "nope", time.Now()); portal.CodeOf(err) != portal.CodeNotFound {
			t.Errorf("use unknown: %v, want not_found", err)
		}
	}},
}
