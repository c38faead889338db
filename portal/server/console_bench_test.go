package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"provportal/portal"
	"provportal/portal/gormstore"
)

// BenchmarkConsolePages measures each console page's server time with
// 1,000 users in 10 groups and 5,000 devices at every stage in the
// database, on both databases:
//
//	go test -run '^$' -bench ConsolePages -benchtime 20x ./portal/server
func BenchmarkConsolePages(b *testing.B) {
	benchBackends(b, func(b *testing.B, st *gormstore.Store) {
		e := newPortal(b, st)
		device := seedLargeInstallation(b, e, 1000, 5000)
		for _, path := range []string{
			"/admin", "/admin/users", "/admin/users?name=user-0500", "/admin/users?offset=980",
			"/admin/groups", "/admin/devices", "/admin/devices?status=failed", "/admin/devices/" + device,
			"/admin/apps", "/admin/policies", "/admin/assignments", "/admin/provisioning",
			"/admin/sms", "/admin/audit", "/admin/audit?name=user-0999", "/admin/settings",
			"/admin/users/import", "/admin/migration-packages", "/admin/collaboration",
		} {
			b.Run(path, func(b *testing.B) {
				for b.Loop() {
					consoleGet(b, e, path)
				}
			})
		}
	})
}

// consoleGet loads a console page as the signed-on root administrator;
// the session cookie holds the same token the API takes.
func consoleGet(b *testing.B, e *portalEnv, path string) {
	req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "portal_admin_session", Value: e.Token})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", path, res.StatusCode)
	}
}

// seedLargeInstallation stores users in ten groups and devices spread over
// the stages, one in ten failed with a cause; it returns one device's ID.
func seedLargeInstallation(b *testing.B, e *portalEnv, users, devices int) string {
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "seed"})
	var groups []string
	for i := range 10 {
		g := portal.Group{Name: fmt.Sprintf("group-%02d", i)}
		if err := e.Store.CreateGroup(ctx, &g); err != nil {
			b.Fatal(err)
		}
		groups = append(groups, g.ID)
	}
	ids := make([]string, users)
	for i := range users {
		u := portal.User{Username: fmt.Sprintf("user-%04d", i), Email: fmt.Sprintf("user-%04d@example.com", i),
			Phone: fmt.Sprintf("+1415555%04d", i), Groups: []string{groups[i%10]}}
		if err := e.Store.CreateUser(ctx, &u); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	stages := []string{"registered", "installing", "installed", "activating", "activation_complete"}
	var last string
	for i := range devices {
		d := portal.Device{UserID: ids[i%users], Name: fmt.Sprintf("device-%05d", i), Platform: "linux-amd64", Status: stages[i%len(stages)]}
		if err := e.Store.RegisterDevice(ctx, &d); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if err := e.Store.ReportDevice(ctx, d.ID, "failed", 40, nil, &portal.DeviceError{Code: portal.FailDigestMismatch, Message: "the download did not match its hash"}); err != nil {
				b.Fatal(err)
			}
		}
		last = d.ID
	}
	return last
}
