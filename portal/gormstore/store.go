package gormstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"provportal/migrations"
	"provportal/portal"
)

// Config says which database to open.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	Logger      *slog.Logger
}

// Store implements portal.Store with gorm.
type Store struct {
	db      *gorm.DB
	dialect string // "postgres" or "sqlite"
	log     *slog.Logger
}

var _ portal.Store = (*Store)(nil)

// Open connects to the database. It does not change the schema: call Migrate.
func Open(cfg Config) (*Store, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	gcfg := &gorm.Config{
		TranslateError: true,
		Logger:         logger.Discard,
		NowFunc:        now,
	}
	var (
		dialector gorm.Dialector
		dialect   string
	)
	switch {
	case strings.HasPrefix(cfg.DatabaseURL, "postgres://"), strings.HasPrefix(cfg.DatabaseURL, "postgresql://"):
		pgcfg, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("database URL: %w", err)
		}
		// pgx reads timestamps in the process's local zone; the store speaks UTC on every backend.
		db := stdlib.OpenDB(*pgcfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
			c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
			return nil
		}))
		dialector, dialect = postgres.New(postgres.Config{Conn: db}), "postgres"
	case cfg.DatabaseURL != "":
		return nil, errors.New("database URL must start with postgres:// (leave it empty for the embedded SQLite database)")
	case cfg.SQLitePath == "":
		return nil, errors.New("no database: give a PostgreSQL URL or a SQLite path")
	default:
		// WAL lets readers run beside the writer; the busy timeout and
		// immediate transactions make concurrent writers wait their turn
		// instead of failing with "database is locked".
		dsn := "file:" + cfg.SQLitePath +
			"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=synchronous(NORMAL)&_txlock=immediate"
		dialector, dialect = sqlite.Open(dsn), "sqlite"
	}
	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == "sqlite" {
		// One writer at a time is all SQLite allows; a small pool keeps
		// readers concurrent without piling up lock waits.
		sqlDB.SetMaxOpenConns(8)
	} else {
		sqlDB.SetMaxOpenConns(25)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	return &Store{db: db, dialect: dialect, log: log}, nil
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return 0, err
	}
	return migrate(ctx, sqlDB, s.dialect)
}

func migrate(ctx context.Context, db *sql.DB, dialect string) (int, error) {
	fsys, err := migrations.FS(dialect)
	if err != nil {
		return 0, err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if dialect == "postgres" {
		gd = goose.DialectPostgres
		// Two portals starting at once on one database must not both migrate.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("apply migrations: %w", err)
	}
	return len(res), nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the database connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// now is the store's clock: UTC, to the microsecond PostgreSQL keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tx runs fn in one transaction: everything it writes, audit entries
// included, lands together or not at all.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// audit appends an entry for a change made by the actor in ctx.
func audit(ctx context.Context, tx *gorm.DB, action, kind, objectID string, before, after any) error {
	a := portal.ActorFrom(ctx)
	row := auditRow{
		At: now(), ActorID: a.ID, Actor: a.Username, RemoteAddr: a.RemoteAddr,
		Action: action, Kind: kind, ObjectID: objectID,
	}
	var err error
	if row.Before, err = jsonOrNil(before); err != nil {
		return err
	}
	if row.After, err = jsonOrNil(after); err != nil {
		return err
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

func jsonOrNil(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	s := string(b)
	return &s, nil
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

func clampPage(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		limit = maxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// nameFilter narrows q to rows whose column contains name, ignoring case.
func nameFilter(q *gorm.DB, column, name string) *gorm.DB {
	if name == "" {
		return q
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(name))
	return q.Where("lower("+column+") LIKE ? ESCAPE '\\'", "%"+esc+"%")
}

// list counts and fetches one page of rows of q, ordered by order, converted by conv.
func list[R, T any](q *gorm.DB, order string, limit, offset int, conv func(*R) T) (portal.Page[T], error) {
	limit, offset = clampPage(limit, offset)
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return portal.Page[T]{}, fmt.Errorf("gormstore: count: %w", err)
	}
	var rows []R
	if err := q.Order(order).Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		return portal.Page[T]{}, fmt.Errorf("gormstore: list: %w", err)
	}
	items := make([]T, len(rows))
	for i := range rows {
		items[i] = conv(&rows[i])
	}
	return portal.Page[T]{Items: items, Total: int(total), Limit: limit, Offset: offset}, nil
}

// notFound turns gorm's not-found into the portal's, and wraps anything else.
func notFound(err error, kind, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return portal.Errorf(portal.CodeNotFound, "%s %s not found", kind, id)
	default:
		return fmt.Errorf("gormstore: %s %s: %w", kind, id, err)
	}
}

// duplicate turns a unique-key violation into a conflict naming what clashed.
func duplicate(err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &portal.Error{Code: portal.CodeConflict, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	return err
}
