package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provportal/portal"
)

// assignmentFixture is one app, one policy, one group and one user to assign.
type assignmentFixture struct {
	App    portal.App
	Policy portal.Policy
	Group  portal.Group
	User   portal.User
}

func newAssignmentFixture(t *testing.T, env *consoleEnv) assignmentFixture {
	t.Helper()
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	f := assignmentFixture{
		App:   portal.App{Name: "Mail", Version: "2.1"},
		Group: portal.Group{Name: "Sales"},
	}
	if err := env.Store.CreateApp(ctx, &f.App); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateGroup(ctx, &f.Group); err != nil {
		t.Fatal(err)
	}
	f.Policy = env.addPolicy("Strict", `{"camera_disabled": true}`)
	f.User = addUser(t, env, "alice")
	return f
}

func (e *consoleEnv) assignments() []portal.Assignment {
	e.t.Helper()
	page, err := e.Store.Assignments(context.Background(), portal.AssignmentFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

func TestAssignAnAppToAGroupAndRemoveIt(t *testing.T) {
	env := newConsole(t)
	fx := newAssignmentFixture(t, env)
	b := env.browser()
	b.signIn("root")
	b.get("/admin/assignments").want(t, http.StatusOK).
		wantText(t, `aria-current="page">Assignments`, "Nothing is assigned yet.", `href="/admin/assignments/new"`)

	form := b.get("/admin/assignments/new").want(t, http.StatusOK).
		wantText(t, `<label for="f-what">`, `<label for="f-group_id">`, `<label for="f-username">`,
			`<option value="app:`+fx.App.ID+`">Mail 2.1</option>`, `<option value="policy:`+fx.Policy.ID+`">Strict</option>`,
			`<option value="`+fx.Group.ID+`">Sales</option>`)
	b.post("/admin/assignments", url.Values{"csrf_token": {form.csrf(t)}, "what": {"app:" + fx.App.ID}, "group_id": {fx.Group.ID}, "username": {""}}).
		wantRedirect(t, "/admin/assignments")

	got := env.assignments()
	if len(got) != 1 || got[0].AppID != fx.App.ID || got[0].GroupID != fx.Group.ID || got[0].PolicyID != "" || got[0].UserID != "" {
		t.Fatalf("stored %+v, want Mail assigned to Sales alone", got)
	}
	id := got[0].ID
	list := b.get("/admin/assignments").want(t, http.StatusOK).
		wantText(t, "The app Mail 2.1 now reaches the group Sales.", "1 assignment;",
			`<span class="tag">App</span>`, "Mail 2.1</a>", `<span class="tag">Group</span>`, "Sales</a>",
			`href="/admin/assignments/`+id+`/delete"`).
		wantNoText(t, "Nothing is assigned yet.")
	if strings.Contains(list.Body, fx.App.ID+"</a>") || strings.Contains(list.Body, fx.Group.ID+"</a>") {
		t.Error("the table shows IDs where it should show names")
	}

	confirm := b.get("/admin/assignments/"+id+"/delete").want(t, http.StatusOK).
		wantText(t, "Remove the app Mail 2.1 from the group Sales?", "Members of Sales no longer get Mail 2.1")
	b.post("/admin/assignments/"+id+"/delete", url.Values{"csrf_token": {confirm.csrf(t)}}).wantRedirect(t, "/admin/assignments")
	if n := len(env.assignments()); n != 0 {
		t.Errorf("%d assignments after the removal, want 0", n)
	}
	b.get("/admin/assignments").want(t, http.StatusOK).
		wantText(t, "The app Mail 2.1 no longer reaches the group Sales.", "Nothing is assigned yet.")
}

func TestAssignAPolicyToAUserByUsername(t *testing.T) {
	env := newConsole(t)
	fx := newAssignmentFixture(t, env)
	b := env.browser()
	csrf := b.signIn("root")
	b.post("/admin/assignments", url.Values{"csrf_token": {csrf}, "what": {"policy:" + fx.Policy.ID}, "username": {" Alice "}}).
		wantRedirect(t, "/admin/assignments")
	got := env.assignments()
	if len(got) != 1 || got[0].PolicyID != fx.Policy.ID || got[0].UserID != fx.User.ID || got[0].GroupID != "" {
		t.Fatalf("stored %+v, want Strict assigned to alice alone", got)
	}
	b.get("/admin/assignments").want(t, http.StatusOK).
		wantText(t, "The policy Strict now reaches the user alice.", `<span class="tag">Policy</span>`, `<span class="tag">User</span>`, "alice</a>")
}

func TestAssignFormShowsRefusalsBesideTheirInputs(t *testing.T) {
	env := newConsole(t)
	fx := newAssignmentFixture(t, env)
	tests := []struct {
		name                  string
		what, group, username string
		input, message        string // the input the message sits beside
		kept                  bool   // what is among the choices and stays chosen
	}{
		{"nothing_chosen", "", fx.Group.ID, "", "f-what", "Give exactly one of app_id and policy_id.", false},
		{"no_target", "app:" + fx.App.ID, "", "", "f-group_id", "Give exactly one of group_id and user_id.", true},
		{"group_and_user", "policy:" + fx.Policy.ID, fx.Group.ID, "alice", "f-group_id", "Give exactly one of group_id and user_id.", true},
		{"unknown_user", "app:" + fx.App.ID, "", "nobody", "f-username", "No user is called “nobody”", true},
		{"unknown_app", "app:gone", fx.Group.ID, "", "f-what", "Gone does not exist.", false},
	}
	b := env.browser()
	csrf := b.signIn("root")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/admin/assignments", url.Values{"csrf_token": {csrf}, "what": {tt.what}, "group_id": {tt.group}, "username": {tt.username}}).
				want(t, http.StatusUnprocessableEntity).
				wantText(t, tt.message, `id="`+tt.input+`-error"`, `href="#`+tt.input+`"`, `value="`+tt.username+`"`)
			if tt.kept && !strings.Contains(p.Body, `value="`+tt.what+`" selected`) {
				t.Errorf("the chosen %q is not kept", tt.what)
			}
			if tt.group != "" && !strings.Contains(p.Body, `value="`+tt.group+`" selected`) {
				t.Errorf("the chosen group is not kept")
			}
			if n := len(env.assignments()); n != 0 {
				t.Errorf("%d assignments after a refused form, want 0", n)
			}
		})
	}

	t.Run("already_assigned", func(t *testing.T) {
		form := url.Values{"csrf_token": {csrf}, "what": {"app:" + fx.App.ID}, "group_id": {fx.Group.ID}}
		b.post("/admin/assignments", form).wantRedirect(t, "/admin/assignments")
		b.post("/admin/assignments", form).want(t, http.StatusUnprocessableEntity).
			wantText(t, "This assignment already exists.", `class="problems"`)
		if n := len(env.assignments()); n != 1 {
			t.Errorf("%d assignments, want 1", n)
		}
	})
}

func TestAssignmentsFilterByWhatTheyAssign(t *testing.T) {
	env := newConsole(t)
	fx := newAssignmentFixture(t, env)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	for _, a := range []portal.Assignment{{AppID: fx.App.ID, GroupID: fx.Group.ID}, {PolicyID: fx.Policy.ID, UserID: fx.User.ID}} {
		if err := env.Store.CreateAssignment(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	b := env.browser()
	b.signIn("root")
	b.get("/admin/assignments").want(t, http.StatusOK).wantText(t, "2 assignments;", "Mail 2.1", "Strict")
	b.get("/admin/assignments?policy_id="+fx.Policy.ID).want(t, http.StatusOK).
		wantText(t, "Showing the assignments of the policy Strict.", "1 assignment;", "alice</a>",
			`href="/admin/assignments/new?policy_id=`+fx.Policy.ID+`"`).
		wantNoText(t, "Mail 2.1")
	b.get("/admin/assignments/new?policy_id="+fx.Policy.ID).want(t, http.StatusOK).
		wantText(t, `<option value="policy:`+fx.Policy.ID+`" selected>Strict</option>`)
	b.get("/admin/assignments?group_id=nope").want(t, http.StatusOK).wantText(t, "Nothing is assigned here yet.")
}

func TestAssignmentsAreReadOnlyForTheHelpdesk(t *testing.T) {
	env := newConsole(t)
	fx := newAssignmentFixture(t, env)
	a := portal.Assignment{AppID: fx.App.ID, GroupID: fx.Group.ID}
	if err := env.Store.CreateAssignment(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &a); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	csrf := b.signIn("help")
	b.get("/admin/assignments").want(t, http.StatusOK).
		wantText(t, "Mail 2.1", "Sales").
		wantNoText(t, "Assign an app or a policy", "/admin/assignments/new", "/delete", "Remove")
	b.get("/admin/assignments/new").want(t, http.StatusForbidden)
	b.get("/admin/assignments/"+a.ID+"/delete").want(t, http.StatusForbidden)
	b.post("/admin/assignments", url.Values{"csrf_token": {csrf}, "what": {"policy:" + fx.Policy.ID}, "group_id": {fx.Group.ID}}).
		want(t, http.StatusForbidden)
	b.post("/admin/assignments/"+a.ID+"/delete", url.Values{"csrf_token": {csrf}}).want(t, http.StatusForbidden)
	if got := env.assignments(); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("after the helpdesk's refused changes the store holds %+v, want the one assignment", got)
	}
}
