package bootloader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"time"

	"provportal/packages"
)

// legacyFile in the install dir records the legacy client this device
// removed, so running the migration package again does not uninstall twice.
const legacyFile = "legacy.json"

// uninstallTimeout bounds the legacy client's own uninstaller.
const uninstallTimeout = 10 * time.Minute

type legacyRecord struct {
	RemovedAt time.Time              `json:"removed_at"`
	Client    *packages.LegacyClient `json:"client"`
}

// checkLegacy refuses, before anything is done, a legacy client this device
// must not remove: one whose paths are a filesystem root, the home folder,
// a system folder, or hold (or lie inside) the install dir or this
// bootloader.
func checkLegacy(c *config) error {
	if c.legacy.Empty() {
		return nil
	}
	if err := c.legacy.Check(runtime.GOOS); err != nil {
		return fmt.Errorf("this migration package's legacy client cannot be removed safely (%v); nothing was changed", err)
	}
	for _, p := range c.legacy.Paths {
		if err := safeToRemove(p, c.installDir, c.executable); err != nil {
			return fmt.Errorf("this migration package would delete %s, %v; nothing was changed", p, err)
		}
	}
	return nil
}

// removeLegacy removes the legacy client. Run only after the new package is
// installed and reported: stop its service, run its uninstaller, delete its
// paths. A failure leaves the rest in place and says what failed; running
// the package again tries again.
func removeLegacy(ctx context.Context, c *config, out io.Writer) error {
	l := c.legacy
	if l.Empty() {
		return nil
	}
	var rec legacyRecord
	if err := readJSON(filepath.Join(c.installDir, legacyFile), &rec); err == nil && reflect.DeepEqual(rec.Client, l) {
		fmt.Fprintf(out, "Legacy client: removed on %s.\n", rec.RemovedAt.Local().Format(time.DateTime))
		return nil
	}
	if len(l.Paths) > 0 && !anyExists(l.Paths) {
		// Its paths are how the package recognises it.
		fmt.Fprintln(out, "Legacy client: not found on this device; nothing to remove.")
		return recordLegacy(c.installDir, l)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("installed and reported, but the legacy client is still here: "+format+" (run the package again to retry)", a...)
	}
	if l.Service != "" {
		if err := stopService(ctx, l.Service, out); err != nil {
			return fail("stop its service %s: %v", l.Service, err)
		}
	}
	if l.Uninstall != "" {
		fmt.Fprintf(out, "Legacy client: running its uninstaller: %s\n", l.Uninstall)
		if err := runUninstall(ctx, l.Uninstall, out); err != nil {
			return fail("its uninstaller failed: %v", err)
		}
	}
	for _, p := range l.Paths {
		// Checked again: the uninstaller may have moved things about.
		if err := safeToRemove(p, c.installDir, c.executable); err != nil {
			return fail("refused to delete %s, %v", p, err)
		}
		if err := os.RemoveAll(p); err != nil {
			return fail("delete %s: %v", p, err)
		}
	}
	if err := recordLegacy(c.installDir, l); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintln(out, "Legacy client removed.")
	return nil
}

func recordLegacy(dir string, l *packages.LegacyClient) error {
	if err := writeJSON(filepath.Join(dir, legacyFile), legacyRecord{RemovedAt: time.Now().UTC(), Client: l}, 0o600); err != nil {
		return fmt.Errorf("remember the legacy client's removal: %w", err)
	}
	return nil
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// runUninstall runs the legacy client's uninstall command through the
// platform's shell, its output going with the bootloader's.
func runUninstall(ctx context.Context, command string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, uninstallTimeout)
	defer cancel()
	cmd := shellCommand(ctx, command)
	var tail tailBuffer
	w := io.MultiWriter(out, &tail)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("it ran longer than %s", uninstallTimeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if last := tail.lastLine(); last != "" {
			return fmt.Errorf("exit status %d: %s", ee.ExitCode(), last)
		}
		return fmt.Errorf("exit status %d", ee.ExitCode())
	}
	return err
}

// tailBuffer keeps the end of a command's output, for its last line.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) lastLine() string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(t.b, nil))), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// safeToRemove refuses to delete what would break this device or this
// bootloader: a filesystem root, the home folder or a folder above it, a
// system or per-user base folder, the install dir or anything holding it or
// inside it, or anything holding this bootloader. Paths are compared as
// given and with their folder's links resolved.
func safeToRemove(p, installDir, exe string) error {
	if !filepath.IsAbs(p) {
		return errors.New("which is not an absolute path")
	}
	for _, form := range pathForms(p) {
		if filepath.Dir(form) == form {
			return errors.New("which is the root of a filesystem")
		}
		for _, guarded := range guardedDirs() {
			if samePath(form, guarded) {
				return errors.New("which is a system or home folder")
			}
		}
		if home, err := os.UserHomeDir(); err == nil && within(home, form) {
			return errors.New("which holds the home folder")
		}
		for _, own := range pathForms(installDir) {
			if within(own, form) || within(form, own) {
				return errors.New("which holds or lies in the install dir")
			}
		}
		for _, own := range pathForms(exe) {
			if within(own, form) {
				return errors.New("which holds this bootloader")
			}
		}
	}
	return nil
}

// pathForms is p cleaned and, when its folder exists, with the folder's
// links resolved (the last element is left alone: deleting a link deletes
// the link, not what it points at).
func pathForms(p string) []string {
	p = filepath.Clean(p)
	forms := []string{p}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		if r := filepath.Join(dir, filepath.Base(p)); r != p {
			forms = append(forms, r)
		}
	}
	return forms
}

// caseInsensitive says whether file names here ignore case, as Windows's
// and (by default) macOS's do: /users/alice there is /Users/alice.
var caseInsensitive = runtime.GOOS == "windows" || runtime.GOOS == "darwin"

// within says whether child is parent or lies inside it.
func within(child, parent string) bool {
	if child == "" || parent == "" {
		return false
	}
	if caseInsensitive {
		child, parent = strings.ToLower(child), strings.ToLower(parent)
	}
	rel, err := filepath.Rel(parent, child)
	if err != nil {
		return false
	}
	if runtime.GOOS == "windows" && !strings.EqualFold(filepath.VolumeName(child), filepath.VolumeName(parent)) {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

func samePath(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if caseInsensitive {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// guardedDirs are folders never deleted whole, though what is in them may be.
func guardedDirs() []string {
	dirs := systemDirs()
	for _, f := range []func() (string, error){os.UserConfigDir, os.UserCacheDir} {
		if d, err := f(); err == nil {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, os.TempDir())
}
