package gormstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"provportal/migrations"
	"provportal/portal"
	"provportal/portal/storetest"
	"provportal/portal/testdb"
)

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m))
}

// backends opens a fresh, unmigrated store of each kind.
var backends = []struct {
	name string
	cfg  func(t *testing.T) Config
}{
	{"sqlite", func(t *testing.T) Config { return Config{SQLitePath: testdb.SQLitePath(t)} }},
	{"postgres", func(t *testing.T) Config { return Config{DatabaseURL: testdb.PostgresURL(t)} }},
}

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openMigrated(t *testing.T, cfg Config) *Store {
	t.Helper()
	s := openStore(t, cfg)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) portal.Store { return openMigrated(t, b.cfg(t)) })
		})
	}
}

// migrationCount is how many migrations the dialect has.
func migrationCount(t *testing.T, dialect string) int {
	t.Helper()
	fsys, err := migrations.FS(dialect)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s migrations", dialect)
	}
	return len(files)
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, b.cfg(t))
			n, err := s.Migrate(t.Context())
			if err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			if got, want := n, migrationCount(t, s.Dialect()); got != want {
				t.Errorf("first Migrate applied %d, want %d", got, want)
			}
			n, err = s.Migrate(t.Context())
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if got, want := n, 0; got != want {
				t.Errorf("second Migrate applied %d, want %d", got, want)
			}
			if err := s.CreateGroup(t.Context(), &portal.Group{Name: "staff"}); err != nil {
				t.Errorf("store after migrating twice: %v", err)
			}
		})
	}
}

// TestDuplicateKeyIsTranslated checks that the driver really reports unique
// violations as gorm.ErrDuplicatedKey (TranslateError), which duplicate()
// relies on when two requests race past the store's own checks.
func TestDuplicateKeyIsTranslated(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := openMigrated(t, b.cfg(t))
			ctx := t.Context()
			u := &portal.User{Username: "ann", Email: "ann@example.com"}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			err := s.CreateUser(ctx, &portal.User{Username: "ANN"})
			if got, want := portal.CodeOf(err), portal.CodeConflict; got != want {
				t.Errorf("store duplicate: got code %s (%v), want %s", got, err, want)
			}

			t1 := now()
			tests := []struct {
				name string
				row  any
			}{
				{"unique index on lower(username)", &userRow{ID: newID(), Username: "Ann", CreatedAt: t1, UpdatedAt: t1}},
				{"partial unique index on lower(email)", &userRow{ID: newID(), Username: "bob", Email: "ANN@example.com", CreatedAt: t1, UpdatedAt: t1}},
				{"primary key", &userRow{ID: u.ID, Username: "cid", CreatedAt: t1, UpdatedAt: t1}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := s.db.WithContext(ctx).Omit("Groups").Create(tt.row).Error
					if !errors.Is(err, gorm.ErrDuplicatedKey) {
						t.Fatalf("raw duplicate insert: got %v (%T), want gorm.ErrDuplicatedKey", err, err)
					}
					if got, want := portal.CodeOf(duplicate(err, "dup")), portal.CodeConflict; got != want {
						t.Errorf("duplicate(): got code %s, want %s", got, want)
					}
				})
			}
		})
	}
}

func TestSQLiteWALAndForeignKeys(t *testing.T) {
	t.Parallel()
	s := openMigrated(t, Config{SQLitePath: testdb.SQLitePath(t)})
	ctx := t.Context()
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	// Every pooled connection must have the pragmas, not just the first:
	// hold several at once so the pool opens new ones.
	for i := range 4 {
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var mode string
		var fk int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 {
			t.Errorf("connection %d: got journal_mode %q, foreign_keys %d; want %q, 1", i, mode, fk, "wal")
		}
	}
	err = s.db.WithContext(ctx).Create(&userGroupRow{UserID: "no-such-user", GroupID: "no-such-group"}).Error
	if !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Errorf("membership of unknown user and group: got %v, want gorm.ErrForeignKeyViolated", err)
	}
}

func TestSQLiteConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := openMigrated(t, Config{SQLitePath: testdb.SQLitePath(t)})
	ctx := t.Context()
	g := &portal.Group{Name: "staff"}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateUser(ctx, &portal.User{Username: fmt.Sprint("user", i), Groups: []string{g.ID}})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateUser %d: %v", i, err)
		}
	}
	p, err := s.Users(ctx, portal.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Total, n; got != want {
		t.Errorf("users: got %d, want %d", got, want)
	}
	got, err := s.Group(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.Members, n; got != want {
		t.Errorf("members: got %d, want %d", got, want)
	}
	log, err := s.Audit(ctx, portal.AuditFilter{Kind: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := log.Total, n; got != want {
		t.Errorf("user audit entries: got %d, want %d", got, want)
	}
}

func TestPostgresConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dbURL := testdb.PostgresURL(t)
	stores := []*Store{openStore(t, Config{DatabaseURL: dbURL}), openStore(t, Config{DatabaseURL: dbURL})}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	applied := make([]int, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = s.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on store %d: %v", i, err)
		}
	}
	if got, want := applied[0]+applied[1], migrationCount(t, "postgres"); got != want || min(applied[0], applied[1]) != 0 {
		t.Errorf("migrations applied: got %v, want %d by one store and 0 by the other", applied, want)
	}
	for i, s := range stores {
		if err := s.CreateGroup(ctx, &portal.Group{Name: fmt.Sprint("group", i)}); err != nil {
			t.Errorf("store %d after migrating: %v", i, err)
		}
	}
}
