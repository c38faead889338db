package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// server is the PostgreSQL server test databases are created on.
type server struct {
	admin *sql.DB // connected to base; creates and drops the test databases
	base  url.URL // test database URLs differ from it only in the path
	stop  func()  // tears down a cluster this binary started; nil for DATABASE_URL
}

// The server is set up at most once per test binary, on first use, and a
// failure is remembered so later tests skip or fail at once instead of
// paying for another doomed start.
var (
	once   sync.Once
	srv    *server
	srvErr error
)

func getServer() (*server, error) {
	once.Do(func() { srv, srvErr = connect() })
	return srv, srvErr
}

// PostgresURL returns the URL of a fresh, empty PostgreSQL database for this test, dropped in t.Cleanup.
//
// With DATABASE_URL set, the database is created on that server (its user
// needs CREATE DATABASE). Otherwise the first call starts a PostgreSQL
// cluster from the initdb and pg_ctl on PATH, shared by the whole test binary;
// call Main from TestMain so it is stopped at the end. If PostgreSQL cannot be
// had, the test is skipped, or fails when CI=true.
func PostgresURL(t testing.TB) string {
	t.Helper()
	s, err := getServer()
	if err != nil {
		switch {
		case os.Getenv("DATABASE_URL") != "":
			// The server was asked for explicitly: skipping would hide a misconfiguration.
			t.Fatalf("testdb: DATABASE_URL: %v", err)
		case inCI():
			t.Fatalf("testdb: PostgreSQL not available: %v (CI=true, so this is a failure; set DATABASE_URL or install PostgreSQL 15)", err)
		default:
			t.Skipf("PostgreSQL not available: %v; set DATABASE_URL or install PostgreSQL 15", err)
		}
	}

	// A random name keeps parallel tests, and test binaries sharing one
	// DATABASE_URL server, apart. It is lowercase hex, so it needs no quoting.
	b := make([]byte, 8)
	rand.Read(b) // never fails
	name := "t_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends connections the test left open, which would otherwise block the drop.
		if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: dropping database %s: %v", name, err)
		}
	})

	u := s.base
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// SQLitePath returns a path for a new SQLite database file in t.TempDir().
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "portal.db")
}

// Main wraps testing.M: call `os.Exit(testdb.Main(m))` from TestMain so a cluster started for this binary is stopped at the end.
func Main(m *testing.M) int {
	code := m.Run()
	// All tests are done, so nothing can still be starting a server; the
	// no-op Do makes reading srv race-free and keeps a stray later call
	// from starting a cluster nobody would stop.
	once.Do(func() {})
	if srv != nil {
		srv.admin.Close()
		if srv.stop != nil {
			srv.stop()
		}
	}
	return code
}

// connect returns the server named by DATABASE_URL, or else starts a cluster.
func connect() (*server, error) {
	if raw := os.Getenv("DATABASE_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// The URL itself is not echoed: it may hold a password.
			return nil, fmt.Errorf("not a postgres:// URL")
		}
		return open(*u, nil)
	}
	u, stop, err := startCluster()
	if err != nil {
		return nil, err
	}
	s, err := open(u, stop)
	if err != nil {
		stop()
	}
	return s, err
}

func open(u url.URL, stop func()) (*server, error) {
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return &server{admin: db, base: u, stop: stop}, nil
}

// inCI reports whether CI is set to a true value, as CI services do; there a
// missing PostgreSQL means a broken setup rather than a laptop without one.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
