package web

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/admin/api"
	"provportal/packages/activation"
	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
	pweb "provportal/portal/web"
)

// cheapHash keeps tests quick; the portal uses auth.DefaultParams.
var cheapHash = auth.Params{Memory: 64, Time: 1, Threads: 1}

const password = "correct-horse-battery"

// consoleEnv is a console served on loopback over a real SQLite store,
// mounted the way the portal mounts it.
type consoleEnv struct {
	t       *testing.T
	URL     string
	Store   *gormstore.Store
	Key     []byte
	Tokens  *auth.Tokens
	Console *Console
	Blobs   *blob.Store
}

func newConsole(t *testing.T) *consoleEnv {
	t.Helper()
	return newConsoleWith(t, nil)
}

// newConsoleWith is newConsole with changes to the console's Config.
func newConsoleWith(t *testing.T, configure func(*Config)) *consoleEnv {
	t.Helper()
	st, err := gormstore.Open(gormstore.Config{SQLitePath: testdb.SQLitePath(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, err := auth.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	blobs, err := blob.Open(filepath.Join(t.TempDir(), "blobs"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = pweb.ErrorHandler(log)
	srv := httptest.NewUnstartedServer(e)
	publicURL := "http://" + srv.Listener.Addr().String()
	// The admin API the console calls, mounted as the portal mounts it.
	kdf := activation.Argon2Params{Time: 1, Memory: 64, Threads: 1}
	api.New(api.Config{Store: st, Blobs: blobs, Tokens: tokens, PhoneRegion: "US", HashParams: cheapHash,
		Provisioning: api.Provisioning{PublicURL: publicURL, OrgName: "Example Corp", InvitationTTL: time.Hour},
		DerivePRS: func(password string) ([]byte, []byte, string, error) {
			salt := activation.NewSalt()
			params, err := json.Marshal(kdf)
			return activation.PRS(password, salt, kdf), salt, string(params), err
		}}).Register(e.Group("/api/v1"))
	cfg := Config{Store: st, Tokens: tokens, TokenKey: key, PhoneRegion: "US", HashParams: cheapHash, Log: log,
		PublicURL: publicURL, OrgName: "Example Corp", API: e}
	if configure != nil {
		configure(&cfg)
	}
	con, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	con.Register(e)
	srv.Start()
	t.Cleanup(srv.Close)
	env := &consoleEnv{t: t, URL: srv.URL, Store: st, Key: key, Tokens: tokens, Console: con, Blobs: blobs}
	env.addAdmin("root", portal.RoleAdmin)
	env.addAdmin("help", portal.RoleHelpdesk)
	return env
}

func (e *consoleEnv) addAdmin(name string, role portal.Role) *portal.Admin {
	e.t.Helper()
	hash, err := auth.HashPassword(password, cheapHash)
	if err != nil {
		e.t.Fatal(err)
	}
	a := &portal.Admin{Username: name, Role: role, PasswordHash: hash}
	if err := e.Store.CreateAdmin(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// browser is a cookie-keeping client that shows redirects instead of following them.
type browser struct {
	t   *testing.T
	env *consoleEnv
	c   *http.Client
}

func (e *consoleEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, env: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.env.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the token in a page's forms.
func (p *page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", p.Body)
	}
	return m[1]
}

func (p *page) want(t *testing.T, status int) *page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.Status, status, p.Body)
	}
	return p
}

func (p *page) wantRedirect(t *testing.T, to string) *page {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != to {
		t.Fatalf("status %d to %q, want 303 to %q; body:\n%s", p.Status, p.Header.Get("Location"), to, p.Body)
	}
	return p
}

// wantText looks for each text in the page's markup or, since templates
// escape characters such as + and ', in its unescaped text.
func (p *page) wantText(t *testing.T, texts ...string) *page {
	t.Helper()
	plain := html.UnescapeString(p.Body)
	for _, s := range texts {
		if !strings.Contains(p.Body, s) && !strings.Contains(plain, s) {
			t.Fatalf("the page lacks %q:\n%s", s, p.Body)
		}
	}
	return p
}

func (p *page) wantNoText(t *testing.T, texts ...string) *page {
	t.Helper()
	plain := html.UnescapeString(p.Body)
	for _, s := range texts {
		if strings.Contains(p.Body, s) || strings.Contains(plain, s) {
			t.Fatalf("the page shows %q, which it should not:\n%s", s, p.Body)
		}
	}
	return p
}

// signIn signs on through the form and returns the dashboard's CSRF token.
func (b *browser) signIn(username string) string {
	b.t.Helper()
	form := b.get("/admin/login").want(b.t, http.StatusOK)
	b.post("/admin/login", url.Values{"csrf_token": {form.csrf(b.t)}, "username": {username}, "password": {password}}).
		wantRedirect(b.t, "/admin")
	return b.get("/admin").want(b.t, http.StatusOK).csrf(b.t)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.env.URL + "/admin/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (e *consoleEnv) countGroups() int {
	e.t.Helper()
	p, err := e.Store.Groups(context.Background(), portal.ListOptions{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Total
}
