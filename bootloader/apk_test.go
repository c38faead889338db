package bootloader_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
	"provportal/packages"
	"provportal/packages/apk"
)

// fakePackage writes the smallest file that reads as a signed APK (an APK
// Signing Block, an empty central directory and its end record) with value
// in the stamp's pair; nil leaves the pair out.
func fakePackage(t *testing.T, value []byte) string {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(24))
	binary.Write(&b, binary.LittleEndian, uint64(24))
	b.WriteString("APK Sig Block 42")
	eocd := make([]byte, 22)
	binary.LittleEndian.PutUint32(eocd, 0x06054b50)
	binary.LittleEndian.PutUint32(eocd[16:], uint32(b.Len()))
	b.Write(eocd)
	file := b.Bytes()
	if value != nil {
		r, _, err := apk.WithValue(bytes.NewReader(file), int64(len(file)), apk.StampID, value)
		if err != nil {
			t.Fatal(err)
		}
		file, _ = io.ReadAll(r)
	}
	path := filepath.Join(t.TempDir(), "base.apk")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func stampedPackage(t *testing.T, cfg packages.BootConfig) string {
	t.Helper()
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fakePackage(t, j)
}

// TestRunFromAndroidPackage runs the bootloader as the Android launcher does:
// its configuration comes from the APK it came in, and the Android apps it
// installs are handed to the launcher, one marker line each.
func TestRunFromAndroidPackage(t *testing.T) {
	p := portaltest.New(t)
	mail := portaltest.App{Name: "mail", Version: "2.0.0", Filename: "Mail.apk", Bytes: []byte("PK\x03\x04 an Android app")}
	_, _, plain, _, _ := typicalApps(t)
	p.SetApps(mail, plain)
	dir := t.TempDir()
	o := options(t, p, dir)
	o.Server = ""
	o.Package = stampedPackage(t, packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint, Invitation: "inv-apk"})
	mustRun(t, o)

	if got := p.Logons()[0].Invitation; got != "inv-apk" {
		t.Errorf("logon invitation: got %q, want inv-apk from the package's stamp", got)
	}
	out := o.Stdout.(*lockedBuffer).String()
	marker := bootloader.APKMarker + filepath.Join(dir, "apps", "mail", "Mail.apk") + "\n"
	if strings.Count(out, bootloader.APKMarker) != 1 || !strings.Contains(out, "\n"+marker) {
		t.Errorf("want one line %q for the Android app alone; output:\n%s", marker, out)
	}
	if got := readFile(t, filepath.Join(dir, "apps", "mail", "Mail.apk")); got != string(mail.Bytes) {
		t.Errorf("Mail.apk holds %q", got)
	}

	t.Run("unchanged_apps_are_not_offered_again", func(t *testing.T) {
		o := options(t, p, dir)
		o.Package = stampedPackage(t, packages.BootConfig{PortalURL: p.URL})
		mustRun(t, o)
		if out := o.Stdout.(*lockedBuffer).String(); strings.Contains(out, bootloader.APKMarker) {
			t.Errorf("an unchanged app was handed to the installer again:\n%s", out)
		}
	})

	t.Run("no_markers_outside_a_package", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		mustRun(t, o)
		if out := o.Stdout.(*lockedBuffer).String(); strings.Contains(out, bootloader.APKMarker) {
			t.Errorf("a bootloader run without a package asked a launcher to install:\n%s", out)
		}
	})

	t.Run("unstamped_package", func(t *testing.T) {
		o := options(t, p, t.TempDir()) // --server names p
		o.Package = fakePackage(t, nil)
		mustRun(t, o)
	})

	t.Run("damaged_stamp", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Package = fakePackage(t, []byte(`{"portal_url":`))
		if err := run(t, o); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("got %v, want the damaged stamp named", err)
		}
	})

	t.Run("missing_package", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Package = filepath.Join(t.TempDir(), "gone.apk")
		if err := run(t, o); err == nil || !strings.Contains(err.Error(), "configuration") {
			t.Errorf("got %v, want the package's configuration named", err)
		}
	})
}
