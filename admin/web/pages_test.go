package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"provportal/portal"
)

func TestDashboardEmptyStatesSayWhatToDo(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.signIn("root")
	b.get("/admin").want(t, http.StatusOK).
		wantText(t, "No devices yet.", "No provisioning messages yet.", "No device failures.", `href="/admin/users"`).
		wantNoText(t, "<svg")
	b.get("/admin/users").want(t, http.StatusOK).wantText(t, "No users yet.", `href="/admin/users/new"`)
	b.get("/admin/groups").want(t, http.StatusOK).wantText(t, "No groups yet.", `href="/admin/groups/new"`)
	b.get("/admin/users/new").want(t, http.StatusOK).wantText(t, "No groups yet.", "Create a group")
}

func TestDashboardCountsDevicesAndShowsFixes(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	u := portal.User{Username: "alice"}
	if err := env.Store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	report := func(name, status string, derr *portal.DeviceError) {
		d := portal.Device{UserID: u.ID, Name: name, Platform: "linux-amd64", Status: "installing"}
		if err := env.Store.RegisterDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
		if err := env.Store.ReportDevice(ctx, d.ID, status, 0, nil, derr); err != nil {
			t.Fatal(err)
		}
	}
	report("laptop-1", "installing", nil)
	report("laptop-2", "installing", nil)
	report("phone-1", "activation_complete", nil)
	report("laptop-3", "failed", &portal.DeviceError{Code: portal.FailDigestMismatch, Message: "sha256 differs"})
	report("phone-2", "it_policy_rejected", &portal.DeviceError{Code: portal.FailITPolicyRejected, Message: "min_os_version"})

	b := env.browser()
	b.signIn("root")
	p := b.get("/admin").want(t, http.StatusOK)
	fix1, _ := portal.Troubleshoot(portal.FailDigestMismatch)
	fix2, _ := portal.Troubleshoot(portal.FailITPolicyRejected)
	p.wantText(t, "<svg", "5 devices", "Installing: 2", "Activation complete: 1", "Failed: 1", "IT policy rejected: 1", "Synchronised: 0",
		"laptop-3", "phone-2", "of alice", "sha256 differs", fix1.Title, fix1.Fix, fix2.Title, fix2.Fix)
}

func TestUserFormShowsTheAPIsMessagesAndKeepsWhatWasTyped(t *testing.T) {
	env := newConsole(t)
	ctx := context.Background()
	g := portal.Group{Name: "Sales"}
	if err := env.Store.CreateGroup(portal.WithActor(ctx, portal.Actor{Username: "test"}), &g); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	tok := b.signIn("root")
	form := url.Values{"csrf_token": {tok}, "username": {"alice"}, "display_name": {"Alice Liddell"},
		"email": {"not-an-email"}, "phone": {"not a phone"}, "password": {"s3cret-pass"}, "groups": {g.ID}}
	p := b.post("/admin/users", form).want(t, http.StatusUnprocessableEntity)
	p.wantText(t,
		"Must be a plain e-mail address such as alice@example.com", // the API's message for email
		"is not a phone number; write it with its country code",
		`aria-invalid="true"`, `id="f-email-error"`, `href="#f-email"`,
		`value="alice"`, `value="Alice Liddell"`, `value="not-an-email"`, `value="`+g.ID+`" checked`,
		"type it again").
		wantNoText(t, "s3cret-pass")
	if page, _ := env.Store.Users(ctx, portal.ListOptions{}); page.Total != 0 {
		t.Fatalf("%d users after a refused form, want 0", page.Total)
	}

	form.Set("email", "alice@example.com")
	form.Set("phone", "(415) 555-0132")
	b.post("/admin/users", form).wantRedirect(t, "/admin/users?name=alice")
	b.get("/admin/users?name=alice").want(t, http.StatusOK).wantText(t, "User alice was added.", "alice@example.com", "+14155550132", "Sales")

	page, err := env.Store.Users(ctx, portal.ListOptions{})
	if err != nil || page.Total != 1 {
		t.Fatalf("users: %+v, %v", page, err)
	}
	u := page.Items[0]
	if !u.HasPassword || u.Phone != "+14155550132" || len(u.Groups) != 1 || u.Groups[0] != g.ID {
		t.Errorf("stored user %+v, want a password, the E.164 phone and group Sales", u)
	}
	// The audit log names the administrator, as for the API.
	wantAudit(t, env, "user", u.ID, "create", "root")

	// A second alice is refused by the store, beside the username.
	form.Set("email", "other@example.com")
	b.post("/admin/users", form).want(t, http.StatusUnprocessableEntity).wantText(t, "A user named alice already exists", `id="f-username-error"`)

	// Editing: an empty password keeps the old one; groups can be emptied.
	b.get("/admin/users/"+u.ID+"/edit").want(t, http.StatusOK).wantText(t, `value="alice@example.com"`, `value="`+g.ID+`" checked`)
	b.post("/admin/users/"+u.ID, url.Values{"csrf_token": {tok}, "username": {"alice"}, "email": {"alice@example.org"},
		"display_name": {"Alice"}, "phone": {"+14155550132"}}).wantRedirect(t, "/admin/users?name=alice")
	got, err := env.Store.User(ctx, u.ID)
	if err != nil || got.Email != "alice@example.org" || !got.HasPassword || len(got.Groups) != 0 {
		t.Errorf("after edit: %+v, %v", got, err)
	}
	wantAudit(t, env, "user", u.ID, "update", "root")

	b.get("/admin/users/"+u.ID+"/delete").want(t, http.StatusOK).wantText(t, "Delete the user alice?", "cannot be undone")
	b.post("/admin/users/"+u.ID+"/delete", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/users")
	if _, err := env.Store.User(ctx, u.ID); !portal.IsNotFound(err) {
		t.Errorf("after delete: %v, want not found", err)
	}
	wantAudit(t, env, "user", u.ID, "delete", "root")
	b.get("/admin/users/"+u.ID+"/edit").want(t, http.StatusNotFound).wantText(t, "Not found")
}

func TestGroupsCreateEditDelete(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")

	b.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"  "}, "description": {"Field team"}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, "Is required", `id="f-name-error"`, "Field team")
	b.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"Sales"}, "description": {"Field team"}}).
		wantRedirect(t, "/admin/groups")
	b.get("/admin/groups").want(t, http.StatusOK).wantText(t, "Group Sales was added.", "Field team")
	b.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"Sales"}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, "already exists")

	page, _ := env.Store.Groups(context.Background(), portal.ListOptions{})
	g := page.Items[0]
	wantAudit(t, env, "group", g.ID, "create", "root")
	b.post("/admin/groups/"+g.ID, url.Values{"csrf_token": {tok}, "name": {"Sales EMEA"}, "description": {""}}).
		wantRedirect(t, "/admin/groups")
	b.get("/admin/groups?name=emea").want(t, http.StatusOK).wantText(t, "Sales EMEA", "1 group matches")
	b.get("/admin/groups/"+g.ID+"/delete").want(t, http.StatusOK).wantText(t, "Delete the group Sales EMEA?")
	b.post("/admin/groups/"+g.ID+"/delete", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/groups")
	if n := env.countGroups(); n != 0 {
		t.Errorf("%d groups after delete, want 0", n)
	}
	wantAudit(t, env, "group", g.ID, "delete", "root")
}

func TestUsersSearchAndPaging(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	for i := range 25 {
		u := portal.User{Username: fmt.Sprintf("user%02d", i)}
		if err := env.Store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	b := env.browser()
	b.signIn("root")
	b.get("/admin/users").want(t, http.StatusOK).wantText(t, "25 users; showing 1–20", "user19", "Page 1 of 2", `href="/admin/users?offset=20"`).
		wantNoText(t, "user20")
	b.get("/admin/users?offset=20").want(t, http.StatusOK).wantText(t, "showing 21–25", "user24", "Previous")
	b.get("/admin/users?name=USER1").want(t, http.StatusOK).wantText(t, "10 users match", "user10", "user19").wantNoText(t, "user20")
	b.get("/admin/users?name=nobody").want(t, http.StatusOK).wantText(t, "No user’s username contains")
	b.get("/admin/users?offset=-1").want(t, http.StatusUnprocessableEntity).wantText(t, "Must be a whole number")
}

// wantAudit checks the newest audit entry for an object.
func wantAudit(t *testing.T, env *consoleEnv, kind, id, action, actor string) {
	t.Helper()
	page, err := env.Store.Audit(context.Background(), portal.AuditFilter{Kind: kind, ObjectID: id})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("audit for %s %s: %+v, %v", kind, id, page, err)
	}
	e := page.Items[0]
	if e.Action != action || e.Actor != actor || e.ActorID == "" {
		t.Errorf("newest audit entry for %s %s: %s by %q (%s), want %s by %q", kind, id, e.Action, e.Actor, e.ActorID, action, actor)
	}
}
