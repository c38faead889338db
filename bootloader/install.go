package bootloader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"provportal/packages"
)

// plan is what an install changes, against what state.json says is there.
type plan struct {
	fetch  []packages.ManifestApp // new or changed: downloaded and installed
	keep   []packages.ManifestApp // unchanged and present: left alone
	remove []string               // installed by this bootloader, no longer in the manifest
}

func makePlan(dir string, m *packages.Manifest, prev State) plan {
	var p plan
	wanted := map[string]bool{}
	for _, app := range m.Apps {
		wanted[app.Name] = true
		old, ok := prev.Apps[app.Name]
		if ok && old.SHA256 == app.SHA256 && exists(filepath.Join(dir, appsDir, app.Name)) {
			p.keep = append(p.keep, app)
			continue
		}
		p.fetch = append(p.fetch, app)
	}
	for name := range prev.Apps {
		// A name that is not a plain folder name never came from this
		// bootloader: leave whatever it points at alone.
		if !wanted[name] && validAppName(name) == nil {
			p.remove = append(p.remove, name)
		}
	}
	return p
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// installation prepares everything under .staging-*, then swaps it in.
type installation struct {
	dir        string
	executable string
	manifest   *packages.Manifest
	plan       plan
	blobs      map[string]string // sha256 -> verified download
	prev       State
	portalURL  string
	deviceID   string
}

// run installs, or changes nothing in the install dir (but .downloads).
func (in *installation) run() error {
	removeStale(in.dir)
	staging, err := os.MkdirTemp(in.dir, stagingGlob+"*")
	if err != nil {
		return failf(CodeInstallFailed, "prepare the install: %w", err)
	}
	defer os.RemoveAll(staging)

	moves, err := in.stage(staging)
	if err != nil {
		return err
	}
	if err := swap(in.dir, moves); err != nil {
		return failf(CodeInstallFailed, "install: %w", err)
	}
	return nil
}

// stage builds every app, policy.json, state.json and the client copy under
// staging and returns the renames that put them in place, state.json last.
func (in *installation) stage(staging string) ([]move, error) {
	var moves []move
	state := State{
		Version: stateVersion, PortalURL: in.portalURL, DeviceID: in.deviceID,
		InstalledAt: time.Now().UTC(), Apps: map[string]InstalledApp{},
	}
	for _, app := range in.plan.fetch {
		dst := filepath.Join(staging, appsDir, app.Name)
		unpacked, err := stageApp(app, in.blobs[app.SHA256], dst)
		if err != nil {
			return nil, forApp(app.Name, err)
		}
		state.Apps[app.Name] = InstalledApp{Version: app.Version, SHA256: app.SHA256, Size: app.Size, Unpacked: unpacked}
		moves = append(moves, move{from: dst, to: filepath.Join(in.dir, appsDir, app.Name)})
	}
	for _, app := range in.plan.keep {
		old := in.prev.Apps[app.Name]
		old.Version = app.Version
		state.Apps[app.Name] = old
	}
	for _, name := range in.plan.remove {
		moves = append(moves, move{to: filepath.Join(in.dir, appsDir, name)})
	}

	policy := filepath.Join(staging, policyFile)
	if err := writeJSON(policy, in.manifest.Policy, 0o644); err != nil {
		return nil, failf(CodeInstallFailed, "write the policy: %w", err)
	}
	moves = append(moves, move{from: policy, to: filepath.Join(in.dir, policyFile)})

	client := filepath.Join(staging, clientName())
	target := filepath.Join(in.dir, binDir, clientName())
	copied, err := copyClient(in.executable, client, target)
	if err != nil {
		return nil, failf(CodeInstallFailed, "copy the client: %w", err)
	}
	if copied {
		moves = append(moves, move{from: client, to: target})
	}

	staged := filepath.Join(staging, stateFile)
	if err := writeJSON(staged, state, 0o644); err != nil {
		return nil, failf(CodeInstallFailed, "write the state: %w", err)
	}
	return append(moves, move{from: staged, to: filepath.Join(in.dir, stateFile)}), nil
}

// stageApp puts one app's bytes into dst: an archive unpacked, anything else
// as a file named as the manifest says.
func stageApp(app packages.ManifestApp, blob, dst string) (unpacked bool, err error) {
	kind, err := detectKind(app.Filename, blob)
	if err != nil {
		return false, failf(CodeInstallFailed, "%w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return false, failf(CodeInstallFailed, "%w", err)
	}
	switch kind {
	case kindTarGz:
		err = unpackTarGz(blob, dst)
	case kindZip:
		err = unpackZip(blob, dst)
	default:
		return false, placeFile(blob, filepath.Join(dst, placeName(app)))
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// placeName is the name a plain artifact gets in its app folder: its file
// name, with the characters some platform forbids replaced, or the app's name.
func placeName(app packages.ManifestApp) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, app.Filename)
	if validFileName(name) != nil {
		return app.Name
	}
	return name
}

// placeFile copies an artifact; one that looks like a program is made executable.
func placeFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(in, head)
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if isProgram(head[:n]) {
		mode = 0o755
	}
	return copyInto(dst, in, -1, mode)
}

func isProgram(head []byte) bool {
	for _, magic := range [][]byte{
		[]byte("\x7fELF"), []byte("#!"), []byte("MZ"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, // Mach-O
		{0xca, 0xfe, 0xba, 0xbe}, // Mach-O universal
	} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	return false
}

// copyInto writes n bytes of r (all of it when n < 0) to a new file at dst.
func copyInto(dst string, r io.Reader, n int64, mode fs.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if n >= 0 {
		_, err = io.CopyN(f, r, n)
	} else {
		_, err = io.Copy(f, r)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func clientName() string {
	if runtime.GOOS == "windows" {
		return "bootloader.exe"
	}
	return "bootloader"
}

// copyClient copies this bootloader to dst, leaving out the stamped
// configuration: the installed client finds its portal and key in
// device.json, and the invitation the stamp carries is spent. It copies
// nothing when the running bootloader already is the installed one.
func copyClient(exe, dst, installed string) (bool, error) {
	f, err := os.Open(exe)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if ti, err := os.Stat(installed); err == nil && os.SameFile(fi, ti) {
		return false, nil
	}
	size, err := imageSize(f, fi.Size())
	if err != nil {
		return false, err
	}
	return true, copyInto(dst, f, size, 0o755)
}

// imageSize is the size of the executable without its stamp trailer
// (packages.StampTrailer: JSON, its uint32 little-endian length, 8 bytes of magic).
func imageSize(f io.ReaderAt, size int64) (int64, error) {
	_, err := packages.ReadStamp(f, size)
	switch {
	case errors.Is(err, packages.ErrNoStamp):
		return size, nil
	case err != nil:
		return 0, err
	}
	const tail = 4 + 8
	var n [4]byte
	if _, err := f.ReadAt(n[:], size-tail); err != nil {
		return 0, err
	}
	return size - tail - int64(binary.LittleEndian.Uint32(n[:])), nil
}

// move is one rename of the swap: from (staged) to its place; an empty from
// only takes away what is at to.
type move struct{ from, to string }

// swap renames every staged item into place, moving what it replaces aside,
// and removes the aside folder once all are in. A failed rename puts back
// everything already moved.
func swap(dir string, moves []move) error {
	aside, err := os.MkdirTemp(dir, asideGlob+"*")
	if err != nil {
		return err
	}
	type applied struct {
		move
		old string // where the replaced item waits; empty if there was none
	}
	var done []applied
	undo := func() {
		for i := len(done) - 1; i >= 0; i-- {
			a := done[i]
			if a.from != "" {
				os.Rename(a.to, a.from)
			}
			if a.old != "" {
				os.Rename(a.old, a.to)
			}
		}
		os.RemoveAll(aside)
	}
	for i, m := range moves {
		a := applied{move: m}
		if err := os.MkdirAll(filepath.Dir(m.to), 0o755); err != nil {
			undo()
			return err
		}
		if _, err := os.Lstat(m.to); err == nil {
			a.old = filepath.Join(aside, strconv.Itoa(i))
			if err := os.Rename(m.to, a.old); err != nil {
				undo()
				return fmt.Errorf("move %s aside: %w", m.to, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			undo()
			return err
		}
		if m.from != "" {
			if err := os.Rename(m.from, m.to); err != nil {
				if a.old != "" {
					os.Rename(a.old, m.to)
				}
				undo()
				return fmt.Errorf("put %s in place: %w", m.to, err)
			}
		}
		done = append(done, a)
	}
	// Best effort: a file still in use (a running program on Windows) stays
	// until a later run clears it.
	os.RemoveAll(aside)
	return nil
}

// removeStale clears what a crashed run left: staging and aside folders
// older than an hour (a younger one may be another run's, still working).
func removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-time.Hour)
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, stagingGlob) && !strings.HasPrefix(name, asideGlob) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
}
