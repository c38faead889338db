// Package migrations holds the portal's versioned SQL schema, one folder per
// SQL dialect, embedded in the binary and applied with goose at start-up.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// FS returns the migrations for a dialect, "postgres" or "sqlite".
func FS(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
