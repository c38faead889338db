package web

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/admin/api"
	"provportal/portal"
)

// liveSessions stands for the portal's collaboration service, which holds
// live sessions in memory: the page reads and ends them through the API.
type liveSessions struct {
	mu    sync.Mutex
	items []portal.CollaborationSession
	ended []string
}

func (l *liveSessions) Sessions(context.Context) ([]portal.CollaborationSession, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]portal.CollaborationSession(nil), l.items...), nil
}

func (l *liveSessions) EndSession(_ context.Context, id string) (portal.CollaborationSession, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range l.items {
		if s.ID == id {
			l.items = append(l.items[:i], l.items[i+1:]...)
			l.ended = append(l.ended, id)
			return s, nil
		}
	}
	return portal.CollaborationSession{}, portal.Errorf(portal.CodeNotFound, "collaboration session %s not found", id)
}

// newCollabConsole is a console whose admin API lists the given live sessions.
func newCollabConsole(t *testing.T, live *liveSessions) *consoleEnv {
	t.Helper()
	return newConsoleWith(t, func(c *Config) {
		e := echo.New()
		e.HTTPErrorHandler = c.API.(*echo.Echo).HTTPErrorHandler
		api.New(api.Config{Store: c.Store.(portal.Store), Tokens: c.Tokens, HashParams: cheapHash, Collaboration: live}).Register(e.Group("/api/v1"))
		c.API = e
	})
}

func TestCollaborationPageListsAndEndsSessions(t *testing.T) {
	since := time.Now().Add(-time.Hour).UTC()
	grace := time.Now().Add(time.Minute).UTC()
	live := &liveSessions{items: []portal.CollaborationSession{
		{ID: "s-active", UserID: "u1", Username: "alice", DeviceID: "d1", DeviceName: "alice-laptop", JID: "alice@example.com/laptop",
			Since: since, LastStatusAt: since, State: portal.SessionActive, InCoverage: true},
		{ID: "s-away", UserID: "u2", Username: "bob", DeviceID: "d2", DeviceName: "bob-phone", JID: "bob@example.com/phone",
			Since: since, LastStatusAt: since, State: portal.SessionAway, GraceUntil: &grace},
	}}
	env := newCollabConsole(t, live)
	b := env.browser()
	b.signIn("root")
	p := b.get("/admin/collaboration").want(t, http.StatusOK)
	p.wantText(t, `href="/admin/collaboration" aria-current="page">Collaboration</a>`, "2 sessions",
		"alice", "alice-laptop", "alice@example.com/laptop", "In coverage", "bob-phone", "Out of coverage", "Kept until",
		`action="/admin/collaboration/sessions/s-away/end"`, `name="max_sessions"`, `name="server.domain"`)

	b.post("/admin/collaboration/sessions/s-away/end", url.Values{"csrf_token": {p.csrf(t)}}).wantRedirect(t, "/admin/collaboration")
	p = b.get("/admin/collaboration").want(t, http.StatusOK)
	p.wantText(t, "The session was ended", "1 session").wantNoText(t, "bob-phone")
	if len(live.ended) != 1 || live.ended[0] != "s-away" {
		t.Errorf("ended %v, want s-away", live.ended)
	}
	entries, err := env.Store.Audit(context.Background(), portal.AuditFilter{Kind: "collaboration_session"})
	if err != nil || entries.Total != 1 || entries.Items[0].Actor != "root" {
		t.Errorf("audit %+v (%v), want root's end of the session", entries.Items, err)
	}
	b.post("/admin/collaboration/sessions/s-away/end", url.Values{"csrf_token": {p.csrf(t)}}).want(t, http.StatusNotFound)
}

func TestCollaborationPageSettings(t *testing.T) {
	env := newCollabConsole(t, &liveSessions{})
	b := env.browser()
	csrf := b.signIn("root")
	p := b.get("/admin/collaboration").want(t, http.StatusOK)
	p.wantText(t, "No device is logged on", `value="2m"`)

	form := url.Values{"csrf_token": {csrf}, "max_sessions": {"50"}, "idle_timeout": {"90s"}, "grace_window": {"3m"},
		"server.host": {"xmpp.example.com"}, "server.port": {"5222"}, "server.domain": {"example.com"}, "server.max_connections": {"0"}}
	b.post("/admin/collaboration/settings", form).wantRedirect(t, "/admin/collaboration")
	got, err := env.Store.CollaborationSettings(context.Background())
	if err != nil || got.MaxSessions != 50 || got.IdleTimeout != portal.Duration(90*time.Second) || got.Server.Domain != "example.com" {
		t.Fatalf("stored %+v (%v), want the form's settings", got, err)
	}
	b.get("/admin/collaboration").want(t, http.StatusOK).wantText(t, "settings were saved", `value="1m30s"`, `value="xmpp.example.com"`)

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("idle_timeout", "soon")
	bad.Set("server.port", "port")
	p = b.post("/admin/collaboration/settings", bad).want(t, http.StatusUnprocessableEntity)
	p.wantText(t, "Please correct", `value="soon"`, `aria-invalid="true"`)
	if again, _ := env.Store.CollaborationSettings(context.Background()); again != got {
		t.Errorf("a refused form changed the settings to %+v", again)
	}
}

func TestCollaborationPageHelpdeskReadOnly(t *testing.T) {
	live := &liveSessions{items: []portal.CollaborationSession{{ID: "s1", UserID: "u1", Username: "alice", DeviceID: "d1",
		Since: time.Now(), LastStatusAt: time.Now(), State: portal.SessionIdle, InCoverage: true}}}
	env := newCollabConsole(t, live)
	b := env.browser()
	csrf := b.signIn("help")
	p := b.get("/admin/collaboration").want(t, http.StatusOK)
	p.wantText(t, "alice", "In coverage, idle", "Session cap", "not set").
		wantNoText(t, `action="/admin/collaboration/settings"`, `/sessions/s1/end`)
	b.post("/admin/collaboration/sessions/s1/end", url.Values{"csrf_token": {csrf}}).want(t, http.StatusForbidden)
	b.post("/admin/collaboration/settings", url.Values{"csrf_token": {csrf}, "max_sessions": {"1"}}).want(t, http.StatusForbidden)
	if len(live.ended) != 0 {
		t.Errorf("the helpdesk ended %v", live.ended)
	}
}

func TestCollaborationPageGroups(t *testing.T) {
	env := newCollabConsole(t, &liveSessions{})
	ctx := context.Background()
	on := true
	nurses := &portal.Group{Name: "nurses"}
	porters := &portal.Group{Name: "porters", Collaboration: on}
	for _, g := range []*portal.Group{nurses, porters} {
		if err := env.Store.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	b := env.browser()
	csrf := b.signIn("root")
	p := b.get("/admin/collaboration").want(t, http.StatusOK)
	p.wantText(t, "Who may collaborate", `value="`+nurses.ID+`">`, `value="`+porters.ID+`" checked>`)

	b.post("/admin/collaboration/groups", url.Values{"csrf_token": {csrf}, "group": {nurses.ID}}).wantRedirect(t, "/admin/collaboration")
	b.get("/admin/collaboration").want(t, http.StatusOK).wantText(t, "2 groups changed")
	for _, tc := range []struct {
		g    *portal.Group
		want bool
	}{{nurses, true}, {porters, false}} {
		got, err := env.Store.Group(ctx, tc.g.ID)
		if err != nil || got.Collaboration != tc.want {
			t.Errorf("%s: collaboration %v (%v), want %v", tc.g.Name, got.Collaboration, err, tc.want)
		}
	}
	entries, _ := env.Store.Audit(ctx, portal.AuditFilter{Kind: "group"})
	updates := 0
	for _, e := range entries.Items {
		if e.Action == "update" && e.Actor == "root" {
			updates++
		}
	}
	if updates != 2 {
		t.Errorf("%d group updates by root in the audit log, want 2", updates)
	}

	help := env.browser()
	helpCSRF := help.signIn("help")
	help.get("/admin/collaboration").want(t, http.StatusOK).wantText(t, "<li>nurses</li>").wantNoText(t, `action="/admin/collaboration/groups"`)
	help.post("/admin/collaboration/groups", url.Values{"csrf_token": {helpCSRF}}).want(t, http.StatusForbidden)
}
