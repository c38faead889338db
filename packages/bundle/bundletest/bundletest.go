// Package bundletest reads migration packages back, for tests: their
// entries with their modes, and the stamp of the bootloader they carry.
package bundletest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"testing"

	"provportal/packages"
)

// File is one entry of a package.
type File struct {
	Mode fs.FileMode // permission bits only
	Body []byte
}

// UntarGz reads a .tar.gz package into its entries by name.
func UntarGz(t testing.TB, b []byte) map[string]File {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the .tar.gz is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	out := map[string]File{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		body, _ := io.ReadAll(tr)
		out[h.Name] = File{fs.FileMode(h.Mode).Perm(), body}
	}
}

// Unzip reads a .zip package into its entries by name.
func Unzip(t testing.TB, b []byte) map[string]File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string]File{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = File{f.Mode().Perm(), body}
	}
	return out
}

// Stamp is the configuration stamped on a packaged bootloader.
func Stamp(t testing.TB, exe []byte) *packages.BootConfig {
	t.Helper()
	cfg, err := packages.ReadStamp(bytes.NewReader(exe), int64(len(exe)))
	if err != nil {
		t.Fatalf("the packaged bootloader carries no stamp: %v", err)
	}
	return cfg
}
