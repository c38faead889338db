package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/portal"
)

// storeCase is one test of the suite; it gets a fresh, migrated, empty store.
type storeCase struct {
	name string
	fn   func(t *testing.T, s portal.Store)
}

// Run runs the whole suite against the backend that open makes. open is
// called once per test for a fresh, migrated, empty store, which the backend
// closes in t.Cleanup; tests run in parallel.
func Run(t *testing.T, open func(t *testing.T) portal.Store) {
	groups := []struct {
		name  string
		cases []storeCase
	}{
		{"Admins", adminCases},
		{"Users", userCases},
		{"Groups", groupCases},
		{"Apps", appCases},
		{"Policies", policyCases},
		{"Assignments", assignmentCases},
		{"Devices", deviceCases},
		{"Audit", auditCases},
		{"LoginThrottle", throttleCases},
		{"Secrets", secretCases},
		{"Basics", basicCases},
		{"Activation", activationCases},
		{"MigrationPackages", migrationCases},
		{"Collaboration", collaborationCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, open(t))
				})
			}
		})
	}
}

// ---------------------------------------------------------------- helpers

// wantErr checks that err is a *portal.Error with code and, if a field is
// given, that it names that field.
func wantErr(t *testing.T, what string, err error, code portal.Code, field ...string) {
	t.Helper()
	var pe *portal.Error
	switch {
	case err == nil:
		t.Errorf("%s: got no error, want %s", what, code)
	case !errors.As(err, &pe):
		t.Errorf("%s: got error %v (%T), want a *portal.Error with code %s", what, err, err, code)
	case pe.Code != code:
		t.Errorf("%s: got code %s (%v), want %s", what, pe.Code, err, code)
	case len(field) > 0 && pe.Field != field[0]:
		t.Errorf("%s: got field %q (%v), want %q", what, pe.Field, err, field[0])
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustAdmin(t *testing.T, s portal.Store, username string, role portal.Role) *portal.Admin {
	t.Helper()
	a := &portal.Admin{Username: username, Role: role, PasswordHash: "$argon2id$" + username}
	must(t, "CreateAdmin "+username, s.CreateAdmin(t.Context(), a))
	return a
}

func mustGroup(t *testing.T, s portal.Store, name string) *portal.Group {
	t.Helper()
	g := &portal.Group{Name: name, Description: "the " + name}
	must(t, "CreateGroup "+name, s.CreateGroup(t.Context(), g))
	return g
}

func mustUser(t *testing.T, s portal.Store, username string, groups ...string) *portal.User {
	t.Helper()
	u := &portal.User{Username: username, DisplayName: "Display " + username, Groups: groups}
	must(t, "CreateUser "+username, s.CreateUser(t.Context(), u))
	return u
}

func mustApp(t *testing.T, s portal.Store, name string) *portal.App {
	t.Helper()
	a := &portal.App{Name: name, Version: "1.0", Description: "the " + name + " app"}
	must(t, "CreateApp "+name, s.CreateApp(t.Context(), a))
	return a
}

func mustPolicy(t *testing.T, s portal.Store, name string, rules portal.Rules) *portal.Policy {
	t.Helper()
	p := &portal.Policy{Name: name, Description: "the " + name + " policy", Rules: rules}
	must(t, "CreatePolicy "+name, s.CreatePolicy(t.Context(), p))
	return p
}

func mustAssign(t *testing.T, s portal.Store, a portal.Assignment) *portal.Assignment {
	t.Helper()
	must(t, fmt.Sprintf("CreateAssignment %+v", a), s.CreateAssignment(t.Context(), &a))
	return &a
}

func mustDevice(t *testing.T, s portal.Store, userID, name, status string) *portal.Device {
	t.Helper()
	d := &portal.Device{UserID: userID, Name: name, Platform: "linux-amd64", Status: status}
	must(t, "CreateDevice "+name, s.CreateDevice(t.Context(), d))
	return d
}

func mapItems[T, R any](items []T, f func(T) R) []R {
	out := make([]R, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// inUTC returns a copy of v with every time in it converted to UTC, so that
// values read back can be compared with reflect.DeepEqual whatever location
// the driver reads times in (whether it should is tested separately).
func inUTC[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	setUTC(rv)
	return v
}

var timeType = reflect.TypeFor[time.Time]()

func setUTC(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				setUTC(v.Field(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() && v.CanSet() {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			setUTC(c.Elem())
			v.Set(c)
		}
	case reflect.Slice:
		if !v.IsNil() && v.CanSet() {
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			for i := range c.Len() {
				setUTC(c.Index(i))
			}
			v.Set(c)
		}
	}
}

func checkSame[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if g, w := inUTC(got), inUTC(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// ----------------------------------------------------------------- admins

var adminCases = []storeCase{
	{"create then get by ID and by username in any case", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a := &portal.Admin{Username: "Alice", Role: portal.RoleAdmin, PasswordHash: "$argon2id$alice"}
		must(t, "CreateAdmin", s.CreateAdmin(ctx, a))
		if a.ID == "" || a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
			t.Errorf("CreateAdmin left ID or times unset: %+v", a)
		}
		if got, want := a.Username, "Alice"; got != want {
			t.Errorf("username: got %q, want %q (kept as given)", got, want)
		}
		got, err := s.Admin(ctx, a.ID)
		must(t, "Admin", err)
		checkSame(t, "Admin(id)", *got, *a)
		for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
			got, err := s.AdminByUsername(ctx, name)
			if err != nil {
				t.Errorf("AdminByUsername(%q): %v", name, err)
				continue
			}
			checkSame(t, "AdminByUsername("+name+")", *got, *a)
		}
		_, err = s.AdminByUsername(ctx, "alic")
		wantErr(t, "AdminByUsername of a prefix", err, portal.CodeNotFound)
		_, err = s.Admin(ctx, "no-such-admin")
		wantErr(t, "Admin of an unknown ID", err, portal.CodeNotFound)
	}},
	{"duplicate username in any case is a conflict", func(t *testing.T, s portal.Store) {
		mustAdmin(t, s, "Alice", portal.RoleAdmin)
		for _, name := range []string{"Alice", "alice", "ALICE"} {
			err := s.CreateAdmin(t.Context(), &portal.Admin{Username: name, Role: portal.RoleHelpdesk, PasswordHash: "x"})
			wantErr(t, "CreateAdmin "+name, err, portal.CodeConflict)
		}
		n, err := s.CountAdmins(t.Context())
		must(t, "CountAdmins", err)
		if got, want := n, 1; got != want {
			t.Errorf("CountAdmins: got %d, want %d", got, want)
		}
	}},
	{"list filters by name ignoring case and counts", func(t *testing.T, s portal.Store) {
		for _, n := range []string{"carol", "Bob", "alicia", "alice"} {
			mustAdmin(t, s, n, portal.RoleHelpdesk)
		}
		n, err := s.CountAdmins(t.Context())
		must(t, "CountAdmins", err)
		if got, want := n, 4; got != want {
			t.Errorf("CountAdmins: got %d, want %d", got, want)
		}
		tests := []struct {
			name      string
			opt       portal.ListOptions
			want      []string
			wantTotal int
		}{
			{"no filter lists all by username", portal.ListOptions{}, []string{"alice", "alicia", "Bob", "carol"}, 4},
			{"upper-case filter matches lower-case names", portal.ListOptions{Name: "ALI"}, []string{"alice", "alicia"}, 2},
			{"lower-case filter matches mixed-case name", portal.ListOptions{Name: "bo"}, []string{"Bob"}, 1},
			{"filter matching nothing", portal.ListOptions{Name: "zed"}, []string{}, 0},
			{"second page", portal.ListOptions{Limit: 2, Offset: 2}, []string{"Bob", "carol"}, 4},
			{"filtered page", portal.ListOptions{Name: "A", Limit: 1, Offset: 1}, []string{"alicia"}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.Admins(t.Context(), tt.opt)
				must(t, "Admins", err)
				if got := mapItems(p.Items, func(a portal.Admin) string { return a.Username }); !slices.Equal(got, tt.want) {
					t.Errorf("usernames: got %q, want %q", got, tt.want)
				}
				if got, want := p.Total, tt.wantTotal; got != want {
					t.Errorf("total: got %d, want %d", got, want)
				}
			})
		}
	}},
	{"last admin-role admin cannot be deleted but a helpdesk can", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		root := mustAdmin(t, s, "root", portal.RoleAdmin)
		desk := mustAdmin(t, s, "desk", portal.RoleHelpdesk)

		wantErr(t, "DeleteAdmin of the only admin", s.DeleteAdmin(ctx, root.ID), portal.CodeConflict)
		if _, err := s.Admin(ctx, root.ID); err != nil {
			t.Errorf("the refused admin is gone: %v", err)
		}
		must(t, "DeleteAdmin helpdesk", s.DeleteAdmin(ctx, desk.ID))
		_, err := s.Admin(ctx, desk.ID)
		wantErr(t, "Admin after delete", err, portal.CodeNotFound)
		wantErr(t, "DeleteAdmin twice", s.DeleteAdmin(ctx, desk.ID), portal.CodeNotFound)

		second := mustAdmin(t, s, "second", portal.RoleAdmin)
		must(t, "DeleteAdmin of one of two admins", s.DeleteAdmin(ctx, root.ID))
		wantErr(t, "DeleteAdmin of the remaining admin", s.DeleteAdmin(ctx, second.ID), portal.CodeConflict)
		n, err := s.CountAdmins(ctx)
		must(t, "CountAdmins", err)
		if got, want := n, 1; got != want {
			t.Errorf("CountAdmins: got %d, want %d", got, want)
		}
	}},
	{"concurrent deletes of the two admins leave one", func(t *testing.T, s portal.Store) {
		// Each of two concurrent deletions sees two admins and goes ahead
		// unless the store serialises them.
		ctx := t.Context()
		keep := mustAdmin(t, s, "keep", portal.RoleAdmin)
		for round := range 10 {
			other := mustAdmin(t, s, fmt.Sprint("other", round), portal.RoleAdmin)
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, 2)
			for i, id := range []string{keep.ID, other.ID} {
				wg.Go(func() {
					<-start
					errs[i] = s.DeleteAdmin(ctx, id)
				})
			}
			close(start)
			wg.Wait()
			p, err := s.Admins(ctx, portal.ListOptions{})
			must(t, "Admins", err)
			if got, want := p.Total, 1; got != want {
				t.Fatalf("round %d: admins left: got %d, want %d (delete errors %v)", round, got, want, errs)
			}
			keep = &p.Items[0]
			for _, err := range errs {
				if err != nil && portal.CodeOf(err) != portal.CodeConflict {
					t.Errorf("round %d: got error %v, want nil or %s", round, err, portal.CodeConflict)
				}
			}
		}
	}},
}

// ------------------------------------------------------------------ users

var userCases = []storeCase{
	{"create with groups then get", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g1, g2 := mustGroup(t, s, "staff"), mustGroup(t, s, "sales")
		u := &portal.User{Username: "Ann", Email: "ann@example.com", Phone: "+15551234567", DisplayName: "Ann A.",
			PasswordHash: "$argon2id$ann", Groups: []string{g2.ID, g1.ID, g2.ID}}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		if u.ID == "" || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
			t.Errorf("CreateUser left ID or times unset: %+v", u)
		}
		if got, want := u.Groups, sorted([]string{g1.ID, g2.ID}); !slices.Equal(got, want) {
			t.Errorf("groups: got %q, want %q (ordered, each once)", got, want)
		}
		if !u.HasPassword {
			t.Errorf("HasPassword: got false, want true for a user with a password hash")
		}
		got, err := s.User(ctx, u.ID)
		must(t, "User", err)
		checkSame(t, "User(id)", *got, *u)
		if got, want := got.PasswordHash, "$argon2id$ann"; got != want {
			t.Errorf("password hash: got %q, want %q", got, want)
		}
		for _, g := range []*portal.Group{g1, g2} {
			gg, err := s.Group(ctx, g.ID)
			must(t, "Group", err)
			if got, want := gg.Members, 1; got != want {
				t.Errorf("group %s members: got %d, want %d", g.Name, got, want)
			}
		}

		bare := mustUser(t, s, "bare")
		got, err = s.User(ctx, bare.ID)
		must(t, "User", err)
		if got.HasPassword || got.PasswordHash != "" {
			t.Errorf("user without password: got HasPassword %v, hash %q; want false, empty", got.HasPassword, got.PasswordHash)
		}
		if len(got.Groups) != 0 {
			t.Errorf("user without groups: got groups %q, want none", got.Groups)
		}
		_, err = s.User(ctx, "no-such-user")
		wantErr(t, "User of an unknown ID", err, portal.CodeNotFound)
	}},
	{"unknown group is invalid and writes nothing", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := mustGroup(t, s, "staff")
		err := s.CreateUser(ctx, &portal.User{Username: "ghost", Email: "ghost@example.com", Groups: []string{g.ID, "no-such-group"}})
		wantErr(t, "CreateUser with an unknown group", err, portal.CodeInvalid, "groups")

		p, err := s.Users(ctx, portal.ListOptions{})
		must(t, "Users", err)
		if got, want := p.Total, 0; got != want {
			t.Errorf("users after the refused create: got %d, want %d", got, want)
		}
		gg, err := s.Group(ctx, g.ID)
		must(t, "Group", err)
		if got, want := gg.Members, 0; got != want {
			t.Errorf("members of the existing group: got %d, want %d", got, want)
		}
		log, err := s.Audit(ctx, portal.AuditFilter{Kind: "user"})
		must(t, "Audit", err)
		if got, want := log.Total, 0; got != want {
			t.Errorf("user audit entries: got %d, want %d: %+v", got, want, log.Items)
		}
		// Nothing half-written blocks the name or e-mail address.
		ok := &portal.User{Username: "ghost", Email: "ghost@example.com", Groups: []string{g.ID}}
		must(t, "CreateUser after the refused one", s.CreateUser(ctx, ok))
	}},
	{"duplicate username or email is a conflict naming the field", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		ann := &portal.User{Username: "Ann", Email: "Ann@Example.com"}
		must(t, "CreateUser", s.CreateUser(ctx, ann))
		tests := []struct {
			name      string
			user      portal.User
			wantField string
		}{
			{"same username", portal.User{Username: "Ann"}, "username"},
			{"username in other case", portal.User{Username: "aNN", Email: "other@example.com"}, "username"},
			{"same email", portal.User{Username: "ann2", Email: "Ann@Example.com"}, "email"},
			{"email in other case", portal.User{Username: "ann3", Email: "ANN@EXAMPLE.COM"}, "email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := tt.user
				wantErr(t, "CreateUser", s.CreateUser(ctx, &u), portal.CodeConflict, tt.wantField)
			})
		}
		// Empty e-mail addresses do not clash with each other.
		mustUser(t, s, "noemail1")
		mustUser(t, s, "noemail2")
		p, err := s.Users(ctx, portal.ListOptions{})
		must(t, "Users", err)
		if got, want := p.Total, 3; got != want {
			t.Errorf("users: got %d, want %d", got, want)
		}
	}},
	{"update changes only the given fields", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g1, g2 := mustGroup(t, s, "staff"), mustGroup(t, s, "sales")
		u := &portal.User{Username: "ann", Email: "ann@example.com", Phone: "+15550001111", DisplayName: "Ann",
			PasswordHash: "$argon2id$old", Groups: []string{g1.ID}}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		str := func(s string) *string { return &s }
		groups := func(ids ...string) *[]string { return &ids }

		want := *u
		tests := []struct {
			name  string
			patch portal.UserPatch
			apply func(u *portal.User)
		}{
			{"display name only", portal.UserPatch{DisplayName: str("Ann B.")}, func(u *portal.User) { u.DisplayName = "Ann B." }},
			{"email and phone", portal.UserPatch{Email: str("ann.b@example.com"), Phone: str("+15552223333")},
				func(u *portal.User) { u.Email, u.Phone = "ann.b@example.com", "+15552223333" }},
			{"username to its own in other case", portal.UserPatch{Username: str("Ann")}, func(u *portal.User) { u.Username = "Ann" }},
			{"password hash", portal.UserPatch{PasswordHash: str("$argon2id$new")}, func(u *portal.User) { u.PasswordHash = "$argon2id$new" }},
			{"password cleared", portal.UserPatch{PasswordHash: str("")}, func(u *portal.User) { u.PasswordHash, u.HasPassword = "", false }},
			{"groups replaced", portal.UserPatch{Groups: groups(g2.ID, g1.ID)}, func(u *portal.User) { u.Groups = sorted([]string{g1.ID, g2.ID}) }},
			{"groups narrowed", portal.UserPatch{Groups: groups(g2.ID)}, func(u *portal.User) { u.Groups = []string{g2.ID} }},
			{"groups emptied", portal.UserPatch{Groups: groups()}, func(u *portal.User) { u.Groups = []string{} }},
			{"empty patch", portal.UserPatch{}, func(u *portal.User) {}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.apply(&want)
				got, err := s.UpdateUser(ctx, u.ID, tt.patch)
				must(t, "UpdateUser", err)
				if got.UpdatedAt.Before(want.UpdatedAt) {
					t.Errorf("updated at went back: got %v, want at least %v", got.UpdatedAt, want.UpdatedAt)
				}
				want.UpdatedAt = got.UpdatedAt
				checkSame(t, "UpdateUser result", *got, want)
				read, err := s.User(ctx, u.ID)
				must(t, "User", err)
				checkSame(t, "User after update", *read, want)
			})
		}
		for _, g := range []struct {
			g    *portal.Group
			want int
		}{{g1, 0}, {g2, 0}} {
			gg, err := s.Group(ctx, g.g.ID)
			must(t, "Group", err)
			if got := gg.Members; got != g.want {
				t.Errorf("group %s members: got %d, want %d", g.g.Name, got, g.want)
			}
		}
		_, err := s.UpdateUser(ctx, "no-such-user", portal.UserPatch{DisplayName: str("x")})
		wantErr(t, "UpdateUser of an unknown ID", err, portal.CodeNotFound)
	}},
	{"refused update changes nothing", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := mustGroup(t, s, "staff")
		must(t, "CreateUser", s.CreateUser(ctx, &portal.User{Username: "ann", Email: "ann@example.com"}))
		bob := &portal.User{Username: "bob", Email: "bob@example.com", DisplayName: "Bob", Groups: []string{g.ID}}
		must(t, "CreateUser", s.CreateUser(ctx, bob))
		str := func(s string) *string { return &s }
		tests := []struct {
			name  string
			patch portal.UserPatch
			code  portal.Code
			field string
		}{
			{"taken username", portal.UserPatch{Username: str("ANN"), DisplayName: str("Changed")}, portal.CodeConflict, "username"},
			{"taken email", portal.UserPatch{Email: str("Ann@Example.com"), DisplayName: str("Changed")}, portal.CodeConflict, "email"},
			{"unknown group", portal.UserPatch{DisplayName: str("Changed"), Groups: &[]string{"no-such-group"}}, portal.CodeInvalid, "groups"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.UpdateUser(ctx, bob.ID, tt.patch)
				wantErr(t, "UpdateUser", err, tt.code, tt.field)
				got, err := s.User(ctx, bob.ID)
				must(t, "User", err)
				checkSame(t, "user after the refused update", *got, *bob)
			})
		}
		log, err := s.Audit(ctx, portal.AuditFilter{Kind: "user", ObjectID: bob.ID})
		must(t, "Audit", err)
		if got, want := mapItems(log.Items, func(e portal.AuditEntry) string { return e.Action }), []string{"create"}; !slices.Equal(got, want) {
			t.Errorf("audit actions for the user: got %q, want %q", got, want)
		}
	}},
	{"delete removes memberships assignments and devices", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := mustGroup(t, s, "staff")
		app := mustApp(t, s, "mail")
		pol := mustPolicy(t, s, "strict", portal.Rules{"camera_disabled": true})
		u := mustUser(t, s, "ann", g.ID)
		other := mustUser(t, s, "bob", g.ID)
		a1 := mustAssign(t, s, portal.Assignment{AppID: app.ID, UserID: u.ID})
		a2 := mustAssign(t, s, portal.Assignment{PolicyID: pol.ID, UserID: u.ID})
		keptA := mustAssign(t, s, portal.Assignment{AppID: app.ID, UserID: other.ID})
		d := mustDevice(t, s, u.ID, "ann's phone", "active")
		keptD := mustDevice(t, s, other.ID, "bob's phone", "active")

		must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
		_, err := s.User(ctx, u.ID)
		wantErr(t, "User after delete", err, portal.CodeNotFound)
		wantErr(t, "DeleteUser twice", s.DeleteUser(ctx, u.ID), portal.CodeNotFound)

		gg, err := s.Group(ctx, g.ID)
		must(t, "Group", err)
		if got, want := gg.Members, 1; got != want {
			t.Errorf("group members: got %d, want %d", got, want)
		}
		for _, a := range []*portal.Assignment{a1, a2} {
			_, err := s.Assignment(ctx, a.ID)
			wantErr(t, "Assignment of the deleted user", err, portal.CodeNotFound)
		}
		as, err := s.Assignments(ctx, portal.AssignmentFilter{})
		must(t, "Assignments", err)
		if got, want := mapItems(as.Items, func(a portal.Assignment) string { return a.ID }), []string{keptA.ID}; !slices.Equal(got, want) {
			t.Errorf("assignments left: got %q, want %q", got, want)
		}
		_, err = s.Device(ctx, d.ID)
		wantErr(t, "Device of the deleted user", err, portal.CodeNotFound)
		ds, err := s.Devices(ctx, portal.DeviceFilter{})
		must(t, "Devices", err)
		if got, want := mapItems(ds.Items, func(d portal.Device) string { return d.ID }), []string{keptD.ID}; !slices.Equal(got, want) {
			t.Errorf("devices left: got %q, want %q", got, want)
		}
		if _, err := s.User(ctx, other.ID); err != nil {
			t.Errorf("the other user: %v", err)
		}
	}},
	{"list pages with default and maximum limits", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		var want []string // in list order: by lower-case username
		for i := range 55 {
			name := fmt.Sprintf("user%02d", i)
			if i%3 == 0 {
				name = fmt.Sprintf("User%02d", i)
			}
			must(t, "CreateUser", s.CreateUser(ctx, &portal.User{Username: name}))
			want = append(want, name)
		}
		tests := []struct {
			name                  string
			opt                   portal.ListOptions
			wantLimit, wantOffset int
			wantFrom, wantTo      int // want[wantFrom:wantTo]
		}{
			{"limit 0 means 50", portal.ListOptions{}, 50, 0, 0, 50},
			{"limit 10 offset 20", portal.ListOptions{Limit: 10, Offset: 20}, 10, 20, 20, 30},
			{"last partial page", portal.ListOptions{Limit: 10, Offset: 50}, 10, 50, 50, 55},
			{"offset past the end", portal.ListOptions{Limit: 10, Offset: 100}, 10, 100, 55, 55},
			{"limit above 500 is clamped", portal.ListOptions{Limit: 1000}, 500, 0, 0, 55},
			{"limit 500 is kept", portal.ListOptions{Limit: 500}, 500, 0, 0, 55},
			{"negative limit means 50", portal.ListOptions{Limit: -1}, 50, 0, 0, 50},
			{"negative offset means 0", portal.ListOptions{Limit: 5, Offset: -3}, 5, 0, 0, 5},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.Users(ctx, tt.opt)
				must(t, "Users", err)
				if got := mapItems(p.Items, func(u portal.User) string { return u.Username }); !slices.Equal(got, want[tt.wantFrom:tt.wantTo]) {
					t.Errorf("usernames: got %q, want %q", got, want[tt.wantFrom:tt.wantTo])
				}
				if p.Total != 55 || p.Limit != tt.wantLimit || p.Offset != tt.wantOffset {
					t.Errorf("total, limit, offset: got %d, %d, %d; want 55, %d, %d", p.Total, p.Limit, p.Offset, tt.wantLimit, tt.wantOffset)
				}
			})
		}
	}},
	{"name filter ignores case and takes % and _ literally", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := mustGroup(t, s, "staff")
		for _, n := range []string{"abc", "a_c", "a%c", "ABX", `a\c`, "zed_x"} {
			mustUser(t, s, n, g.ID)
		}
		tests := []struct {
			filter string
			want   []string
		}{
			{"", []string{"abc", "a_c", "a%c", "ABX", `a\c`, "zed_x"}},
			{"AB", []string{"abc", "ABX"}},
			{"abx", []string{"ABX"}},
			{"a_c", []string{"a_c"}},
			{"a%c", []string{"a%c"}},
			{"_", []string{"a_c", "zed_x"}},
			{"%", []string{"a%c"}},
			{`\`, []string{`a\c`}},
			{`a\c`, []string{`a\c`}},
			{"abcd", nil},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("filter %q", tt.filter), func(t *testing.T) {
				p, err := s.Users(ctx, portal.ListOptions{Name: tt.filter})
				must(t, "Users", err)
				got := mapItems(p.Items, func(u portal.User) string { return u.Username })
				if !slices.Equal(sorted(got), sorted(tt.want)) || p.Total != len(tt.want) {
					t.Errorf("got %q (total %d), want %q", got, p.Total, tt.want)
				}
				for _, u := range p.Items {
					if !slices.Equal(u.Groups, []string{g.ID}) {
						t.Errorf("%s in a list: got groups %q, want %q", u.Username, u.Groups, []string{g.ID})
					}
				}
			})
		}
	}},
	{"concurrent creates of one username let exactly one win", func(t *testing.T, s portal.Store) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				name := []string{"same", "Same", "SAME", "sAmE"}[i%4]
				errs[i] = s.CreateUser(t.Context(), &portal.User{Username: name})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case portal.CodeOf(err) != portal.CodeConflict:
				t.Errorf("losing create: got %v, want code %s", err, portal.CodeConflict)
			}
		}
		if won != 1 {
			t.Errorf("creates that succeeded: got %d, want 1 (errors %v)", won, errs)
		}
	}},
}

// ----------------------------------------------------------------- groups

var groupCases = []storeCase{
	{"create and get count members", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g := &portal.Group{Name: "Staff", Description: "everyone"}
		must(t, "CreateGroup", s.CreateGroup(ctx, g))
		if g.ID == "" || g.CreatedAt.IsZero() || g.Members != 0 {
			t.Errorf("CreateGroup: got %+v, want an ID, times and no members", g)
		}
		empty := mustGroup(t, s, "empty")
		mustUser(t, s, "ann", g.ID)
		mustUser(t, s, "bob", g.ID)
		mustUser(t, s, "cid")

		want := *g
		want.Members = 2
		got, err := s.Group(ctx, g.ID)
		must(t, "Group", err)
		checkSame(t, "Group(id)", *got, want)

		p, err := s.Groups(ctx, portal.ListOptions{})
		must(t, "Groups", err)
		checkSame(t, "Groups", p.Items, []portal.Group{*empty, want})
		if got, want := p.Total, 2; got != want {
			t.Errorf("total: got %d, want %d", got, want)
		}
		p, err = s.Groups(ctx, portal.ListOptions{Name: "STA"})
		must(t, "Groups filtered", err)
		checkSame(t, "Groups filtered", p.Items, []portal.Group{want})
		if got, want := p.Total, 1; got != want {
			t.Errorf("filtered total: got %d, want %d", got, want)
		}
		_, err = s.Group(ctx, "no-such-group")
		wantErr(t, "Group of an unknown ID", err, portal.CodeNotFound)
	}},
	{"duplicate name in any case is a conflict", func(t *testing.T, s portal.Store) {
		mustGroup(t, s, "Staff")
		for _, n := range []string{"Staff", "staff", "STAFF"} {
			wantErr(t, "CreateGroup "+n, s.CreateGroup(t.Context(), &portal.Group{Name: n}), portal.CodeConflict, "name")
		}
	}},
	{"update renames and refuses a taken name", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		staff := mustGroup(t, s, "staff")
		sales := mustGroup(t, s, "sales")
		mustUser(t, s, "ann", sales.ID)
		str := func(s string) *string { return &s }

		_, err := s.UpdateGroup(ctx, sales.ID, portal.GroupPatch{Name: str("STAFF"), Description: str("changed")})
		wantErr(t, "rename to a taken name", err, portal.CodeConflict, "name")
		got, err := s.Group(ctx, sales.ID)
		must(t, "Group", err)
		if got.Name != "sales" || got.Description != sales.Description {
			t.Errorf("after the refused rename: got %q %q, want %q %q", got.Name, got.Description, "sales", sales.Description)
		}

		upd, err := s.UpdateGroup(ctx, sales.ID, portal.GroupPatch{Description: str("sells things")})
		must(t, "UpdateGroup description", err)
		if upd.Name != "sales" || upd.Description != "sells things" || upd.Members != 1 {
			t.Errorf("after description update: got %+v, want name sales, new description, 1 member", upd)
		}
		upd, err = s.UpdateGroup(ctx, sales.ID, portal.GroupPatch{Name: str("Sales")})
		must(t, "UpdateGroup to own name in other case", err)
		if upd.Name != "Sales" || upd.Description != "sells things" {
			t.Errorf("after rename: got %q %q, want %q %q", upd.Name, upd.Description, "Sales", "sells things")
		}
		got, err = s.Group(ctx, sales.ID)
		must(t, "Group", err)
		checkSame(t, "Group after update", *got, *upd)
		if _, err := s.Group(ctx, staff.ID); err != nil {
			t.Errorf("the other group: %v", err)
		}
		_, err = s.UpdateGroup(ctx, "no-such-group", portal.GroupPatch{Name: str("x")})
		wantErr(t, "UpdateGroup of an unknown ID", err, portal.CodeNotFound)
	}},
	{"delete removes memberships and assignments", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		g, kept := mustGroup(t, s, "staff"), mustGroup(t, s, "sales")
		u := mustUser(t, s, "ann", g.ID, kept.ID)
		app := mustApp(t, s, "mail")
		pol := mustPolicy(t, s, "strict", nil)
		a1 := mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})
		a2 := mustAssign(t, s, portal.Assignment{PolicyID: pol.ID, GroupID: g.ID})
		keptA := mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: kept.ID})

		must(t, "DeleteGroup", s.DeleteGroup(ctx, g.ID))
		_, err := s.Group(ctx, g.ID)
		wantErr(t, "Group after delete", err, portal.CodeNotFound)
		wantErr(t, "DeleteGroup twice", s.DeleteGroup(ctx, g.ID), portal.CodeNotFound)
		got, err := s.User(ctx, u.ID)
		must(t, "User", err)
		if want := []string{kept.ID}; !slices.Equal(got.Groups, want) {
			t.Errorf("user's groups: got %q, want %q", got.Groups, want)
		}
		for _, a := range []*portal.Assignment{a1, a2} {
			_, err := s.Assignment(ctx, a.ID)
			wantErr(t, "Assignment of the deleted group", err, portal.CodeNotFound)
		}
		as, err := s.Assignments(ctx, portal.AssignmentFilter{})
		must(t, "Assignments", err)
		if got, want := mapItems(as.Items, func(a portal.Assignment) string { return a.ID }), []string{keptA.ID}; !slices.Equal(got, want) {
			t.Errorf("assignments left: got %q, want %q", got, want)
		}
	}},
}

// ------------------------------------------------------------------- apps

func artifactPlatforms(a *portal.App) []string {
	return mapItems(a.Artifacts, func(ar portal.Artifact) string { return string(ar.Platform) })
}

var appCases = []storeCase{
	{"create and get", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a := &portal.App{Name: "Mail", Version: "1.2.3", Description: "reads mail"}
		must(t, "CreateApp", s.CreateApp(ctx, a))
		if a.ID == "" || a.CreatedAt.IsZero() || len(a.Artifacts) != 0 {
			t.Errorf("CreateApp: got %+v, want an ID, times and no artifacts", a)
		}
		got, err := s.App(ctx, a.ID)
		must(t, "App", err)
		checkSame(t, "App(id)", *got, *a)
		wantErr(t, "CreateApp with a taken name", s.CreateApp(ctx, &portal.App{Name: "MAIL", Version: "1"}), portal.CodeConflict, "name")
		_, err = s.App(ctx, "no-such-app")
		wantErr(t, "App of an unknown ID", err, portal.CodeNotFound)
		mustApp(t, s, "Browser")
		p, err := s.Apps(ctx, portal.ListOptions{Name: "ai"})
		must(t, "Apps", err)
		if got, want := mapItems(p.Items, func(a portal.App) string { return a.Name }), []string{"Mail"}; !slices.Equal(got, want) || p.Total != 1 {
			t.Errorf("Apps filtered by %q: got %q (total %d), want %q", "ai", got, p.Total, want)
		}
	}},
	{"put artifact adds and replaces per platform", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a := mustApp(t, s, "mail")
		steps := []struct {
			name string
			art  portal.Artifact
			want []portal.Artifact // ignoring UploadedAt
		}{
			{"first platform", portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 3 << 30, Filename: "mail.tar.gz"},
				[]portal.Artifact{{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 3 << 30, Filename: "mail.tar.gz"}}},
			{"second platform", portal.Artifact{Platform: "android-arm64", SHA256: strings.Repeat("b", 64), Size: 10},
				[]portal.Artifact{
					{Platform: "android-arm64", SHA256: strings.Repeat("b", 64), Size: 10},
					{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 3 << 30, Filename: "mail.tar.gz"}}},
			{"same platform again replaces", portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("c", 64), Size: 7, Filename: "mail-2.tar.gz"},
				[]portal.Artifact{
					{Platform: "android-arm64", SHA256: strings.Repeat("b", 64), Size: 10},
					{Platform: "linux-amd64", SHA256: strings.Repeat("c", 64), Size: 7, Filename: "mail-2.tar.gz"}}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				put, err := s.PutArtifact(ctx, a.ID, st.art)
				must(t, "PutArtifact", err)
				read, err := s.App(ctx, a.ID)
				must(t, "App", err)
				for what, got := range map[string]*portal.App{"PutArtifact result": put, "App after put": read} {
					arts := slices.Clone(got.Artifacts)
					for i := range arts {
						if arts[i].UploadedAt.IsZero() {
							t.Errorf("%s: artifact %s has no upload time", what, arts[i].Platform)
						}
						arts[i].UploadedAt = time.Time{}
					}
					checkSame(t, what, arts, st.want)
					if got.Name != a.Name || got.Version != a.Version {
						t.Errorf("%s: got app %q %q, want %q %q", what, got.Name, got.Version, a.Name, a.Version)
					}
				}
			})
		}
		_, err := s.PutArtifact(ctx, "no-such-app", portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("d", 64), Size: 1})
		wantErr(t, "PutArtifact for an unknown app", err, portal.CodeNotFound)
	}},
	{"delete artifact removes one platform", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a := mustApp(t, s, "mail")
		for _, p := range []portal.Platform{"linux-amd64", "android-arm64", "windows-amd64"} {
			_, err := s.PutArtifact(ctx, a.ID, portal.Artifact{Platform: p, SHA256: strings.Repeat("e", 64), Size: 1})
			must(t, "PutArtifact", err)
		}
		got, err := s.DeleteArtifact(ctx, a.ID, "android-arm64")
		must(t, "DeleteArtifact", err)
		if got, want := artifactPlatforms(got), []string{"linux-amd64", "windows-amd64"}; !slices.Equal(got, want) {
			t.Errorf("DeleteArtifact result platforms: got %q, want %q", got, want)
		}
		read, err := s.App(ctx, a.ID)
		must(t, "App", err)
		if got, want := artifactPlatforms(read), []string{"linux-amd64", "windows-amd64"}; !slices.Equal(got, want) {
			t.Errorf("platforms after delete: got %q, want %q", got, want)
		}
		_, err = s.DeleteArtifact(ctx, a.ID, "android-arm64")
		wantErr(t, "DeleteArtifact of a missing platform", err, portal.CodeNotFound)
		_, err = s.DeleteArtifact(ctx, "no-such-app", "linux-amd64")
		wantErr(t, "DeleteArtifact of an unknown app", err, portal.CodeNotFound)
		read, err = s.App(ctx, a.ID)
		must(t, "App", err)
		if got, want := artifactPlatforms(read), []string{"linux-amd64", "windows-amd64"}; !slices.Equal(got, want) {
			t.Errorf("platforms after the refused deletes: got %q, want %q", got, want)
		}
	}},
	{"update changes only the given fields", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a := mustApp(t, s, "mail")
		mustApp(t, s, "browser")
		_, err := s.PutArtifact(ctx, a.ID, portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 1})
		must(t, "PutArtifact", err)
		str := func(s string) *string { return &s }

		got, err := s.UpdateApp(ctx, a.ID, portal.AppPatch{Version: str("2.0")})
		must(t, "UpdateApp", err)
		if got.Name != "mail" || got.Version != "2.0" || got.Description != a.Description || len(got.Artifacts) != 1 {
			t.Errorf("after version update: got %+v, want name mail, version 2.0, old description, one artifact", got)
		}
		_, err = s.UpdateApp(ctx, a.ID, portal.AppPatch{Name: str("Browser"), Version: str("3.0")})
		wantErr(t, "UpdateApp to a taken name", err, portal.CodeConflict, "name")
		read, err := s.App(ctx, a.ID)
		must(t, "App", err)
		checkSame(t, "App after the refused update", *read, *got)
		_, err = s.UpdateApp(ctx, "no-such-app", portal.AppPatch{Version: str("1")})
		wantErr(t, "UpdateApp of an unknown app", err, portal.CodeNotFound)
	}},
	{"delete removes artifacts and assignments", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a, kept := mustApp(t, s, "mail"), mustApp(t, s, "browser")
		g := mustGroup(t, s, "staff")
		u := mustUser(t, s, "ann")
		for _, app := range []*portal.App{a, kept} {
			_, err := s.PutArtifact(ctx, app.ID, portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 1})
			must(t, "PutArtifact", err)
		}
		mustAssign(t, s, portal.Assignment{AppID: a.ID, GroupID: g.ID})
		mustAssign(t, s, portal.Assignment{AppID: a.ID, UserID: u.ID})
		keptA := mustAssign(t, s, portal.Assignment{AppID: kept.ID, UserID: u.ID})

		must(t, "DeleteApp", s.DeleteApp(ctx, a.ID))
		_, err := s.App(ctx, a.ID)
		wantErr(t, "App after delete", err, portal.CodeNotFound)
		wantErr(t, "DeleteApp twice", s.DeleteApp(ctx, a.ID), portal.CodeNotFound)
		as, err := s.Assignments(ctx, portal.AssignmentFilter{})
		must(t, "Assignments", err)
		if got, want := mapItems(as.Items, func(a portal.Assignment) string { return a.ID }), []string{keptA.ID}; !slices.Equal(got, want) {
			t.Errorf("assignments left: got %q, want %q", got, want)
		}
		read, err := s.App(ctx, kept.ID)
		must(t, "App", err)
		if got, want := artifactPlatforms(read), []string{"linux-amd64"}; !slices.Equal(got, want) {
			t.Errorf("the other app's artifacts: got %q, want %q", got, want)
		}
		// The name is free again, and the new app starts without artifacts.
		again := mustApp(t, s, "mail")
		if len(again.Artifacts) != 0 {
			t.Errorf("new app with the deleted one's name: got artifacts %+v, want none", again.Artifacts)
		}
	}},
}

// --------------------------------------------------------------- policies

var policyCases = []storeCase{
	{"rules round-trip with their types", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		rules := portal.Rules{"password_min_length": int64(12), "camera_disabled": true, "bluetooth_disabled": false, "min_os_version": "14.2"}
		p := &portal.Policy{Name: "Strict", Description: "locks things down", Rules: rules}
		must(t, "CreatePolicy", s.CreatePolicy(ctx, p))
		if p.ID == "" || p.CreatedAt.IsZero() {
			t.Errorf("CreatePolicy left ID or times unset: %+v", p)
		}
		got, err := s.Policy(ctx, p.ID)
		must(t, "Policy", err)
		checkSame(t, "Policy(id)", *got, *p)
		if !reflect.DeepEqual(got.Rules, rules) {
			t.Errorf("rules: got %#v, want %#v", got.Rules, rules)
		}
		list, err := s.Policies(ctx, portal.ListOptions{Name: "STRICT"})
		must(t, "Policies", err)
		if len(list.Items) != 1 || !reflect.DeepEqual(list.Items[0].Rules, rules) {
			t.Errorf("Policies: got %+v, want the one policy with rules %#v", list.Items, rules)
		}
		empty := mustPolicy(t, s, "empty", nil)
		got, err = s.Policy(ctx, empty.ID)
		must(t, "Policy", err)
		if len(got.Rules) != 0 {
			t.Errorf("policy without rules: got rules %#v, want none", got.Rules)
		}
		_, err = s.Policy(ctx, "no-such-policy")
		wantErr(t, "Policy of an unknown ID", err, portal.CodeNotFound)
	}},
	{"update replaces rules whole and keeps them when not given", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		p := mustPolicy(t, s, "strict", portal.Rules{"password_min_length": int64(12), "camera_disabled": true})
		str := func(s string) *string { return &s }
		tests := []struct {
			name      string
			patch     portal.PolicyPatch
			wantName  string
			wantRules portal.Rules
		}{
			{"new rules replace the old set", portal.PolicyPatch{Rules: &portal.Rules{"bluetooth_disabled": true, "screen_lock_timeout_s": int64(300)}},
				"strict", portal.Rules{"bluetooth_disabled": true, "screen_lock_timeout_s": int64(300)}},
			{"name only keeps the rules", portal.PolicyPatch{Name: str("Stricter")},
				"Stricter", portal.Rules{"bluetooth_disabled": true, "screen_lock_timeout_s": int64(300)}},
			{"empty rules clear them", portal.PolicyPatch{Rules: &portal.Rules{}}, "Stricter", portal.Rules{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				upd, err := s.UpdatePolicy(ctx, p.ID, tt.patch)
				must(t, "UpdatePolicy", err)
				read, err := s.Policy(ctx, p.ID)
				must(t, "Policy", err)
				for what, got := range map[string]*portal.Policy{"UpdatePolicy result": upd, "Policy after update": read} {
					if got.Name != tt.wantName || got.Description != p.Description || !reflect.DeepEqual(got.Rules, tt.wantRules) {
						t.Errorf("%s: got %q %q %#v, want %q %q %#v", what, got.Name, got.Description, got.Rules, tt.wantName, p.Description, tt.wantRules)
					}
				}
			})
		}
		_, err := s.UpdatePolicy(ctx, "no-such-policy", portal.PolicyPatch{Name: str("x")})
		wantErr(t, "UpdatePolicy of an unknown ID", err, portal.CodeNotFound)
	}},
	{"taken name is a conflict", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		mustPolicy(t, s, "Strict", nil)
		p := mustPolicy(t, s, "lax", portal.Rules{"camera_disabled": false})
		wantErr(t, "CreatePolicy with a taken name", s.CreatePolicy(ctx, &portal.Policy{Name: "strict"}), portal.CodeConflict, "name")
		name := "STRICT"
		_, err := s.UpdatePolicy(ctx, p.ID, portal.PolicyPatch{Name: &name, Rules: &portal.Rules{}})
		wantErr(t, "rename to a taken name", err, portal.CodeConflict, "name")
		got, err := s.Policy(ctx, p.ID)
		must(t, "Policy", err)
		checkSame(t, "policy after the refused rename", *got, *p)
	}},
	{"delete removes assignments", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		p := mustPolicy(t, s, "strict", nil)
		u := mustUser(t, s, "ann")
		a := mustAssign(t, s, portal.Assignment{PolicyID: p.ID, UserID: u.ID})
		must(t, "DeletePolicy", s.DeletePolicy(ctx, p.ID))
		_, err := s.Policy(ctx, p.ID)
		wantErr(t, "Policy after delete", err, portal.CodeNotFound)
		_, err = s.Assignment(ctx, a.ID)
		wantErr(t, "Assignment of the deleted policy", err, portal.CodeNotFound)
		wantErr(t, "DeletePolicy twice", s.DeletePolicy(ctx, p.ID), portal.CodeNotFound)
	}},
}

// ------------------------------------------------------------ assignments

var assignmentCases = []storeCase{
	{"create and get app to group and policy to user", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		app, pol := mustApp(t, s, "mail"), mustPolicy(t, s, "strict", nil)
		g, u := mustGroup(t, s, "staff"), mustUser(t, s, "ann")
		for _, a := range []portal.Assignment{{AppID: app.ID, GroupID: g.ID}, {PolicyID: pol.ID, UserID: u.ID}} {
			want := a
			got := mustAssign(t, s, a)
			if got.ID == "" || got.CreatedAt.IsZero() {
				t.Errorf("CreateAssignment left ID or time unset: %+v", got)
			}
			want.ID, want.CreatedAt = got.ID, got.CreatedAt
			checkSame(t, "CreateAssignment result", *got, want)
			read, err := s.Assignment(ctx, got.ID)
			must(t, "Assignment", err)
			checkSame(t, "Assignment(id)", *read, want)
		}
		_, err := s.Assignment(ctx, "no-such-assignment")
		wantErr(t, "Assignment of an unknown ID", err, portal.CodeNotFound)
	}},
	{"referenced objects must exist", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		app, pol := mustApp(t, s, "mail"), mustPolicy(t, s, "strict", nil)
		g, u := mustGroup(t, s, "staff"), mustUser(t, s, "ann")
		tests := []struct {
			name      string
			a         portal.Assignment
			wantField string
		}{
			{"unknown app", portal.Assignment{AppID: "no-such-app", GroupID: g.ID}, "app_id"},
			{"unknown policy", portal.Assignment{PolicyID: "no-such-policy", UserID: u.ID}, "policy_id"},
			{"unknown group", portal.Assignment{AppID: app.ID, GroupID: "no-such-group"}, "group_id"},
			{"unknown user", portal.Assignment{PolicyID: pol.ID, UserID: "no-such-user"}, "user_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := tt.a
				wantErr(t, "CreateAssignment", s.CreateAssignment(ctx, &a), portal.CodeInvalid, tt.wantField)
			})
		}
		p, err := s.Assignments(ctx, portal.AssignmentFilter{})
		must(t, "Assignments", err)
		if got, want := p.Total, 0; got != want {
			t.Errorf("assignments after refused creates: got %d, want %d", got, want)
		}
	}},
	{"duplicate is a conflict", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		app, pol := mustApp(t, s, "mail"), mustPolicy(t, s, "strict", nil)
		g, u := mustGroup(t, s, "staff"), mustUser(t, s, "ann")
		mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})
		mustAssign(t, s, portal.Assignment{PolicyID: pol.ID, UserID: u.ID})
		for _, a := range []portal.Assignment{{AppID: app.ID, GroupID: g.ID}, {PolicyID: pol.ID, UserID: u.ID}} {
			wantErr(t, fmt.Sprintf("CreateAssignment %+v again", a), s.CreateAssignment(ctx, &a), portal.CodeConflict)
		}
		// The same app to another target is no duplicate.
		mustAssign(t, s, portal.Assignment{AppID: app.ID, UserID: u.ID})
		mustAssign(t, s, portal.Assignment{PolicyID: pol.ID, GroupID: g.ID})
	}},
	{"list filters by app group user and policy newest first", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		a1, a2 := mustApp(t, s, "mail"), mustApp(t, s, "browser")
		p1 := mustPolicy(t, s, "strict", nil)
		g1, g2 := mustGroup(t, s, "staff"), mustGroup(t, s, "sales")
		u1 := mustUser(t, s, "ann")
		x := []*portal.Assignment{
			mustAssign(t, s, portal.Assignment{AppID: a1.ID, GroupID: g1.ID}),
			mustAssign(t, s, portal.Assignment{AppID: a1.ID, UserID: u1.ID}),
			mustAssign(t, s, portal.Assignment{AppID: a2.ID, GroupID: g1.ID}),
			mustAssign(t, s, portal.Assignment{PolicyID: p1.ID, UserID: u1.ID}),
			mustAssign(t, s, portal.Assignment{PolicyID: p1.ID, GroupID: g2.ID}),
		}
		tests := []struct {
			name   string
			f      portal.AssignmentFilter
			want   []int // indexes into x, newest first
			wantTo int   // total
		}{
			{"no filter", portal.AssignmentFilter{}, []int{4, 3, 2, 1, 0}, 5},
			{"by app", portal.AssignmentFilter{AppID: a1.ID}, []int{1, 0}, 2},
			{"by policy", portal.AssignmentFilter{PolicyID: p1.ID}, []int{4, 3}, 2},
			{"by group", portal.AssignmentFilter{GroupID: g1.ID}, []int{2, 0}, 2},
			{"by user", portal.AssignmentFilter{UserID: u1.ID}, []int{3, 1}, 2},
			{"by app and group", portal.AssignmentFilter{AppID: a1.ID, GroupID: g1.ID}, []int{0}, 1},
			{"by app and other group", portal.AssignmentFilter{AppID: a1.ID, GroupID: g2.ID}, []int{}, 0},
			{"paged", portal.AssignmentFilter{Limit: 2, Offset: 1}, []int{3, 2}, 5},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.Assignments(ctx, tt.f)
				must(t, "Assignments", err)
				got := mapItems(p.Items, func(a portal.Assignment) string { return a.ID })
				want := mapItems(tt.want, func(i int) string { return x[i].ID })
				if !slices.Equal(got, want) || p.Total != tt.wantTo {
					t.Errorf("got %q (total %d), want %q (total %d)", got, p.Total, want, tt.wantTo)
				}
			})
		}
	}},
	{"delete and a deleted app's assignments disappear", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		app, other := mustApp(t, s, "mail"), mustApp(t, s, "browser")
		g, u := mustGroup(t, s, "staff"), mustUser(t, s, "ann")
		a1 := mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})
		a2 := mustAssign(t, s, portal.Assignment{AppID: app.ID, UserID: u.ID})
		a3 := mustAssign(t, s, portal.Assignment{AppID: other.ID, UserID: u.ID})

		must(t, "DeleteAssignment", s.DeleteAssignment(ctx, a1.ID))
		_, err := s.Assignment(ctx, a1.ID)
		wantErr(t, "Assignment after delete", err, portal.CodeNotFound)
		wantErr(t, "DeleteAssignment twice", s.DeleteAssignment(ctx, a1.ID), portal.CodeNotFound)
		// It can be made again.
		mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})

		must(t, "DeleteApp", s.DeleteApp(ctx, app.ID))
		p, err := s.Assignments(ctx, portal.AssignmentFilter{AppID: app.ID})
		must(t, "Assignments", err)
		if got, want := p.Total, 0; got != want {
			t.Errorf("assignments of the deleted app: got %d, want %d", got, want)
		}
		_, err = s.Assignment(ctx, a2.ID)
		wantErr(t, "Assignment of the deleted app", err, portal.CodeNotFound)
		if _, err := s.Assignment(ctx, a3.ID); err != nil {
			t.Errorf("the other app's assignment: %v", err)
		}
	}},
}

// ---------------------------------------------------------------- devices

var deviceCases = []storeCase{
	{"create and get round-trip every field", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		u := mustUser(t, s, "ann")
		seen := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		d := &portal.Device{UserID: u.ID, Name: "Ann's phone", Platform: "android-arm64", Status: "failed", Progress: 40,
			Error:      &portal.DeviceError{Code: "download_failed", Message: "the artifact could not be fetched"},
			Installed:  map[string]string{"Mail": "1.2.3", "Browser": "99.0"},
			LastSeenAt: &seen}
		want := *d
		must(t, "CreateDevice", s.CreateDevice(ctx, d))
		if d.ID == "" || d.CreatedAt.IsZero() || d.UpdatedAt.IsZero() {
			t.Errorf("CreateDevice left ID or times unset: %+v", d)
		}
		want.ID, want.CreatedAt, want.UpdatedAt = d.ID, d.CreatedAt, d.UpdatedAt
		checkSame(t, "CreateDevice result", *d, want)
		got, err := s.Device(ctx, d.ID)
		must(t, "Device", err)
		checkSame(t, "Device(id)", *got, want)

		plain := &portal.Device{UserID: u.ID, Name: "laptop", Platform: "linux-amd64", Status: "active"}
		must(t, "CreateDevice", s.CreateDevice(ctx, plain))
		got, err = s.Device(ctx, plain.ID)
		must(t, "Device", err)
		if got.Error != nil || got.LastSeenAt != nil || got.Installed == nil || len(got.Installed) != 0 {
			t.Errorf("device without error, last seen or apps: got error %+v, last seen %v, installed %#v; want nil, nil, empty map",
				got.Error, got.LastSeenAt, got.Installed)
		}
		_, err = s.Device(ctx, "no-such-device")
		wantErr(t, "Device of an unknown ID", err, portal.CodeNotFound)
	}},
	{"unknown user is invalid", func(t *testing.T, s portal.Store) {
		err := s.CreateDevice(t.Context(), &portal.Device{UserID: "no-such-user", Platform: "linux-amd64", Status: "active"})
		wantErr(t, "CreateDevice for an unknown user", err, portal.CodeInvalid, "user_id")
		p, err := s.Devices(t.Context(), portal.DeviceFilter{})
		must(t, "Devices", err)
		if got, want := p.Total, 0; got != want {
			t.Errorf("devices: got %d, want %d", got, want)
		}
	}},
	{"list filters by user and status", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		u1, u2 := mustUser(t, s, "ann"), mustUser(t, s, "bob")
		d := []*portal.Device{
			mustDevice(t, s, u1.ID, "ann-phone", "active"),
			mustDevice(t, s, u1.ID, "ann-laptop", "failed"),
			mustDevice(t, s, u2.ID, "bob-phone", "active"),
		}
		tests := []struct {
			name string
			f    portal.DeviceFilter
			want []int
		}{
			{"no filter", portal.DeviceFilter{}, []int{0, 1, 2}},
			{"by user", portal.DeviceFilter{UserID: u1.ID}, []int{0, 1}},
			{"by status", portal.DeviceFilter{Status: "active"}, []int{0, 2}},
			{"by user and status", portal.DeviceFilter{UserID: u1.ID, Status: "failed"}, []int{1}},
			{"by other user and status", portal.DeviceFilter{UserID: u2.ID, Status: "failed"}, []int{}},
			{"by unknown status", portal.DeviceFilter{Status: "lost"}, []int{}},
			{"by name", portal.DeviceFilter{ListOptions: portal.ListOptions{Name: "PHONE"}}, []int{0, 2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := s.Devices(ctx, tt.f)
				must(t, "Devices", err)
				got := sorted(mapItems(p.Items, func(d portal.Device) string { return d.ID }))
				want := sorted(mapItems(tt.want, func(i int) string { return d[i].ID }))
				if !slices.Equal(got, want) || p.Total != len(want) {
					t.Errorf("got %q (total %d), want %q", got, p.Total, want)
				}
			})
		}
	}},
}

// ------------------------------------------------------------------ audit

// auditCase is one change and what its audit entry must say.
type auditCase struct {
	name         string
	actor        portal.Actor
	action, kind string
	do           func(ctx context.Context, s portal.Store) (objectID string, err error)
	// field is a dotted path into the Before and After JSON objects; before
	// and after are its values there, nil meaning Before (After) is null.
	field         string
	before, after any
}

func jsonPath(raw json.RawMessage, path string) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object at %q", raw, k)
		}
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("%s: no %q", raw, k)
		}
	}
	return v, nil
}

const (
	adminHash = "$argon2id$v=19$secret-admin-hash"
	userHash  = "$argon2id$v=19$secret-user-hash"
	userHash2 = "$argon2id$v=19$secret-user-hash-2"
)

func auditLog(t *testing.T, s portal.Store, f portal.AuditFilter) portal.Page[portal.AuditEntry] {
	t.Helper()
	f.Limit = 500
	p, err := s.Audit(t.Context(), f)
	must(t, "Audit", err)
	return p
}

var auditCases = []storeCase{
	{"every change writes one entry with actor before and after", testAuditEntries},
	{"refused changes write no entry", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		root := mustAdmin(t, s, "root", portal.RoleAdmin)
		g := mustGroup(t, s, "staff")
		u := mustUser(t, s, "ann")
		app := mustApp(t, s, "mail")
		mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})
		before := auditLog(t, s, portal.AuditFilter{}).Total
		name := "ANN"
		_, updateErr := s.UpdateUser(ctx, u.ID, portal.UserPatch{DisplayName: &name, Groups: &[]string{"no-such-group"}})
		refused := []struct {
			name string
			err  error
		}{
			{"duplicate admin", s.CreateAdmin(ctx, &portal.Admin{Username: "ROOT", Role: portal.RoleAdmin, PasswordHash: adminHash})},
			{"last admin delete", s.DeleteAdmin(ctx, root.ID)},
			{"user with unknown group", s.CreateUser(ctx, &portal.User{Username: "bob", PasswordHash: userHash, Groups: []string{"no-such-group"}})},
			{"duplicate user", s.CreateUser(ctx, &portal.User{Username: "Ann"})},
			{"duplicate group", s.CreateGroup(ctx, &portal.Group{Name: "STAFF"})},
			{"duplicate assignment", s.CreateAssignment(ctx, &portal.Assignment{AppID: app.ID, GroupID: g.ID})},
			{"assignment to unknown user", s.CreateAssignment(ctx, &portal.Assignment{AppID: app.ID, UserID: "no-such-user"})},
			{"delete unknown app", s.DeleteApp(ctx, "no-such-app")},
			{"user update with unknown group", updateErr},
		}
		for _, r := range refused {
			if r.err == nil {
				t.Errorf("%s: got no error, want one", r.name)
			}
		}
		if got, want := auditLog(t, s, portal.AuditFilter{}).Total, before; got != want {
			t.Errorf("audit entries after refused changes: got %d, want %d", got, want)
		}
	}},
}

func testAuditEntries(t *testing.T, s portal.Store) {
	alice := portal.Actor{ID: "admin-alice", Username: "alice", Role: portal.RoleAdmin, RemoteAddr: "192.0.2.10:51000"}
	bob := portal.Actor{ID: "admin-bob", Username: "bob", Role: portal.RoleAdmin, RemoteAddr: "[2001:db8::1]:443"}
	str := func(s string) *string { return &s }
	var helperID, groupID, userID, appID, policyID, asgID string

	cases := []auditCase{
		{name: "create admin", actor: alice, action: "create", kind: "admin", field: "username", after: "root",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				a := &portal.Admin{Username: "root", Role: portal.RoleAdmin, PasswordHash: adminHash}
				err := s.CreateAdmin(ctx, a)
				return a.ID, err
			}},
		{name: "create helpdesk admin", actor: alice, action: "create", kind: "admin", field: "role", after: "helpdesk",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				a := &portal.Admin{Username: "helper", Role: portal.RoleHelpdesk, PasswordHash: adminHash}
				err := s.CreateAdmin(ctx, a)
				helperID = a.ID
				return a.ID, err
			}},
		{name: "create group", actor: alice, action: "create", kind: "group", field: "name", after: "staff",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				g := &portal.Group{Name: "staff"}
				err := s.CreateGroup(ctx, g)
				groupID = g.ID
				return g.ID, err
			}},
		{name: "rename group", actor: alice, action: "update", kind: "group", field: "name", before: "staff", after: "crew",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdateGroup(ctx, groupID, portal.GroupPatch{Name: str("crew")})
				return groupID, err
			}},
		{name: "create user", actor: alice, action: "create", kind: "user", field: "username", after: "ann",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				u := &portal.User{Username: "ann", Groups: []string{groupID}}
				err := s.CreateUser(ctx, u)
				userID = u.ID
				return u.ID, err
			}},
		{name: "change user email", actor: alice, action: "update", kind: "user", field: "email", before: "", after: "ann@example.com",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdateUser(ctx, userID, portal.UserPatch{Email: str("ann@example.com")})
				return userID, err
			}},
		{name: "set user password", actor: alice, action: "update", kind: "user", field: "has_password", before: false, after: true,
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdateUser(ctx, userID, portal.UserPatch{PasswordHash: str(userHash)})
				return userID, err
			}},
		{name: "change user password", actor: bob, action: "update", kind: "user", field: "has_password", before: true, after: true,
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdateUser(ctx, userID, portal.UserPatch{PasswordHash: str(userHash2)})
				return userID, err
			}},
		{name: "create app", actor: alice, action: "create", kind: "app", field: "version", after: "1.0",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				a := &portal.App{Name: "mail", Version: "1.0"}
				err := s.CreateApp(ctx, a)
				appID = a.ID
				return a.ID, err
			}},
		{name: "change app version", actor: alice, action: "update", kind: "app", field: "version", before: "1.0", after: "2.0",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdateApp(ctx, appID, portal.AppPatch{Version: str("2.0")})
				return appID, err
			}},
		{name: "create policy", actor: alice, action: "create", kind: "policy", field: "rules.camera_disabled", after: false,
			do: func(ctx context.Context, s portal.Store) (string, error) {
				p := &portal.Policy{Name: "strict", Rules: portal.Rules{"camera_disabled": false}}
				err := s.CreatePolicy(ctx, p)
				policyID = p.ID
				return p.ID, err
			}},
		{name: "change policy rules", actor: alice, action: "update", kind: "policy", field: "rules.camera_disabled", before: false, after: true,
			do: func(ctx context.Context, s portal.Store) (string, error) {
				_, err := s.UpdatePolicy(ctx, policyID, portal.PolicyPatch{Rules: &portal.Rules{"camera_disabled": true}})
				return policyID, err
			}},
		{name: "assign app to group", actor: alice, action: "create", kind: "assignment", field: "app_id",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				a := &portal.Assignment{AppID: appID, GroupID: groupID}
				err := s.CreateAssignment(ctx, a)
				asgID = a.ID
				return a.ID, err
			}},
		{name: "assign policy to user", actor: alice, action: "create", kind: "assignment", field: "user_id",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				a := &portal.Assignment{PolicyID: policyID, UserID: userID}
				err := s.CreateAssignment(ctx, a)
				return a.ID, err
			}},
		{name: "delete assignment", actor: bob, action: "delete", kind: "assignment", field: "group_id",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				return asgID, s.DeleteAssignment(ctx, asgID)
			}},
		{name: "delete policy", actor: bob, action: "delete", kind: "policy", field: "name", before: "strict",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				return policyID, s.DeletePolicy(ctx, policyID)
			}},
		{name: "delete app", actor: bob, action: "delete", kind: "app", field: "name", before: "mail",
			do: func(ctx context.Context, s portal.Store) (string, error) { return appID, s.DeleteApp(ctx, appID) }},
		{name: "delete user", actor: bob, action: "delete", kind: "user", field: "username", before: "ann",
			do: func(ctx context.Context, s portal.Store) (string, error) { return userID, s.DeleteUser(ctx, userID) }},
		{name: "delete group", actor: bob, action: "delete", kind: "group", field: "name", before: "crew",
			do: func(ctx context.Context, s portal.Store) (string, error) { return groupID, s.DeleteGroup(ctx, groupID) }},
		{name: "delete helpdesk admin", actor: bob, action: "delete", kind: "admin", field: "username", before: "helper",
			do: func(ctx context.Context, s portal.Store) (string, error) {
				return helperID, s.DeleteAdmin(ctx, helperID)
			}},
	}
	// The assignment cases check their IDs, known only once made.
	idOf := map[string]func() string{"app_id": func() string { return appID }, "group_id": func() string { return groupID },
		"user_id": func() string { return userID }}

	entries := make([]portal.AuditEntry, 0, len(cases)) // entry written by cases[i]
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := portal.WithActor(t.Context(), c.actor)
			start := time.Now().Add(-time.Minute)
			id, err := c.do(ctx, s)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			log := auditLog(t, s, portal.AuditFilter{})
			if got, want := log.Total, i+1; got != want {
				t.Fatalf("audit entries: got %d, want %d", got, want)
			}
			e := log.Items[0]
			entries = append(entries, e)
			if e.Action != c.action || e.Kind != c.kind || e.ObjectID != id {
				t.Errorf("action, kind, object: got %q %q %q, want %q %q %q", e.Action, e.Kind, e.ObjectID, c.action, c.kind, id)
			}
			if e.ActorID != c.actor.ID || e.Actor != c.actor.Username || e.RemoteAddr != c.actor.RemoteAddr {
				t.Errorf("actor: got %q %q %q, want %q %q %q", e.ActorID, e.Actor, e.RemoteAddr, c.actor.ID, c.actor.Username, c.actor.RemoteAddr)
			}
			if e.At.Before(start) || e.At.After(time.Now().Add(time.Minute)) {
				t.Errorf("at: got %v, want about now", e.At)
			}
			before, after := c.before, c.after
			if f, ok := idOf[c.field]; ok && c.kind == "assignment" {
				if c.action == "create" {
					after = f()
				} else {
					before = f()
				}
			}
			for _, side := range []struct {
				name string
				raw  json.RawMessage
				want any
				null bool
			}{
				{"before", e.Before, before, c.action == "create"},
				{"after", e.After, after, c.action == "delete"},
			} {
				if side.null {
					if string(side.raw) != "null" {
						t.Errorf("%s: got %s, want null", side.name, side.raw)
					}
					continue
				}
				got, err := jsonPath(side.raw, c.field)
				if err != nil {
					t.Errorf("%s: %v", side.name, err)
				} else if got != side.want {
					t.Errorf("%s.%s: got %#v, want %#v", side.name, c.field, got, side.want)
				}
			}
		})
		if t.Failed() {
			t.FailNow()
		}
	}

	log := auditLog(t, s, portal.AuditFilter{})
	t.Run("no entry holds a password hash", func(t *testing.T) {
		for _, e := range log.Items {
			for _, h := range []string{adminHash, userHash, userHash2, "argon2id"} {
				if bytes.Contains(e.Before, []byte(h)) || bytes.Contains(e.After, []byte(h)) {
					t.Errorf("entry %d (%s %s) holds %q: before %s, after %s", e.ID, e.Action, e.Kind, h, e.Before, e.After)
				}
			}
		}
	})
	t.Run("newest first", func(t *testing.T) {
		for i := 1; i < len(log.Items); i++ {
			if a, b := log.Items[i-1], log.Items[i]; a.ID <= b.ID || a.At.Before(b.At) {
				t.Errorf("entry %d (at %v) is listed before entry %d (at %v)", a.ID, a.At, b.ID, b.At)
			}
		}
		got := mapItems(log.Items, func(e portal.AuditEntry) int64 { return e.ID })
		want := mapItems(entries, func(e portal.AuditEntry) int64 { return e.ID })
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("entry IDs: got %v, want %v", got, want)
		}
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			f    portal.AuditFilter
			keep func(c auditCase, e portal.AuditEntry) bool
		}{
			{"by kind", portal.AuditFilter{Kind: "user"}, func(c auditCase, e portal.AuditEntry) bool { return c.kind == "user" }},
			{"by object", portal.AuditFilter{ObjectID: groupID}, func(c auditCase, e portal.AuditEntry) bool { return e.ObjectID == groupID }},
			{"by actor", portal.AuditFilter{Actor: "bob"}, func(c auditCase, e portal.AuditEntry) bool { return c.actor == bob }},
			{"by kind and actor", portal.AuditFilter{Kind: "admin", Actor: "alice"},
				func(c auditCase, e portal.AuditEntry) bool { return c.kind == "admin" && c.actor == alice }},
			{"by unknown actor", portal.AuditFilter{Actor: "mallory"}, func(auditCase, portal.AuditEntry) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []int64
				for i := len(cases) - 1; i >= 0; i-- {
					if tt.keep(cases[i], entries[i]) {
						want = append(want, entries[i].ID)
					}
				}
				p := auditLog(t, s, tt.f)
				if got := mapItems(p.Items, func(e portal.AuditEntry) int64 { return e.ID }); !slices.Equal(got, want) || p.Total != len(want) {
					t.Errorf("entry IDs: got %v (total %d), want %v", got, p.Total, want)
				}
			})
		}
		p, err := s.Audit(t.Context(), portal.AuditFilter{ListOptions: portal.ListOptions{Limit: 3, Offset: 1}})
		must(t, "Audit paged", err)
		got := mapItems(p.Items, func(e portal.AuditEntry) int64 { return e.ID })
		want := []int64{entries[len(entries)-2].ID, entries[len(entries)-3].ID, entries[len(entries)-4].ID}
		if !slices.Equal(got, want) || p.Total != len(cases) {
			t.Errorf("paged entry IDs: got %v (total %d), want %v (total %d)", got, p.Total, want, len(cases))
		}
	})
}

// --------------------------------------------------------- login throttle

// throttleNow is the fixed clock of the throttle tests, to the microsecond
// every backend keeps.
var throttleNow = time.Date(2030, 6, 7, 8, 9, 10, 123456000, time.UTC)

// fail records n failures of keys at the time at.
func fail(t *testing.T, s portal.Store, at time.Time, n int, keys ...string) time.Time {
	t.Helper()
	var until time.Time
	for range n {
		var err error
		until, err = s.RecordFailure(t.Context(), at, keys...)
		must(t, "RecordFailure", err)
	}
	return until
}

func wantBlocked(t *testing.T, s portal.Store, at, want time.Time, keys ...string) {
	t.Helper()
	got, err := s.BlockedUntil(t.Context(), at, keys...)
	must(t, "BlockedUntil", err)
	if !got.Equal(want) {
		t.Errorf("BlockedUntil(%v, %q): got %v, want %v", at, keys, got, want)
	}
}

var throttleCases = []storeCase{
	{"account key is blocked from the fifth failure with growing delay", func(t *testing.T, s portal.Store) {
		now := throttleNow
		key := portal.AccountKey("admin", "Ann")
		for i := 1; i < portal.FreeAccountFailures; i++ {
			until := fail(t, s, now, 1, key)
			if until.After(now) {
				t.Errorf("failure %d: RecordFailure got %v, want no later than now %v", i, until, now)
			}
			wantBlocked(t, s, now, time.Time{}, key)
		}
		for n := portal.FreeAccountFailures; n < portal.FreeAccountFailures+3; n++ {
			delay := portal.ThrottleDelay(key, n)
			if delay <= 0 {
				t.Fatalf("ThrottleDelay(%q, %d) = %v, want positive", key, n, delay)
			}
			want := now.Add(delay)
			if got := fail(t, s, now, 1, key); !got.Equal(want) {
				t.Errorf("failure %d: RecordFailure got %v, want %v", n, got, want)
			}
			wantBlocked(t, s, now, want, key)
			wantBlocked(t, s, want.Add(-time.Microsecond), want, key)
			wantBlocked(t, s, want, time.Time{}, key)
		}
		wantBlocked(t, s, now, time.Time{}, portal.AccountKey("admin", "bob"))
	}},
	{"blocked until is the latest of several keys", func(t *testing.T, s portal.Store) {
		now := throttleNow
		a, b := portal.AccountKey("admin", "ann"), portal.AddressKey("192.0.2.1")
		fail(t, s, now, portal.FreeAccountFailures+2, a)
		fail(t, s, now, portal.FreeAddressFailures, b)
		wantA := now.Add(portal.ThrottleDelay(a, portal.FreeAccountFailures+2))
		wantB := now.Add(portal.ThrottleDelay(b, portal.FreeAddressFailures))
		if !wantA.After(wantB) {
			t.Fatalf("test assumes %v after %v", wantA, wantB)
		}
		wantBlocked(t, s, now, wantA, a, b, "account:admin:nobody")
		wantBlocked(t, s, now, wantA, b, a)
		wantBlocked(t, s, now, wantB, b)
		// Once a's block is the only one left it alone counts; after it, nothing.
		wantBlocked(t, s, wantB, wantA, a, b)
		wantBlocked(t, s, wantA, time.Time{}, a, b)
	}},
	{"one call counts against every key", func(t *testing.T, s portal.Store) {
		now := throttleNow.In(time.FixedZone("UTC-7", -7*3600)) // any location is the same instant
		acct, addr := portal.AccountKey("user", "ann"), portal.AddressKey("198.51.100.7")
		until := fail(t, s, now, portal.FreeAccountFailures, acct, addr)
		want := now.Add(portal.ThrottleDelay(acct, portal.FreeAccountFailures))
		if !until.Equal(want) {
			t.Errorf("RecordFailure of both keys: got %v, want %v", until, want)
		}
		wantBlocked(t, s, now, want, acct)
		wantBlocked(t, s, now, time.Time{}, addr) // 5 is below the address's free failures
		wantBlocked(t, s, now, want, acct, addr)
	}},
	{"reset clears the named keys", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		now := throttleNow
		a, b := portal.AccountKey("admin", "ann"), portal.AccountKey("admin", "bob")
		fail(t, s, now, portal.FreeAccountFailures, a, b)
		must(t, "Reset", s.Reset(ctx, a, "account:admin:never-failed"))
		wantBlocked(t, s, now, time.Time{}, a)
		wantBlocked(t, s, now, now.Add(portal.ThrottleDelay(b, portal.FreeAccountFailures)), b)
		// The count starts again from nothing.
		fail(t, s, now, portal.FreeAccountFailures-1, a)
		wantBlocked(t, s, now, time.Time{}, a)
		fail(t, s, now, 1, a)
		wantBlocked(t, s, now, now.Add(portal.ThrottleDelay(a, portal.FreeAccountFailures)), a)
	}},
	{"failures are forgotten a memory after the last one", func(t *testing.T, s portal.Store) {
		now := throttleNow
		tests := []struct {
			name      string
			gaps      []time.Duration // between consecutive failures
			wantBlock bool            // after the last one
		}{
			{"fifth failure just within the memory counts", []time.Duration{0, 0, 0, portal.ThrottleMemory - time.Second}, true},
			{"fifth failure after the memory starts over", []time.Duration{0, 0, 0, portal.ThrottleMemory + time.Second}, false},
			{"memory runs from the last failure, not the first", []time.Duration{
				portal.ThrottleMemory - time.Minute, portal.ThrottleMemory - time.Minute, portal.ThrottleMemory - time.Minute, portal.ThrottleMemory - time.Minute}, true},
			{"after starting over four more are free", []time.Duration{0, 0, 0, 0, portal.ThrottleMemory + time.Second, 0, 0, 0}, false},
			{"after starting over the fifth blocks", []time.Duration{0, 0, 0, 0, portal.ThrottleMemory + time.Second, 0, 0, 0, 0}, true},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := portal.AccountKey("admin", fmt.Sprint("user", i))
				at := now
				fail(t, s, at, 1, key)
				count := 1 // failures since the memory last started over
				for _, gap := range tt.gaps {
					at = at.Add(gap)
					fail(t, s, at, 1, key)
					if gap > portal.ThrottleMemory {
						count = 0
					}
					count++
				}
				want := time.Time{}
				if tt.wantBlock {
					want = at.Add(portal.ThrottleDelay(key, count))
					if !want.After(at) {
						t.Fatalf("test assumes %d failures block", count)
					}
				}
				wantBlocked(t, s, at, want, key)
			})
		}
	}},
	{"concurrent failures on a new key all count", func(t *testing.T, s portal.Store) {
		now := throttleNow
		// Several rounds, each on a new key, give the calls many chances to overlap.
		for round := range 8 {
			key := portal.AccountKey("admin", fmt.Sprint("user", round))
			const n = 10
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					if _, err := s.RecordFailure(t.Context(), now, key); err != nil {
						t.Errorf("RecordFailure: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			wantBlocked(t, s, now, now.Add(portal.ThrottleDelay(key, n)), key)
		}
	}},
	{"address keys get their free failures", func(t *testing.T, s portal.Store) {
		now := throttleNow
		key := portal.AddressKey("203.0.113.9")
		if portal.FreeAddressFailures <= portal.FreeAccountFailures {
			t.Fatalf("test assumes more free failures for addresses (%d) than accounts (%d)", portal.FreeAddressFailures, portal.FreeAccountFailures)
		}
		fail(t, s, now, portal.FreeAddressFailures-1, key)
		wantBlocked(t, s, now, time.Time{}, key)
		want := now.Add(portal.ThrottleDelay(key, portal.FreeAddressFailures))
		if got := fail(t, s, now, 1, key); !got.Equal(want) || !want.After(now) {
			t.Errorf("failure %d: RecordFailure got %v, want %v (after now)", portal.FreeAddressFailures, got, want)
		}
		wantBlocked(t, s, now, want, key)
	}},
}

// ---------------------------------------------------------------- secrets

var secretCases = []storeCase{
	{"made once then returned as stored", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		calls := 0
		gen := func(v []byte) func() ([]byte, error) {
			return func() ([]byte, error) { calls++; return v, nil }
		}
		first := []byte{0x00, 0xff, 0x10, 'k', 0x00, 0x80}
		got, err := s.Secret(ctx, "signing-key", gen(first))
		must(t, "Secret", err)
		if !bytes.Equal(got, first) || calls != 1 {
			t.Errorf("first Secret: got %x after %d gen calls, want %x after 1", got, calls, first)
		}
		got, err = s.Secret(ctx, "signing-key", gen([]byte("other")))
		must(t, "Secret", err)
		if !bytes.Equal(got, first) || calls != 1 {
			t.Errorf("second Secret: got %x after %d gen calls, want %x after 1", got, calls, first)
		}
		got, err = s.Secret(ctx, "other-key", gen([]byte("other")))
		must(t, "Secret", err)
		if !bytes.Equal(got, []byte("other")) || calls != 2 {
			t.Errorf("Secret of another name: got %q after %d gen calls, want %q after 2", got, calls, "other")
		}
	}},
	{"gen error stores nothing", func(t *testing.T, s portal.Store) {
		ctx := t.Context()
		boom := errors.New("no entropy")
		_, err := s.Secret(ctx, "k", func() ([]byte, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("Secret with a failing gen: got %v, want %v", err, boom)
		}
		got, err := s.Secret(ctx, "k", func() ([]byte, error) { return []byte("v"), nil })
		must(t, "Secret", err)
		if !bytes.Equal(got, []byte("v")) {
			t.Errorf("Secret after the failure: got %q, want %q", got, "v")
		}
	}},
	{"concurrent first calls agree on one value", func(t *testing.T, s portal.Store) {
		// Several rounds, each on a new name, give the calls many chances to overlap.
		ctx := t.Context()
		const n = 10
		for round := range 5 {
			name := fmt.Sprint("signing-key-", round)
			got := make([][]byte, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					got[i], errs[i] = s.Secret(ctx, name, func() ([]byte, error) {
						return fmt.Appendf(nil, "value-%d", i), nil
					})
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("round %d: Secret in goroutine %d: %v", round, i, errs[i])
				}
				if !bytes.Equal(got[i], got[0]) {
					t.Errorf("round %d: goroutine %d got %q, want %q like goroutine 0", round, i, got[i], got[0])
				}
			}
			if !bytes.HasPrefix(got[0], []byte("value-")) {
				t.Errorf("round %d: got %q, want one of the generated values", round, got[0])
			}
			again, err := s.Secret(ctx, name, func() ([]byte, error) { return []byte("late"), nil })
			must(t, "Secret", err)
			if !bytes.Equal(again, got[0]) {
				t.Errorf("round %d: Secret afterwards got %q, want %q", round, again, got[0])
			}
		}
	}},
}

// ----------------------------------------------------------------- basics

// wantMicro checks that a time from the store is set, whole microseconds
// and, if utc, in the UTC location.
func wantMicro(t *testing.T, what string, got time.Time, utc bool) {
	t.Helper()
	if got.IsZero() {
		t.Errorf("%s: got the zero time", what)
	}
	if utc && got.Location() != time.UTC {
		t.Errorf("%s: got location %v (%v), want UTC", what, got.Location(), got)
	}
	if got.Nanosecond()%1000 != 0 {
		t.Errorf("%s: got %v, want whole microseconds", what, got)
	}
}

// field reads an object and returns one of its times.
func field[T any](read func() (*T, error), get func(*T) time.Time) func() (time.Time, error) {
	return func() (time.Time, error) {
		x, err := read()
		if err != nil {
			return time.Time{}, err
		}
		return get(x), nil
	}
}

var basicCases = []storeCase{
	{"ping", func(t *testing.T, s portal.Store) {
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: got %v, want nil", err)
		}
	}},
	{"times round-trip to the microsecond", func(t *testing.T, s portal.Store) { testTimes(t, s, false) }},
	{"times come back in UTC", func(t *testing.T, s portal.Store) {
		testTimes(t, s, true)
	}},
	{"caller's last-seen time is kept to the microsecond in UTC", func(t *testing.T, s portal.Store) {
		testLastSeen(t, s)
	}},
}

// testTimes checks that the store's times are whole microseconds that read
// back equal, and if utc, that they are in the UTC location.
func testTimes(t *testing.T, s portal.Store, utc bool) {
	ctx := t.Context()
	adm := mustAdmin(t, s, "root", portal.RoleAdmin)
	g := mustGroup(t, s, "staff")
	u := mustUser(t, s, "ann", g.ID)
	app := mustApp(t, s, "mail")
	pol := mustPolicy(t, s, "strict", nil)
	asg := mustAssign(t, s, portal.Assignment{AppID: app.ID, GroupID: g.ID})
	dev := mustDevice(t, s, u.ID, "phone", "active")
	withArt, err := s.PutArtifact(ctx, app.ID, portal.Artifact{Platform: "linux-amd64", SHA256: strings.Repeat("a", 64), Size: 1})
	must(t, "PutArtifact", err)

	type pair struct {
		name       string
		made, read time.Time
	}
	var pairs []pair
	add := func(name string, made time.Time, read func() (time.Time, error)) {
		r, err := read()
		must(t, "read back "+name, err)
		pairs = append(pairs, pair{name: name, made: made, read: r})
	}
	admin := func() (*portal.Admin, error) { return s.Admin(ctx, adm.ID) }
	user := func() (*portal.User, error) { return s.User(ctx, u.ID) }
	appRead := func() (*portal.App, error) { return s.App(ctx, app.ID) }
	add("admin created", adm.CreatedAt, field(admin, func(x *portal.Admin) time.Time { return x.CreatedAt }))
	add("admin updated", adm.UpdatedAt, field(admin, func(x *portal.Admin) time.Time { return x.UpdatedAt }))
	add("group created", g.CreatedAt, field(func() (*portal.Group, error) { return s.Group(ctx, g.ID) },
		func(x *portal.Group) time.Time { return x.CreatedAt }))
	add("user created", u.CreatedAt, field(user, func(x *portal.User) time.Time { return x.CreatedAt }))
	add("user updated", u.UpdatedAt, field(user, func(x *portal.User) time.Time { return x.UpdatedAt }))
	add("app updated", withArt.UpdatedAt, field(appRead, func(x *portal.App) time.Time { return x.UpdatedAt }))
	add("artifact uploaded", withArt.Artifacts[0].UploadedAt, field(appRead, func(x *portal.App) time.Time { return x.Artifacts[0].UploadedAt }))
	add("policy created", pol.CreatedAt, field(func() (*portal.Policy, error) { return s.Policy(ctx, pol.ID) },
		func(x *portal.Policy) time.Time { return x.CreatedAt }))
	add("assignment created", asg.CreatedAt, field(func() (*portal.Assignment, error) { return s.Assignment(ctx, asg.ID) },
		func(x *portal.Assignment) time.Time { return x.CreatedAt }))
	add("device created", dev.CreatedAt, field(func() (*portal.Device, error) { return s.Device(ctx, dev.ID) },
		func(x *portal.Device) time.Time { return x.CreatedAt }))
	log, err := s.Audit(ctx, portal.AuditFilter{})
	must(t, "Audit", err)
	pairs = append(pairs, pair{name: "audit entry", read: log.Items[0].At})

	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if !p.made.IsZero() {
				wantMicro(t, "as made", p.made, utc)
				if !p.read.Equal(p.made) {
					t.Errorf("read back: got %v, want %v", p.read, p.made)
				}
			}
			wantMicro(t, "read back", p.read, utc)
		})
	}
}

func testLastSeen(t *testing.T, s portal.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "ann")
	// 400 ns rounds and truncates to the same microsecond.
	seen := time.Date(2026, 3, 4, 5, 6, 7, 123456400, time.FixedZone("UTC+5", 5*3600))
	want := seen.UTC().Truncate(time.Microsecond)
	d := &portal.Device{UserID: u.ID, Platform: "linux-amd64", Status: "active", LastSeenAt: &seen}
	must(t, "CreateDevice", s.CreateDevice(ctx, d))
	got, err := s.Device(ctx, d.ID)
	must(t, "Device", err)
	for what, ls := range map[string]*time.Time{"CreateDevice result": d.LastSeenAt, "Device(id)": got.LastSeenAt} {
		if ls == nil || !ls.Equal(want) || ls.Location() != time.UTC {
			t.Errorf("%s: got last seen %v, want %v", what, ls, want)
		}
	}
}
