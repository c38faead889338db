package bootloader_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
	"provportal/packages"
)

// clientImage is what the fake executables hold before any stamp.
const clientImage = "#!/bin/sh\necho 'a stand-in for the bootloader'\n"

// fakeExecutable writes a tiny "executable", stamped with cfg when it is not nil.
func fakeExecutable(t *testing.T, cfg *packages.BootConfig) string {
	t.Helper()
	b := []byte(clientImage)
	if cfg != nil {
		trailer, err := packages.StampTrailer(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, trailer...)
	}
	path := filepath.Join(t.TempDir(), "bootloader")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects a run's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// options logs on to p as its user, installing into dir, never asking.
func options(t *testing.T, p *portaltest.Portal, dir string) bootloader.Options {
	return bootloader.Options{
		Server:         p.URL,
		Username:       p.Username,
		Password:       p.Password,
		InstallDir:     dir,
		NonInteractive: true,
		Executable:     fakeExecutable(t, nil),
		Stdout:         &lockedBuffer{},
	}
}

func run(t *testing.T, o bootloader.Options) error {
	t.Helper()
	err := bootloader.Run(context.Background(), o)
	if b, ok := o.Stdout.(*lockedBuffer); ok {
		t.Logf("bootloader output:\n%s", b)
	}
	return err
}

func mustRun(t *testing.T, o bootloader.Options) {
	t.Helper()
	if err := run(t, o); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func codeOf(err error) string {
	var e *bootloader.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readState(t *testing.T, dir string) bootloader.State {
	t.Helper()
	var s bootloader.State
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "state.json"))), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// assertNothingInstalled checks that a failed first run left only what it
// may: device.json and .downloads.
func assertNothingInstalled(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name != "device.json" && name != ".downloads" {
			t.Errorf("after a failed run the install dir holds %s; want only device.json and .downloads", name)
		}
	}
}

// snapshot lists every file under dir (but .downloads and device.json) with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".downloads" || rel == "device.json" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			files[rel] = "-> " + target
		case d.IsDir():
			files[rel+"/"] = ""
		default:
			files[rel] = readFile(t, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func assertSameFiles(t *testing.T, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s is gone", name)
		} else if g != w {
			t.Errorf("%s changed: got %.40q, want %.40q", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

func lastReport(t *testing.T, p *portaltest.Portal) packages.StatusReport {
	t.Helper()
	r := p.LastReport()
	if r.Status == "" {
		t.Fatal("the portal got no status report")
	}
	return r
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
