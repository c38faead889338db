package testdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"provportal/portal/testdb"
)

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m))
}

// connect opens dbURL and checks that it accepts a connection.
func connect(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("connecting to %s: %v", dbURL, err)
	}
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// dbName returns the database name in a URL from PostgresURL.
func dbName(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// roundTrip writes a row to a new table and reads it back.
func roundTrip(t *testing.T, db *sql.DB, table, value string) {
	t.Helper()
	mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, name text NOT NULL)", table))
	mustExec(t, db, fmt.Sprintf("INSERT INTO %s (id, name) VALUES (1, $1)", table), value)
	var got string
	if err := db.QueryRow(fmt.Sprintf("SELECT name FROM %s WHERE id = 1", table)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != value {
		t.Errorf("read back %q from %s, want %q", got, table, value)
	}
}

func TestPostgresURLGivesSeparateDatabases(t *testing.T) {
	t.Parallel()
	urlA, urlB := testdb.PostgresURL(t), testdb.PostgresURL(t)
	if dbName(t, urlA) == dbName(t, urlB) {
		t.Fatalf("two calls gave the same database: %s and %s", urlA, urlB)
	}
	a, b := connect(t, urlA), connect(t, urlB)

	for _, c := range []struct {
		db   *sql.DB
		want string
	}{{a, dbName(t, urlA)}, {b, dbName(t, urlB)}} {
		var got string
		if err := c.db.QueryRow("SELECT current_database()").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("connected to database %q, want %q", got, c.want)
		}
	}

	roundTrip(t, a, "widgets", "in a")
	roundTrip(t, b, "gadgets", "in b")

	// Each database sees only its own table.
	for _, c := range []struct {
		db           *sql.DB
		own, foreign string
	}{{a, "widgets", "gadgets"}, {b, "gadgets", "widgets"}} {
		var own, foreign bool
		err := c.db.QueryRow("SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
			c.own, c.foreign).Scan(&own, &foreign)
		if err != nil {
			t.Fatal(err)
		}
		if !own || foreign {
			t.Errorf("sees %s: %v, sees %s: %v; want true, false", c.own, own, c.foreign, foreign)
		}
	}
}

func TestPostgresURLParallel(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			roundTrip(t, connect(t, testdb.PostgresURL(t)), "items", fmt.Sprint("row ", i))
		})
	}
}

func TestPostgresURLDroppedAtCleanup(t *testing.T) {
	var dbURL string
	var db *sql.DB
	t.Run("use", func(t *testing.T) {
		dbURL = testdb.PostgresURL(t)
		// Opened without a cleanup, so a connection is still open when the
		// database is dropped, as when a test forgets to close one.
		var err error
		if db, err = sql.Open("pgx", dbURL); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, "CREATE TABLE leftovers (id int)")
	})
	if db != nil {
		defer db.Close()
	}
	if dbURL == "" || t.Failed() {
		t.Skip("no database to check")
	}

	// The subtest's cleanup has run: the database must be gone.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	var n int
	if err := connect(t, u.String()).QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after the test's cleanup", name)
	}
	if err := db.PingContext(context.Background()); err == nil {
		t.Errorf("connection to dropped database %s still works", name)
	}
}

// TestPostgresUnavailable runs this test binary again without any way to get
// PostgreSQL, and checks that a test needing it is skipped, or fails under CI.
func TestPostgresUnavailable(t *testing.T) {
	if os.Getenv("TESTDB_CHILD") != "" {
		testdb.PostgresURL(t)
		t.Fatal("PostgresURL returned without PostgreSQL")
	}
	t.Parallel()
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresUnavailable$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTDB_CHILD=1", "DATABASE_URL=", "PATH="+t.TempDir(), "CI="+ci)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") ||
		!strings.Contains(out, "PostgreSQL not available: initdb not found on PATH; set DATABASE_URL or install PostgreSQL 15") {
		t.Errorf("without CI: want a skip with a notice, got error %v and output:\n%s", err, out)
	}

	out, err = run("true")
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "initdb not found on PATH") {
		t.Errorf("with CI=true: want a failure, got error %v and output:\n%s", err, out)
	}
}

func TestSQLitePath(t *testing.T) {
	a, b := testdb.SQLitePath(t), testdb.SQLitePath(t)
	if a == b {
		t.Errorf("two calls gave the same path %s", a)
	}
	for _, p := range []string{a, b} {
		if filepath.Base(p) != "portal.db" {
			t.Errorf("path %s is not named portal.db", p)
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
			t.Errorf("directory of %s is missing: %v", p, err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s already exists: %v", p, err)
		}
	}
}
