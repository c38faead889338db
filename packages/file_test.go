package packages_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"provportal/packages"
)

func TestWriteFileAtomicReplacesAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := packages.WriteFileAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Errorf("content %q (%v), want new", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only state.json", len(entries))
	}
}

func TestWriteFileAtomicNeedsTheFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "state.json")
	if err := packages.WriteFileAtomic(path, []byte("x"), 0o600); err == nil {
		t.Error("wrote into a folder that does not exist")
	}
}
