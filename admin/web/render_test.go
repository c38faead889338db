package web

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"provportal/portal"
)

// pages every step of the console must keep.
var wantPages = []string{"login", "error", "confirm", "dashboard", "users", "user_form", "groups", "group_form", "sms", "audit"}

func TestRendererParsesEveryTemplate(t *testing.T) {
	as, err := loadAssets(files)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRenderer(files, as)
	if err != nil {
		t.Fatalf("the embedded templates do not parse: %v", err)
	}
	for _, name := range wantPages {
		if r.pages[name] == nil {
			t.Errorf("no page %q among %v", name, keys(r.pages))
		}
	}
	for _, name := range []string{"console.css", "icon.svg"} {
		if _, err := as.url(name); err != nil {
			t.Error(err)
		}
	}
}

func TestRendererRefusesBrokenTemplates(t *testing.T) {
	layout := &fstest.MapFile{Data: []byte(`{{define "layout"}}<main>{{template "content" .}}</main>{{end}}`)}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"broken_page", fstest.MapFS{"templates/layout.html": layout,
			"templates/users.html": {Data: []byte(`{{define "content"}}{{if .Page}}{{end}`)}}, "users.html"},
		{"page_without_content", fstest.MapFS{"templates/layout.html": layout,
			"templates/users.html": {Data: []byte(`<p>no content block</p>`)}}, `does not define "content"`},
		{"unknown_function", fstest.MapFS{"templates/layout.html": layout,
			"templates/users.html": {Data: []byte(`{{define "content"}}{{nosuch .}}{{end}}`)}}, "nosuch"},
		{"broken_layout", fstest.MapFS{"templates/layout.html": {Data: []byte(`{{define "layout"}}{{end`)}}, "layout.html"},
		{"no_layout", fstest.MapFS{"templates/layout.html": {Data: []byte(`plain`)}}, `does not define "layout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newRenderer(tt.fs, assets{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newRenderer = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestRendererRendersEveryPage runs every page with the data its handler
// gives it, so a template that parses but fails on execution is caught here.
func TestRendererRendersEveryPage(t *testing.T) {
	env := newConsole(t)
	admin := &portal.Admin{ID: "a1", Username: "root", Role: portal.RoleAdmin}
	fields, problems := withErrors([]field{
		{Name: "username", Label: "Username", Type: "text", Value: "alice", Required: true},
		{Name: "email", Label: "E-mail", Type: "email", Value: "not-an-email"},
		{Name: "description", Label: "Description", Type: "textarea", Value: "a <b>bold</b> claim"},
	}, formErrors{Fields: map[string]string{"email": "Must be a plain e-mail address such as alice@example.com"}, Form: []string{"Something else"}})
	list := paging("/admin/users", portal.ListOptions{Limit: 20, Offset: 20, Name: "al"}, 45, 20)
	fix, _ := portal.Troubleshoot(portal.FailDownload)
	pages := map[string]any{
		"login":   loginPage{Username: "root", Message: "Username or password is incorrect.", Alert: true, CSRF: "x"},
		"error":   errorPage{Heading: "Not allowed", Message: "No.", Back: "Back", BackTo: "/admin"},
		"confirm": confirmPage{Kind: "user", Name: "alice", Consequence: "Gone.", Action: "/admin/users/u1/delete", Cancel: "/admin/users"},
		"dashboard": dashboardPage{
			Devices:  deviceChart{Width: 360, Height: 56, Total: 3, Bars: []chartBar{{Label: "Installing", Count: 2, Width: 170, Track: 170}, {Label: "Failed", Count: 1, Failed: true}}},
			SMS:      []statusCount{{portal.SMSQueued, 2}, {portal.SMSFailed, 0}},
			SMSTotal: 2,
			Failures: []failure{{Device: portal.Device{ID: "d1", Name: "Pixel", Status: "failed", UpdatedAt: time.Now(),
				Error: &portal.DeviceError{Code: portal.FailDownload, Message: "gave up"}}, User: "alice", Fix: fix, Known: true}},
		},
		"users": usersPage{Users: []userRow{{User: portal.User{ID: "u1", Username: "alice", Email: "a@example.com"}, Groups: []string{"Sales", "Ops"}}}, List: list},
		"user_form": userFormPage{Editing: true, Name: "alice", Action: "/admin/users/u1", Fields: fields, Problems: problems,
			Groups: []groupChoice{{ID: "g1", Name: "Sales", Checked: true}}, RetypeSecret: true},
		"groups":     groupsPage{Groups: []portal.Group{{ID: "g1", Name: "Sales", Members: 2}}, List: list},
		"group_form": groupFormPage{Action: "/admin/groups", Fields: fields, Problems: problems},
		"sms": smsPage{Messages: []smsRow{{Message: portal.SMSMessage{ID: "m1", To: "+14155550101", Body: "a <b>bold</b> claim",
			Status: portal.SMSFailed, Attempts: 2, ErrorCode: "30007", ErrorMessage: "Carrier violation", CreatedAt: time.Now()}, User: "alice"}},
			List: list, Status: portal.SMSFailed, Statuses: []statusChoice{{Value: portal.SMSFailed, Label: "Failed", Selected: true}}},
		"audit": auditPage{Entries: []auditRow{{Entry: portal.AuditEntry{ID: 1, At: time.Now(), Actor: "root", RemoteAddr: "127.0.0.1",
			Action: "update", Kind: "group", ObjectID: "g1"}, Before: `{"name": "a <b>bold</b> claim"}`, After: `{"name": "Sales"}`}},
			List: list, Kind: "group", Filtered: true},
	}
	for _, name := range wantPages {
		t.Run(name, func(t *testing.T) {
			for _, who := range []*portal.Admin{admin, nil} {
				v := &view{Title: name, Section: "users", Admin: who, CSRF: "tok", CanWrite: who != nil, Flash: "Done.", Page: pages[name]}
				body, err := env.Console.pages.render(name, v)
				if err != nil {
					t.Fatal(err)
				}
				html := string(body)
				for _, want := range []string{"<!doctype html>", `<html lang="en">`, `name="viewport"`, "/admin/static/"} {
					if !strings.Contains(html, want) {
						t.Errorf("the page lacks %q", want)
					}
				}
				if strings.Contains(html, "<script") {
					t.Error("the page carries a script; the console needs none and its CSP allows none")
				}
				if strings.Contains(html, "<b>bold</b>") {
					t.Error("typed text was not escaped")
				}
			}
		})
	}
}

func TestStaticFilesAreHashedAndImmutable(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	u, err := env.Console.assets.url("console.css")
	if err != nil {
		t.Fatal(err)
	}
	res := b.get(u).want(t, http.StatusOK)
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control = %q, want a year and immutable", cc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q, want text/css", ct)
	}
	b.get(strings.Replace(u, env.Console.assets["console.css"].hash, "0000000000000000", 1)).want(t, http.StatusNotFound)
	b.get("/admin/static/x/nosuch.css").want(t, http.StatusNotFound)

	// The login page links the hashed file, not a bare name.
	b.get("/admin/login").want(t, http.StatusOK).wantText(t, `href="`+u+`"`)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
