package bootloader_test

import (
	"archive/tar"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
)

type entry = portaltest.Entry

func TestRunRefusesUnsafeArchives(t *testing.T) {
	tests := []struct {
		name    string
		tgz     []entry // a .tar.gz of these, or
		zip     []entry // a .zip of these
		message string  // what the error says after "app evil: unsafe archive: "
	}{
		{name: "tar_path_traversal", tgz: []entry{{Name: "../outside.txt", Body: "x"}},
			message: `entry "../outside.txt" climbs out of the app folder (..)`},
		{name: "tar_path_traversal_inside_path", tgz: []entry{{Name: "bin/"}, {Name: "bin/../../outside.txt", Body: "x"}},
			message: `entry "bin/../../outside.txt" climbs out of the app folder (..)`},
		{name: "tar_absolute_path", tgz: []entry{{Name: "/tmp/outside.txt", Body: "x"}},
			message: `entry "/tmp/outside.txt" has an absolute path`},
		{name: "tar_windows_absolute_path", tgz: []entry{{Name: `C:\outside.txt`, Body: "x"}},
			message: `entry "C:\\outside.txt" has an absolute path`},
		{name: "tar_symlink_pointing_outside", tgz: []entry{{Name: "link", Type: tar.TypeSymlink, Linkname: "../../outside"}},
			message: `symlink "link" points outside the app folder ("../../outside")`},
		{name: "tar_symlink_absolute", tgz: []entry{{Name: "link", Type: tar.TypeSymlink, Linkname: "/etc"}},
			message: `symlink "link" points outside the app folder ("/etc")`},
		{name: "tar_write_through_symlink", tgz: []entry{
			{Name: "sub/"},
			{Name: "sub/link", Type: tar.TypeSymlink, Linkname: "."},
			{Name: "sub/link/evil.txt", Body: "x"},
		}, message: `entry "sub/link/evil.txt" goes through a symlink`},
		{name: "tar_symlink_escape_through_other_symlink", tgz: []entry{
			{Name: "d/"},
			{Name: "d/up", Type: tar.TypeSymlink, Linkname: ".."},     // the app folder: fine
			{Name: "esc", Type: tar.TypeSymlink, Linkname: "d/up/.."}, // reads as "d", lands above the app folder
		}, message: `symlink "esc" points outside the app folder`},
		{name: "tar_overwrite_symlink", tgz: []entry{
			{Name: "link", Type: tar.TypeSymlink, Linkname: "README"},
			{Name: "README", Body: "readme"},
			{Name: "link", Body: "through the link"},
		}, message: `entry "link" goes through a symlink`},
		{name: "tar_hard_link", tgz: []entry{{Name: "README", Body: "x"}, {Name: "hard", Type: tar.TypeLink, Linkname: "README"}},
			message: `entry "hard" is a hard link`},
		{name: "tar_device_file", tgz: []entry{{Name: "null", Type: tar.TypeChar}},
			message: `entry "null" is a device file or pipe`},
		{name: "tar_fifo", tgz: []entry{{Name: "pipe", Type: tar.TypeFifo}},
			message: `entry "pipe" is a device file or pipe`},
		{name: "tar_size_bomb", tgz: []entry{{Name: "huge", Size: 5 << 30}},
			message: "it unpacks to more than 67.1 MB"},
		{name: "zip_path_traversal", zip: []entry{{Name: "../outside.txt", Body: "x"}},
			message: `entry "../outside.txt" climbs out of the app folder (..)`},
		{name: "zip_backslash_traversal", zip: []entry{{Name: `..\outside.txt`, Body: "x"}},
			message: `entry "..\\outside.txt" climbs out of the app folder (..)`},
		{name: "zip_absolute_path", zip: []entry{{Name: "/outside.txt", Body: "x"}},
			message: `entry "/outside.txt" has an absolute path`},
		{name: "zip_symlink_escape", zip: []entry{{Name: "link", Type: tar.TypeSymlink, Linkname: "../../etc"}},
			message: `symlink "link" points outside the app folder ("../../etc")`},
		{name: "zip_write_through_symlink", zip: []entry{
			{Name: "link", Type: tar.TypeSymlink, Linkname: "."},
			{Name: "link/evil.txt", Body: "x"},
		}, message: `entry "link/evil.txt" goes through a symlink`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := portaltest.New(t)
			good := portaltest.App{Name: "good", Version: "1", Filename: "good.txt", Bytes: []byte("fine")}
			evil := portaltest.App{Name: "evil", Version: "1"}
			if tc.tgz != nil {
				evil.Filename, evil.Bytes = "evil.tar.gz", portaltest.TarGz(t, tc.tgz...)
			} else {
				evil.Filename, evil.Bytes = "evil.zip", portaltest.Zip(t, tc.zip...)
			}
			p.SetApps(good, evil)
			parent := t.TempDir()
			dir := filepath.Join(parent, "install")
			err := run(t, options(t, p, dir))
			if err == nil {
				t.Fatal("Run succeeded; want the archive refused")
			}
			if got, want := err.Error(), "app evil: unsafe archive: "+tc.message; got != want {
				t.Errorf("error:\n got %q\nwant %q", got, want)
			}
			if got := codeOf(err); got != bootloader.CodeUnsafeArchive {
				t.Errorf("code: got %q, want %s", got, bootloader.CodeUnsafeArchive)
			}
			assertNothingInstalled(t, dir)
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("beside the install dir: %v; want nothing written outside it", names)
			}
			if r := lastReport(t, p); r.Error == nil || r.Error.Code != bootloader.CodeUnsafeArchive {
				t.Errorf("report: got %+v, want failed with %s", r, bootloader.CodeUnsafeArchive)
			}
		})
	}
}

// An unsafe update leaves the previous install exactly as it was.
func TestRunUnsafeUpdateChangesNothing(t *testing.T) {
	p := portaltest.New(t)
	tgz, zip, plain, _, _ := typicalApps(t)
	p.SetApps(tgz, zip, plain)
	dir := t.TempDir()
	mustRun(t, options(t, p, dir))
	was := snapshot(t, dir)

	newPlain := plain
	newPlain.Version, newPlain.Bytes = "8", []byte("changed")
	evil := tgz
	evil.Version, evil.Bytes = "2.0.0", portaltest.TarGz(t, entry{Name: "README.md", Body: "v2"}, entry{Name: "../../escaped", Body: "x"})
	p.SetApps(evil, newPlain) // maps withdrawn too: it must stay
	if err := run(t, options(t, p, dir)); codeOf(err) != bootloader.CodeUnsafeArchive {
		t.Fatalf("got %v, want the update refused as an unsafe archive", err)
	}
	assertSameFiles(t, snapshot(t, dir), was)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".[so]*-*"))
	if len(leftovers) > 0 {
		t.Errorf("staging left behind: %v", leftovers)
	}
}

func TestRunUnpacksArchivesSafelyWithinLimits(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need a privilege on Windows")
	}
	p := portaltest.New(t)
	app := portaltest.App{Name: "bundle", Version: "1", Filename: "bundle.tgz", Bytes: portaltest.TarGz(t,
		entry{Name: "./"},
		entry{Name: "./Contents/"},
		entry{Name: "Contents/Frameworks/"},
		entry{Name: "Contents/Frameworks/Lib.framework/Versions/A/Lib", Body: "lib", Mode: 0o4755}, // setuid is dropped
		entry{Name: "Contents/Frameworks/Lib.framework/Versions/Current", Type: tar.TypeSymlink, Linkname: "A"},
		entry{Name: "Contents/Frameworks/Lib.framework/Lib", Type: tar.TypeSymlink, Linkname: "Versions/Current/Lib"},
		entry{Name: "Contents/Info.plist", Body: "<plist/>"},
		entry{Name: "Contents/Info.plist", Body: "<plist>2</plist>"}, // a later entry wins, as tar does
		entry{Name: "root-link", Type: tar.TypeSymlink, Linkname: "."},
	)}
	p.SetApps(app)
	dir := t.TempDir()
	mustRun(t, options(t, p, dir))
	base := filepath.Join(dir, "apps", "bundle", "Contents")
	if got := readFile(t, filepath.Join(base, "Frameworks/Lib.framework/Lib")); got != "lib" {
		t.Errorf("through the framework symlinks: got %q, want lib", got)
	}
	if got := readFile(t, filepath.Join(base, "Info.plist")); got != "<plist>2</plist>" {
		t.Errorf("Info.plist: got %q", got)
	}
	fi, err := os.Stat(filepath.Join(base, "Frameworks/Lib.framework/Versions/A/Lib"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("mode %v keeps setuid", fi.Mode())
	}
	if !strings.HasSuffix(readFile(t, filepath.Join(dir, "state.json")), "}\n") {
		t.Error("state.json is not complete JSON")
	}
}
