package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// cheapHash keeps tests quick; production uses auth.DefaultParams.
var cheapHash = auth.Params{Memory: 64, Time: 1, Threads: 1}

const adminPassword = "correct-horse-battery"

// databases are the backends the portal is tested and measured on.
var databases = []struct {
	name string
	cfg  func(t testing.TB) gormstore.Config
}{
	{"sqlite", func(t testing.TB) gormstore.Config { return gormstore.Config{SQLitePath: testdb.SQLitePath(t)} }},
	{"postgres", func(t testing.TB) gormstore.Config { return gormstore.Config{DatabaseURL: testdb.PostgresURL(t)} }},
}

// backends runs fn once on SQLite and once on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, open func(t *testing.T) *gormstore.Store)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			fn(t, func(t *testing.T) *gormstore.Store { return openStore(t, db.cfg(t)) })
		})
	}
}

// benchBackends runs fn as a sub-benchmark on SQLite and on PostgreSQL,
// each run with a migrated store of its own.
func benchBackends(b *testing.B, fn func(b *testing.B, st *gormstore.Store)) {
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) { fn(b, openStore(b, db.cfg(b))) })
	}
}

func openStore(t testing.TB, cfg gormstore.Config) *gormstore.Store {
	t.Helper()
	st, err := gormstore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor waits for cond, failing the test when it does not come.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// standInExecutable is a file for the bootloader library to take as its
// own executable, which it copies into the install folder.
func standInExecutable(t testing.TB) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "bootloader-under-test")
	if err := os.WriteFile(exe, []byte("a stand-in executable"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// portalEnv is a portal served on loopback with an administrator logged on.
type portalEnv struct {
	t     testing.TB
	URL   string
	Token string
	Store *gormstore.Store
	Srv   *Server
	cfg   Config
}

type option func(*Config)

func newPortal(t testing.TB, st *gormstore.Store, opts ...option) *portalEnv {
	t.Helper()
	// The server starts first so links the portal writes name its real address.
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.HashParams = cheapHash
	cfg.PublicURL = ts.URL
	cfg.BootloaderDir = t.TempDir()
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(context.Background(), cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	e := &portalEnv{t: t, URL: ts.URL, Store: st, Srv: srv, cfg: cfg}
	e.addAdmin("root", portal.RoleAdmin)
	e.Token = e.login("root", adminPassword)
	return e
}

func (e *portalEnv) addAdmin(name string, role portal.Role) *portal.Admin {
	e.t.Helper()
	hash, err := auth.HashPassword(adminPassword, cheapHash)
	if err != nil {
		e.t.Fatal(err)
	}
	a := &portal.Admin{Username: name, Role: role, PasswordHash: hash}
	if err := e.Store.CreateAdmin(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *portalEnv) login(user, password string) string {
	e.t.Helper()
	res := e.call("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": password})
	res.want(http.StatusOK)
	var out struct{ Token string }
	res.decode(&out)
	if out.Token == "" {
		e.t.Fatalf("login as %s: no token in %s", user, res.Body)
	}
	return out.Token
}

// response is an answered request.
type response struct {
	t      testing.TB
	what   string
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) want(status int) *response {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s: status %d, want %d; body %s", r.what, r.Status, status, r.Body)
	}
	return r
}

// wantError checks the status and the stable error code of an error answer.
func (r *response) wantError(status int, code portal.Code) *response {
	r.t.Helper()
	r.want(status)
	var body struct {
		Error struct {
			Code    portal.Code
			Message string
			Field   string
		}
	}
	r.decode(&body)
	if body.Error.Code != code || body.Error.Message == "" {
		r.t.Fatalf("%s: error %+v, want code %s with a message", r.what, body.Error, code)
	}
	return r
}

func (r *response) field() string {
	var body struct{ Error struct{ Field string } }
	r.decode(&body)
	return body.Error.Field
}

func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("%s: decoding %s: %v", r.what, r.Body, err)
	}
}

func (r *response) id() string {
	var v struct{ ID string }
	r.decode(&v)
	return v.ID
}

// call sends a request with the given token; body is JSON-encoded unless it is raw bytes or a string.
func (e *portalEnv) call(method, path, token string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{t: e.t, what: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: raw}
}

// as is call with the administrator's token.
func (e *portalEnv) as(method, path string, body any) *response {
	e.t.Helper()
	return e.call(method, path, e.Token, body)
}

// count returns the total of a list endpoint.
func (e *portalEnv) count(path string) int {
	e.t.Helper()
	var page struct{ Total int }
	e.as("GET", path, nil).want(http.StatusOK).decode(&page)
	return page.Total
}
