package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"provportal/portal"
	"provportal/portal/auth"
)

func TestSignInSetsASessionCookie(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.get("/admin").wantRedirect(t, "/admin/login")

	form := b.get("/admin/login").want(t, http.StatusOK).wantText(t, `<label for="f-username">`, `<label for="f-password">`)
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/admin/login",
		strings.NewReader(url.Values{"csrf_token": {form.csrf(t)}, "username": {"root"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		t.Fatalf("sign-in answered %d to %q, want 303 to /admin", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/admin" || session.Secure {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/admin, not Secure over plain HTTP", session)
	}
	// The cookie holds the API's own token: it works as a bearer token.
	if claims, err := env.Tokens.Parse(session.Value); err != nil || claims.Username != "root" {
		t.Errorf("the cookie's token parses as %+v, %v", claims, err)
	}
	b.get("/admin").want(t, http.StatusOK).wantText(t, "Dashboard", "root")
	// Signed on, the sign-in page sends the browser on.
	b.get("/admin/login").wantRedirect(t, "/admin")
}

func TestSessionCookieIsSecureBehindHTTPS(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	form := b.get("/admin/login")
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/admin/login",
		strings.NewReader(url.Values{"csrf_token": {form.csrf(t)}, "username": {"root"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A TLS-terminating proxy on this machine says the browser used HTTPS.
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie && !c.Secure {
			t.Errorf("session cookie over HTTPS is not Secure: %+v", c)
		}
	}
}

func TestSignInRefusals(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	signIn := func(user, pass string) *page {
		form := b.get("/admin/login")
		return b.post("/admin/login", url.Values{"csrf_token": {form.csrf(t)}, "username": {user}, "password": {pass}})
	}
	signIn("root", "").want(t, http.StatusUnprocessableEntity).wantText(t, "Username and password are both required.", `value="root"`)
	for i := range portal.FreeAccountFailures {
		signIn("root", "wrong-password").want(t, http.StatusUnauthorized).wantText(t, "Username or password is incorrect.")
		if b.cookie(sessionCookie) != nil {
			t.Fatalf("failure %d left a session cookie", i+1)
		}
	}
	// The account is now slowed down, even with the right password.
	p := signIn("root", password).want(t, http.StatusTooManyRequests).wantText(t, "try again in ", " seconds")
	if s, err := strconv.Atoi(p.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q, want whole seconds", p.Header.Get("Retry-After"))
	}
	if b.cookie(sessionCookie) != nil {
		t.Fatal("a throttled sign-in set a session cookie")
	}
}

func TestSignInFormNeedsItsCSRFToken(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.get("/admin/login")
	for name, tok := range map[string]string{"missing": "", "forged": "AAAA", "for_a_session": env.Console.csrfToken("session", "x")} {
		t.Run(name, func(t *testing.T) {
			b.post("/admin/login", url.Values{"csrf_token": {tok}, "username": {"root"}, "password": {password}}).
				want(t, http.StatusForbidden).wantText(t, "sign in again")
			if b.cookie(sessionCookie) != nil {
				t.Fatal("a sign-in without a valid CSRF token set a session cookie")
			}
		})
	}
}

func TestPostWithoutValidCSRFTokenIsRefused(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.signIn("root")
	other := env.browser()
	otherToken := other.signIn("root")

	for name, tok := range map[string][]string{"missing": nil, "empty": {""}, "forged": {"bm90LWEtdG9rZW4"}, "another_session": {otherToken}} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"name": {"Sales"}}
			if tok != nil {
				form["csrf_token"] = tok
			}
			b.post("/admin/groups", form).want(t, http.StatusForbidden).wantText(t, "nothing was changed")
			if n := env.countGroups(); n != 0 {
				t.Fatalf("%d groups after a refused POST, want 0", n)
			}
			// Sign-out is a POST too: without the token it keeps the session.
			b.post("/admin/logout", form).want(t, http.StatusForbidden)
			b.get("/admin").want(t, http.StatusOK)
		})
	}
}

func TestExpiredOrOrphanedSessionGoesToSignIn(t *testing.T) {
	env := newConsole(t)
	ctx := context.Background()
	root, err := env.Store.AdminByUsername(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	// The same key, so only the expiry is wrong.
	expired, err := auth.NewTokens(env.Key, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := expired.Issue(root)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := auth.NewSigningKey()
	foreign, _ := auth.NewTokens(otherKey, time.Hour)
	forged, _, _ := foreign.Issue(root)
	gone := env.addAdmin("gone", portal.RoleAdmin)
	orphan, _, _ := env.Tokens.Issue(gone)
	if err := env.Store.DeleteAdmin(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}

	for name, token := range map[string]string{"expired": old, "other_key": forged, "admin_deleted": orphan, "garbage": "not.a.token"} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, env.URL+"/admin/users", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
			p := env.browser().do(req).wantRedirect(t, "/admin/login?ended=1")
			cleared := false
			for _, line := range p.Header.Values("Set-Cookie") {
				if strings.HasPrefix(line, sessionCookie+"=;") && strings.Contains(line, "Max-Age=0") {
					cleared = true
				}
			}
			if !cleared {
				t.Errorf("the dead session's cookie was not cleared: %q", p.Header.Values("Set-Cookie"))
			}
		})
	}
	env.browser().get("/admin/login?ended=1").want(t, http.StatusOK).wantText(t, "Your session has ended")
}

func TestSignOutClearsTheCookie(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	b.post("/admin/logout", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/login?signed_out=1")
	if b.cookie(sessionCookie) != nil {
		t.Fatal("the session cookie survived sign-out")
	}
	b.get("/admin").wantRedirect(t, "/admin/login")
	b.get("/admin/login?signed_out=1").want(t, http.StatusOK).wantText(t, "You have signed out.")
}

func TestHelpdeskReadsButCannotChange(t *testing.T) {
	env := newConsole(t)
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	g := portal.Group{Name: "Sales"}
	if err := env.Store.CreateGroup(ctx, &g); err != nil {
		t.Fatal(err)
	}
	u := portal.User{Username: "alice", Groups: []string{g.ID}}
	if err := env.Store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	tok := b.signIn("help")

	b.get("/admin/users").want(t, http.StatusOK).wantText(t, "alice", "Sales").
		wantNoText(t, "Add a user", "/admin/users/"+u.ID+"/edit", "/delete")
	b.get("/admin/groups").want(t, http.StatusOK).wantText(t, "Sales").
		wantNoText(t, "Add a group", "/edit", "/delete")
	b.get("/admin").want(t, http.StatusOK).wantText(t, "helpdesk")

	for _, path := range []string{"/admin/users/new", "/admin/users/" + u.ID + "/edit", "/admin/users/" + u.ID + "/delete",
		"/admin/groups/new", "/admin/groups/" + g.ID + "/edit", "/admin/groups/" + g.ID + "/delete"} {
		b.get(path).want(t, http.StatusForbidden).wantText(t, "The helpdesk role may not do this; ask an administrator.")
	}
	posts := map[string]url.Values{
		"/admin/groups":                     {"name": {"Ops"}},
		"/admin/groups/" + g.ID:             {"name": {"Renamed"}},
		"/admin/groups/" + g.ID + "/delete": {},
		"/admin/users":                      {"username": {"bob"}},
		"/admin/users/" + u.ID:              {"username": {"mallory"}},
		"/admin/users/" + u.ID + "/delete":  {},
	}
	for path, form := range posts {
		form.Set("csrf_token", tok)
		b.post(path, form).want(t, http.StatusForbidden).wantText(t, "The helpdesk role may not do this; ask an administrator.")
	}
	if n := env.countGroups(); n != 1 {
		t.Errorf("%d groups after refused changes, want 1", n)
	}
	if got, err := env.Store.User(ctx, u.ID); err != nil || got.Username != "alice" {
		t.Errorf("user after refused changes: %+v, %v", got, err)
	}
	if page, _ := env.Store.Users(ctx, portal.ListOptions{}); page.Total != 1 {
		t.Errorf("%d users after refused changes, want 1", page.Total)
	}
	// Signing out is the one POST the helpdesk makes here.
	b.post("/admin/logout", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/login?signed_out=1")
}
