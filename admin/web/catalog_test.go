package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"provportal/portal"
)

func TestDevicesAppsPoliciesEmptyStatesSayWhatToDo(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.signIn("help") // read-only pages: the helpdesk sees them too
	b.get("/admin").want(t, http.StatusOK).
		wantText(t, `<a href="/admin/devices">Devices</a>`, `<a href="/admin/apps">Apps</a>`, `<a href="/admin/policies">Policies</a>`)
	b.get("/admin/devices").want(t, http.StatusOK).
		wantText(t, "<h1>Devices</h1>", `aria-current="page">Devices`, "No devices yet.", `href="/admin/provisioning"`, `href="/admin/users"`)
	b.get("/admin/apps").want(t, http.StatusOK).
		wantText(t, "<h1>Apps</h1>", `aria-current="page">Apps`, "No apps yet: create one with", "PUT /api/v1/apps/{id}/artifacts/{platform}")
	b.get("/admin/policies").want(t, http.StatusOK).
		wantText(t, "<h1>Policies</h1>", `aria-current="page">Policies`, "No policies yet.", "an administrator creates them").wantNoText(t, "/admin/policies/new")
	b.get("/admin/devices?status=failed").want(t, http.StatusOK).wantText(t, "No device has the status Failed.", `value="failed" selected`)
	b.get("/admin/devices/nope").want(t, http.StatusNotFound).wantText(t, "Not found")
}

func TestDevicesAppsPoliciesNeedASession(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	for _, path := range []string{"/admin/devices", "/admin/devices/x", "/admin/apps", "/admin/policies"} {
		if p := b.get(path); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/admin/login") {
			t.Errorf("GET %s without a session: %d to %q, want a redirect to the sign-in page", path, p.Status, p.Header.Get("Location"))
		}
	}
}

// addDevice registers a device for user and reports it in status.
func addDevice(t *testing.T, env *consoleEnv, userID, name, status string, progress int, derr *portal.DeviceError) portal.Device {
	t.Helper()
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	d := portal.Device{UserID: userID, Name: name, Platform: "linux-amd64", Status: "activating"}
	if err := env.Store.RegisterDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.ReportDevice(ctx, d.ID, status, progress, nil, derr); err != nil {
		t.Fatal(err)
	}
	return d
}

func addUser(t *testing.T, env *consoleEnv, username string) portal.User {
	t.Helper()
	u := portal.User{Username: username}
	if err := env.Store.CreateUser(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDevicesPageListsAndFiltersByStatus(t *testing.T) {
	env := newConsole(t)
	alice := addUser(t, env, "alice")
	addDevice(t, env, alice.ID, "laptop-installing", "installing", 40, nil)
	addDevice(t, env, alice.ID, "phone-synced", "synchronised", 100, nil)
	addDevice(t, env, alice.ID, "laptop-broken", "failed", 70, &portal.DeviceError{Code: portal.FailDigestMismatch, Message: "sha256 differs"})
	fix, _ := portal.Troubleshoot(portal.FailDigestMismatch)

	b := env.browser()
	b.signIn("help")
	b.get("/admin/devices").want(t, http.StatusOK).
		wantText(t, "3 devices; showing 1–3", "laptop-installing", "phone-synced", "laptop-broken", "alice", "linux-amd64",
			"Installing", "Synchronised", `<progress id="progress-`, `max="100" value="40"`, "40 %", "Progress of laptop-installing",
			"just now", "sha256 differs", fix.Title, fix.Fix, `<select id="f-status" name="status">`, `value="" selected`)
	b.get("/admin/devices?status=installing").want(t, http.StatusOK).
		wantText(t, "1 device with status Installing", "laptop-installing", `value="installing" selected`, "Show all").
		wantNoText(t, "phone-synced", "laptop-broken", fix.Fix)
	b.get("/admin/devices?status=failed").want(t, http.StatusOK).
		wantText(t, "laptop-broken", fix.Fix).wantNoText(t, "laptop-installing", "phone-synced")
	b.get("/admin/devices?status=bogus").want(t, http.StatusUnprocessableEntity).
		wantText(t, "There is no device status “bogus”", `aria-invalid="true"`, "laptop-installing", "phone-synced")
}

func TestDevicesPagingKeepsTheStatusFilter(t *testing.T) {
	env := newConsole(t)
	alice := addUser(t, env, "alice")
	for i := range 22 {
		addDevice(t, env, alice.ID, "dev-"+string(rune('a'+i)), "installing", i, nil)
	}
	addDevice(t, env, alice.ID, "other", "synchronised", 100, nil)
	b := env.browser()
	b.signIn("root")
	b.get("/admin/devices?status=installing").want(t, http.StatusOK).
		wantText(t, "22 devices with status Installing; showing 1–20", "Page 1 of 2", `href="/admin/devices?offset=20&amp;status=installing"`)
	b.get("/admin/devices?status=installing&offset=20").want(t, http.StatusOK).
		wantText(t, "showing 21–22", "Previous").wantNoText(t, "other")
}

func TestDevicePageShowsTimelineAndFix(t *testing.T) {
	env := newConsole(t)
	ctx := context.Background()
	alice := addUser(t, env, "alice")
	d := addDevice(t, env, alice.ID, "phone-2", "it_policy_rejected", 30, &portal.DeviceError{Code: portal.FailITPolicyRejected, Message: "min_os_version 14 not met"})
	for _, ev := range [][2]string{{"activating", "activation_requested"}, {"verifying_encryption", "key_confirmed"}, {"waiting_for_services", "policy_rejected"}} {
		if err := env.Store.AddDeviceEvent(ctx, d.ID, ev[0], ev[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	fix, _ := portal.Troubleshoot(portal.FailITPolicyRejected)
	b := env.browser()
	b.signIn("help")
	b.get("/admin/devices").want(t, http.StatusOK).wantText(t, `href="/admin/devices/`+d.ID+`"`)
	p := b.get("/admin/devices/"+d.ID).want(t, http.StatusOK).
		wantText(t, "<h1>phone-2</h1>", "alice", "linux-amd64", "IT policy rejected", `value="30"`,
			"Timeline", "activation_requested", "key_confirmed", "policy_rejected", "Verifying encryption", "Waiting for services",
			time.Now().UTC().Format("2006-01-02"), " UTC",
			"min_os_version 14 not met", fix.Title, fix.Cause, fix.Fix, `aria-current="page">Devices`)
	// Oldest first.
	if i, j := strings.Index(p.Body, ">activation_requested<"), strings.Index(p.Body, ">policy_rejected<"); i < 0 || i > j {
		t.Errorf("the timeline is not oldest first")
	}

	// A device with no events and no error says what to do.
	ok := addDevice(t, env, alice.ID, "laptop", "installing", 10, nil)
	b.get("/admin/devices/"+ok.ID).want(t, http.StatusOK).
		wantText(t, "No events yet.").wantNoText(t, "Stopped by an error", "Fix:")
}

func TestAppsPageShowsArtifacts(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	app := portal.App{Name: "Mail", Version: "2.4.1", Description: "The mail client"}
	if err := env.Store.CreateApp(ctx, &app); err != nil {
		t.Fatal(err)
	}
	sha := strings.Repeat("ab12", 16)
	if _, err := env.Store.PutArtifact(ctx, app.ID, portal.Artifact{Platform: "linux-amd64", SHA256: sha, Size: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	bare := portal.App{Name: "Notes", Version: "1.0"}
	if err := env.Store.CreateApp(ctx, &bare); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.signIn("help")
	b.get("/admin/apps").want(t, http.StatusOK).
		wantText(t, "2 apps; showing 1–2", "Mail", "2.4.1", "The mail client", "linux-amd64", "5.0 MiB", `<code class="sha">`+sha+`</code>`,
			"Notes", "PUT /api/v1/apps/"+bare.ID+"/artifacts/{platform}").
		wantNoText(t, "No apps yet")
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 200 << 20: "200 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPoliciesPageShowsRules(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	rules, err := portal.DecodeRules([]byte(`{"password_required": true, "password_min_length": 8, "min_os_version": "14.2"}`))
	if err != nil {
		t.Fatal(err)
	}
	pol := portal.Policy{Name: "Strict", Description: "For phones that leave the building", Rules: rules}
	if err := env.Store.CreatePolicy(ctx, &pol); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.signIn("help")
	p := b.get("/admin/policies").want(t, http.StatusOK).
		wantText(t, "1 policy; showing 1–1", "Strict", "For phones that leave the building",
			"<code>password_required</code> = <code>true</code>", "<code>password_min_length</code> = <code>8</code>",
			"<code>min_os_version</code> = <code>14.2</code>").
		wantNoText(t, "No policies yet")
	// Rules are in name order.
	if i, j := strings.Index(p.Body, "min_os_version"), strings.Index(p.Body, "password_required"); i > j {
		t.Errorf("rules are not sorted by name")
	}
}
