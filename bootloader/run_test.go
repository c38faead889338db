package bootloader_test

import (
	"archive/tar"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
	"provportal/packages"
)

// The apps of a typical package: an archive of each kind and plain files.
func typicalApps(t *testing.T) (tgz, zip, plain, program, sniffed portaltest.App) {
	tgz = portaltest.App{Name: "field-notes", Version: "1.0.0", Filename: "field-notes-1.0.0.tar.gz", Bytes: portaltest.TarGz(t,
		portaltest.Entry{Name: "bin/"},
		portaltest.Entry{Name: "bin/field-notes", Body: "#!/bin/sh\necho notes\n", Mode: 0o755},
		portaltest.Entry{Name: "README.md", Body: "Field notes\n"},
		portaltest.Entry{Name: "current", Type: tar.TypeSymlink, Linkname: "bin"},
	)}
	zip = portaltest.App{Name: "maps", Version: "2.3", Filename: "maps.zip", Bytes: portaltest.Zip(t,
		portaltest.Entry{Name: "tiles/"},
		portaltest.Entry{Name: "tiles/0-0.txt", Body: "tile zero"},
		portaltest.Entry{Name: "index.json", Body: `{"tiles":1}`},
	)}
	plain = portaltest.App{Name: "vpn", Version: "7", Filename: "corp.vpnconf", Bytes: []byte("remote vpn.example.com 1194\n")}
	program = portaltest.App{Name: "tool", Version: "0.9", Bytes: append([]byte("\x7fELF"), randomBytes(t, 100)...)}
	sniffed = portaltest.App{Name: "docs", Version: "3", Bytes: portaltest.TarGz(t, portaltest.Entry{Name: "guide.txt", Body: "read me"})}
	return
}

func TestRunInstallsEveryKindOfApp(t *testing.T) {
	p := portaltest.New(t)
	tgz, zip, plain, program, sniffed := typicalApps(t)
	p.SetApps(tgz, zip, plain, program, sniffed)
	dir := filepath.Join(t.TempDir(), "install")
	o := options(t, p, dir)
	mustRun(t, o)

	files := map[string]string{
		"apps/field-notes/bin/field-notes": "#!/bin/sh\necho notes\n",
		"apps/field-notes/README.md":       "Field notes\n",
		"apps/maps/tiles/0-0.txt":          "tile zero",
		"apps/maps/index.json":             `{"tiles":1}`,
		"apps/vpn/corp.vpnconf":            "remote vpn.example.com 1194\n",
		"apps/tool/tool":                   string(program.Bytes),
		"apps/docs/guide.txt":              "read me",
		"bin/bootloader":                   clientImage,
	}
	if runtime.GOOS == "windows" {
		files["bin/bootloader.exe"] = files["bin/bootloader"]
		delete(files, "bin/bootloader")
	}
	for name, want := range files {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s: got %.60q, want %.60q", name, got, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "apps/field-notes/current")); err != nil || target != "bin" {
		t.Errorf("symlink current: got %q (%v), want bin", target, err)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{
			"apps/field-notes/bin/field-notes": 0o755,
			"apps/tool/tool":                   0o755,
			"apps/vpn/corp.vpnconf":            0o644,
			"bin/bootloader":                   0o755,
		} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm() &^ 0o022; got != want&^0o022 {
				t.Errorf("%s: mode %v, want %v", name, got, want)
			}
		}
	}

	var policy packages.Policy
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "policy.json"))), &policy); err != nil {
		t.Fatal(err)
	}
	wantPolicy := packages.Policy{Rules: map[string]any{"password_min_length": 12.0, "camera_allowed": false}, Sources: []string{"Baseline", "Field staff"}}
	if !reflect.DeepEqual(policy, wantPolicy) {
		t.Errorf("policy.json: got %+v, want %+v", policy, wantPolicy)
	}

	state := readState(t, dir)
	wantApps := map[string]bootloader.InstalledApp{}
	for _, a := range []portaltest.App{tgz, zip, plain, program, sniffed} {
		unpacked := a.Name == "field-notes" || a.Name == "maps" || a.Name == "docs"
		wantApps[a.Name] = bootloader.InstalledApp{Version: a.Version, SHA256: a.SHA256(), Size: int64(len(a.Bytes)), Unpacked: unpacked}
	}
	if !reflect.DeepEqual(state.Apps, wantApps) {
		t.Errorf("state.json apps:\n got %+v\nwant %+v", state.Apps, wantApps)
	}
	if state.DeviceID != "dev-1" || state.PortalURL != p.URL {
		t.Errorf("state.json: device %q portal %q, want dev-1 and %s", state.DeviceID, state.PortalURL, p.URL)
	}

	var id struct{ DeviceID, PortalURL, Fingerprint string }
	raw := readFile(t, filepath.Join(dir, "device.json"))
	if err := json.Unmarshal([]byte(strings.NewReplacer("device_id", "DeviceID", "portal_url", "PortalURL", "fingerprint", "Fingerprint").Replace(raw)), &id); err != nil {
		t.Fatal(err)
	}
	if id.DeviceID != "dev-1" || id.PortalURL != p.URL || id.Fingerprint != p.Fingerprint {
		t.Errorf("device.json: got %+v, want dev-1, %s, %s (the key trusted on first use)", id, p.URL, p.Fingerprint)
	}
	if out := o.Stdout.(*lockedBuffer).String(); !contains(out, p.Fingerprint) || !contains(out, "first use") {
		t.Errorf("output does not show the fingerprint trusted on first use:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".downloads")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".downloads is still there after a complete install (%v)", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".[so]*-*"))
	if len(leftovers) > 0 {
		t.Errorf("staging left behind: %v", leftovers)
	}

	logons := p.Logons()
	if len(logons) != 1 {
		t.Fatalf("logons: got %d, want 1", len(logons))
	}
	if d := logons[0].Device; d.ID != "" || d.Platform != bootloader.Platform() || d.Name == "" {
		t.Errorf("logon device: got %+v, want no ID, platform %s and a name", d, bootloader.Platform())
	}
	final := lastReport(t, p)
	wantInstalled := map[string]string{"field-notes": "1.0.0", "maps": "2.3", "vpn": "7", "tool": "0.9", "docs": "3"}
	if final.Status != packages.StatusActivationComplete || final.Progress != 100 || !reflect.DeepEqual(final.Installed, wantInstalled) {
		t.Errorf("final report: got %+v, want activation_complete, 100, %v", final, wantInstalled)
	}
	var installing int
	for _, r := range p.Reports() {
		if r.Status == packages.StatusInstalling {
			installing++
		}
	}
	if installing == 0 || installing > 13 {
		t.Errorf("installing reports: got %d, want some, not one per chunk", installing)
	}
}

func TestRunSecondRunWithdrawsAndAdds(t *testing.T) {
	p := portaltest.New(t)
	tgz, zip, plain, _, _ := typicalApps(t)
	p.SetApps(tgz, plain)
	dir := t.TempDir()
	mustRun(t, options(t, p, dir))
	// A folder this bootloader did not install stays, whatever happens.
	if err := os.WriteFile(filepath.Join(dir, "apps", "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "apps", "someone-else"), 0o755); err != nil {
		t.Fatal(err)
	}

	newPlain := plain
	newPlain.Version, newPlain.Bytes = "8", []byte("remote vpn2.example.com 1194\n")
	p.SetApps(newPlain, zip) // field-notes withdrawn, maps added, vpn updated
	before := len(p.BlobRequests())
	mustRun(t, options(t, p, dir))

	if _, err := os.Stat(filepath.Join(dir, "apps", "field-notes")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("withdrawn app field-notes is still installed (%v)", err)
	}
	if got := readFile(t, filepath.Join(dir, "apps/maps/index.json")); got != `{"tiles":1}` {
		t.Errorf("added app maps: got %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "apps/vpn/corp.vpnconf")); got != string(newPlain.Bytes) {
		t.Errorf("updated app vpn: got %q, want %q", got, newPlain.Bytes)
	}
	for _, mine := range []string{"apps/notes.txt", "apps/someone-else"} {
		if _, err := os.Stat(filepath.Join(dir, mine)); err != nil {
			t.Errorf("%s, not installed by the bootloader, was touched: %v", mine, err)
		}
	}
	state := readState(t, dir)
	if len(state.Apps) != 2 || state.Apps["vpn"].Version != "8" || state.Apps["maps"].Version != "2.3" {
		t.Errorf("state.json apps: got %+v, want vpn 8 and maps 2.3", state.Apps)
	}
	if got := len(p.BlobRequests()) - before; got != 2 {
		t.Errorf("blob requests on the second run: got %d, want 2 (vpn and maps)", got)
	}
	if logons := p.Logons(); logons[1].Device.ID != "dev-1" {
		t.Errorf("second logon: device ID %q, want dev-1 from device.json", logons[1].Device.ID)
	}

	// A third run with the same manifest downloads nothing and changes nothing.
	was := snapshot(t, dir)
	before = len(p.BlobRequests())
	mustRun(t, options(t, p, dir))
	if got := len(p.BlobRequests()) - before; got != 0 {
		t.Errorf("blob requests for an unchanged manifest: got %d, want 0", got)
	}
	now := snapshot(t, dir)
	delete(was, "state.json") // its installed_at moves on
	delete(now, "state.json")
	assertSameFiles(t, now, was)
}

func TestRunRefusesUntrustedManifest(t *testing.T) {
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	otherFingerprint := packages.Fingerprint(otherKey.Public().(ed25519.PublicKey))
	tests := []struct {
		name  string
		setup func(p *portaltest.Portal, o *bootloader.Options)
	}{
		{"pinned_by_flag_signed_by_other_key", func(p *portaltest.Portal, o *bootloader.Options) {
			o.Fingerprint = p.Fingerprint
			p.SignWith(otherKey)
		}},
		{"pinned_by_stamp_signed_by_other_key", func(p *portaltest.Portal, o *bootloader.Options) {
			o.Executable = fakeExecutable(t, &packages.BootConfig{Fingerprint: p.Fingerprint})
			p.SignWith(otherKey)
		}},
		{"trusted_on_first_use_signed_by_other_key", func(p *portaltest.Portal, o *bootloader.Options) {
			p.SignWith(otherKey)
		}},
		{"pinned_other_key", func(p *portaltest.Portal, o *bootloader.Options) {
			o.Fingerprint = otherFingerprint
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := portaltest.New(t)
			tgz, _, plain, _, _ := typicalApps(t)
			p.SetApps(tgz, plain)
			dir := t.TempDir()
			o := options(t, p, dir)
			tc.setup(p, &o)
			err := run(t, o)
			if got, want := codeOf(err), bootloader.CodeUntrustedManifest; got != want {
				t.Fatalf("error %q: code %q, want %q", err, got, want)
			}
			if !errors.Is(err, packages.ErrUntrustedKey) {
				t.Errorf("error %q does not wrap packages.ErrUntrustedKey", err)
			}
			if got := len(p.BlobRequests()); got != 0 {
				t.Errorf("blob requests: got %d, want 0 (nothing is fetched before the manifest verifies)", got)
			}
			assertNothingInstalled(t, dir)
			if r := lastReport(t, p); r.Status != packages.StatusFailed || r.Error == nil || r.Error.Code != bootloader.CodeUntrustedManifest {
				t.Errorf("report: got %+v, want failed with %s", r, bootloader.CodeUntrustedManifest)
			}
		})
	}
}

func TestRunRefusesManifestNotForThisDevice(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(p *portaltest.Portal)
		message string
	}{
		{"other_platform", func(p *portaltest.Portal) { p.SetPlatform("plan9-mips") }, `platform "plan9-mips"`},
		{"other_device", func(p *portaltest.Portal) { p.SetManifestDevice("dev-99") }, `device "dev-99"`},
		{"expired", func(p *portaltest.Portal) { p.SetManifestTTL(-time.Hour) }, "expired"},
		{"unsafe_app_name", func(p *portaltest.Portal) {
			p.SetApps(portaltest.App{Name: "../../escape", Version: "1", Bytes: []byte("x")})
		}, "app name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := portaltest.New(t)
			_, _, plain, _, _ := typicalApps(t)
			p.SetApps(plain)
			tc.setup(p)
			dir := t.TempDir()
			err := run(t, options(t, p, dir))
			if got, want := codeOf(err), bootloader.CodeInvalidManifest; got != want {
				t.Fatalf("error %q: code %q, want %q", err, got, want)
			}
			if !contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if got := len(p.BlobRequests()); got != 0 {
				t.Errorf("blob requests: got %d, want 0", got)
			}
			assertNothingInstalled(t, dir)
		})
	}
}

func TestRunRefusesTamperedBlob(t *testing.T) {
	p := portaltest.New(t)
	tgz, zip, _, _, _ := typicalApps(t)
	p.SetApps(tgz, zip)
	p.Tamper(zip, append([]byte(nil), zip.Bytes[:len(zip.Bytes)-1]...)) // one byte short
	dir := t.TempDir()
	err := run(t, options(t, p, dir))
	if got, want := err.Error(), "app maps: downloaded bytes do not match the manifest's SHA-256"; got != want {
		t.Fatalf("error: got %q, want %q", got, want)
	}
	if got := codeOf(err); got != bootloader.CodeDigestMismatch {
		t.Errorf("code: got %q, want %s", got, bootloader.CodeDigestMismatch)
	}
	assertNothingInstalled(t, dir)
	if _, err := os.Stat(filepath.Join(dir, ".downloads", zip.SHA256()+".part")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mismatching part file is still there (%v)", err)
	}
	if r := lastReport(t, p); r.Status != packages.StatusFailed || r.Error.Code != bootloader.CodeDigestMismatch {
		t.Errorf("report: got %+v, want failed with %s", r, bootloader.CodeDigestMismatch)
	}

	// Same bytes, other content: a longer blob is refused as well.
	p.Tamper(zip, append(append([]byte(nil), zip.Bytes...), 'x'))
	if err := run(t, options(t, p, dir)); codeOf(err) != bootloader.CodeDigestMismatch {
		t.Fatalf("longer blob: got %v, want a digest mismatch", err)
	}

	// Once the portal serves the right bytes, the verified field-notes
	// download of the failed runs is reused, not fetched again.
	p.Tamper(zip, zip.Bytes)
	before := len(p.BlobRequests())
	mustRun(t, options(t, p, dir))
	for _, r := range p.BlobRequests()[before:] {
		if r.SHA256 == tgz.SHA256() {
			t.Errorf("field-notes was downloaded again; want its verified download reused")
		}
	}
}

func TestRunResumesCutDownload(t *testing.T) {
	tests := []struct {
		name        string
		ignoreRange bool
	}{
		{"resumes_with_range", false},
		{"starts_over_when_server_ignores_range", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := portaltest.New(t)
			app := portaltest.App{Name: "big", Version: "1", Filename: "big.bin", Bytes: randomBytes(t, 300_000)}
			p.SetApps(app)
			p.CutFirstDownload(app, 100_000)
			p.IgnoreRange(tc.ignoreRange)
			dir := t.TempDir()
			o := options(t, p, dir)
			mustRun(t, o)

			reqs := p.BlobRequests()
			if len(reqs) != 2 {
				t.Fatalf("blob requests: got %d, want 2: %+v", len(reqs), reqs)
			}
			if reqs[0].Range != "" {
				t.Errorf("first request Range: got %q, want none", reqs[0].Range)
			}
			if got, want := reqs[1].Range, "bytes=100000-"; got != want {
				t.Errorf("resumed request Range: got %q, want %q", got, want)
			}
			if got, want := reqs[1].IfRange, `"`+app.SHA256()+`"`; got != want {
				t.Errorf("resumed request If-Range: got %q, want %q", got, want)
			}
			if !strings.HasPrefix(reqs[1].Authorization, "Bearer ") {
				t.Errorf("blob request without the device token: %q", reqs[1].Authorization)
			}
			if got := readFile(t, filepath.Join(dir, "apps/big/big.bin")); got != string(app.Bytes) {
				t.Errorf("installed bytes differ from the app's (%d bytes, want %d)", len(got), len(app.Bytes))
			}
			out := o.Stdout.(*lockedBuffer).String()
			if !contains(out, "downloading big 1: 100% (300.0 kB of 300.0 kB)") {
				t.Errorf("output lacks the plain progress line:\n%s", out)
			}
		})
	}
}

func TestRunRetriesServerErrors(t *testing.T) {
	p := portaltest.New(t)
	app := portaltest.App{Name: "flaky", Version: "1", Filename: "flaky.txt", Bytes: []byte("eventually")}
	p.SetApps(app)
	p.FailDownloads(app, 2)
	dir := t.TempDir()
	mustRun(t, options(t, p, dir))
	if got := len(p.BlobRequests()); got != 3 {
		t.Errorf("blob requests: got %d, want 3 (two 503s, then the bytes)", got)
	}
	if got := readFile(t, filepath.Join(dir, "apps/flaky/flaky.txt")); got != "eventually" {
		t.Errorf("installed: got %q", got)
	}
}

func TestRunShowsServerErrorMessage(t *testing.T) {
	p := portaltest.New(t)
	p.FailManifest(404, "no_package", "no apps are assigned to alice")
	err := run(t, options(t, p, t.TempDir()))
	if got, want := err.Error(), "fetch the manifest: no apps are assigned to alice"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if got := codeOf(err); got != bootloader.CodeManifestUnavailable {
		t.Errorf("code: got %q, want %s", got, bootloader.CodeManifestUnavailable)
	}
}

func TestRunWrongPassword(t *testing.T) {
	p := portaltest.New(t)
	o := options(t, p, t.TempDir())
	o.Password = "wrong"
	err := run(t, o)
	if got, want := err.Error(), "logon refused: username or password is incorrect"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if !errors.Is(err, bootloader.ErrBadCredentials) {
		t.Errorf("error %v is not ErrBadCredentials", err)
	}
	if got := len(p.Reports()); got != 0 {
		t.Errorf("status reports without a logon: got %d, want 0", got)
	}
}

func TestRunReadsStampedConfiguration(t *testing.T) {
	p := portaltest.New(t)
	_, _, plain, _, _ := typicalApps(t)
	p.SetApps(plain)
	dir := t.TempDir()
	o := options(t, p, dir)
	o.Server = ""
	o.Executable = fakeExecutable(t, &packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint, Invitation: "inv-123"})
	mustRun(t, o)

	if got := p.Logons()[0].Invitation; got != "inv-123" {
		t.Errorf("logon invitation: got %q, want inv-123 from the stamp", got)
	}
	if out := o.Stdout.(*lockedBuffer).String(); contains(out, "first use") {
		t.Errorf("a stamped fingerprint was not pinned; output:\n%s", out)
	}
	// The installed client carries no stamp: its invitation is spent, and
	// device.json tells it its portal and key.
	client := filepath.Join(dir, "bin", "bootloader")
	if runtime.GOOS == "windows" {
		client += ".exe"
	}
	if got := readFile(t, client); got != clientImage {
		t.Errorf("installed client: got %q, want the executable without its stamp %q", got, clientImage)
	}

	t.Run("installed_client_runs_again_without_configuration", func(t *testing.T) {
		o := bootloader.Options{
			Username: p.Username, Password: p.Password, NonInteractive: true,
			Executable: client, Stdout: &lockedBuffer{},
		}
		mustRun(t, o)
		if out := o.Stdout.(*lockedBuffer).String(); contains(out, "first use") || !contains(out, dir) {
			t.Errorf("the installed client did not use its install dir's device.json; output:\n%s", out)
		}
		if logons := p.Logons(); logons[len(logons)-1].Device.ID != "dev-1" {
			t.Errorf("device ID: got %q, want dev-1", logons[len(logons)-1].Device.ID)
		}
	})

	t.Run("flags_win_over_the_stamp", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Executable = fakeExecutable(t, &packages.BootConfig{PortalURL: "http://127.0.0.1:1", Fingerprint: strings.Repeat("0", 64)})
		o.Fingerprint = p.Fingerprint
		mustRun(t, o)
	})

	t.Run("stamped_key_stays_with_the_stamped_portal", func(t *testing.T) {
		o := options(t, p, t.TempDir()) // --server names p
		o.Executable = fakeExecutable(t, &packages.BootConfig{PortalURL: "https://other.example.com", Fingerprint: strings.Repeat("0", 64)})
		mustRun(t, o)
		if out := o.Stdout.(*lockedBuffer).String(); !contains(out, "first use") {
			t.Errorf("the other portal's key was pinned for this one; output:\n%s", out)
		}
	})

	t.Run("stamped_fingerprint_is_pinned", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = fakeExecutable(t, &packages.BootConfig{PortalURL: p.URL, Fingerprint: packages.Fingerprint(other.Public().(ed25519.PublicKey))})
		if err := run(t, o); codeOf(err) != bootloader.CodeUntrustedManifest {
			t.Errorf("got %v, want the manifest refused as untrusted", err)
		}
	})

	t.Run("damaged_stamp", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		exe := fakeExecutable(t, &packages.BootConfig{PortalURL: p.URL})
		b, _ := os.ReadFile(exe)
		b[len(b)-12] = 0xff // the length points before the file's start
		b[len(b)-11] = 0xff
		os.WriteFile(exe, b, 0o755)
		o.Executable = exe
		if err := run(t, o); err == nil || !contains(err.Error(), "damaged") {
			t.Errorf("got %v, want the damaged stamp named", err)
		}
	})
}

func TestRunConfigurationErrors(t *testing.T) {
	p := portaltest.New(t)
	tests := []struct {
		name  string
		setup func(o *bootloader.Options)
		want  string
	}{
		{"alias_without_relay", func(o *bootloader.Options) { o.Server, o.Alias = "", "acme@example.com" },
			"alias acme@example.com is on a relay: pass --relay URL"},
		{"relay_without_alias", func(o *bootloader.Options) { o.Server, o.Relay = "", "http://127.0.0.1:1" },
			"--relay needs the portal's alias on it: pass --alias NAME"},
		{"server_and_alias", func(o *bootloader.Options) { o.Alias, o.Relay = "acme", "http://127.0.0.1:1" },
			"give the portal's address (--server, BOOTLOADER_SERVER) or its alias on a relay (--alias), not both"},
		{"bad_alias", func(o *bootloader.Options) { o.Server, o.Alias, o.Relay = "", "acme corp", "http://127.0.0.1:1" },
			`alias "acme corp" is not valid: ' ' is not allowed; use letters, digits and . _ - + @`},
		{"relay_down_stamped", func(o *bootloader.Options) {
			o.Server = ""
			o.Executable = fakeExecutable(t, &packages.BootConfig{Alias: "acme", Relay: "http://127.0.0.1:1"})
		}, "cannot reach the relay at http://127.0.0.1:1"},
		{"activation_password_without_email", func(o *bootloader.Options) { o.ActivationPassword = "123456" },
			"an activation password needs the user's e-mail address: pass --email"},
		{"no_activation_password", func(o *bootloader.Options) { o.Email = "alice@example.com" },
			"no activation password: pass --activation-password-stdin and write it on standard input"},
		{"no_server", func(o *bootloader.Options) { o.Server = "" }, "no portal address: pass --server URL (or set BOOTLOADER_SERVER)"},
		{"no_username", func(o *bootloader.Options) { o.Username = "" }, "no username: pass --username"},
		{"no_password", func(o *bootloader.Options) { o.Password = "" }, "no password: pass --password-stdin and write it on standard input"},
		{"bad_fingerprint", func(o *bootloader.Options) { o.Fingerprint = "md5:1234" }, `fingerprint "md5:1234" is not a key fingerprint (sha256: and 64 hex digits)`},
		{"bad_server", func(o *bootloader.Options) { o.Server = "ftp://portal.example.com" }, `portal address "ftp://portal.example.com": only http and https are supported`},
		{"portal_down", func(o *bootloader.Options) { o.Server = "http://127.0.0.1:1" }, "fetch the portal's key: cannot reach the portal at http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, p, t.TempDir())
			tc.setup(&o)
			err := run(t, o)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error: got %v, want %q", err, tc.want)
			}
		})
	}
	if got := len(p.Logons()); got != 0 {
		t.Errorf("logons: got %d, want 0", got)
	}
}

func TestParsePortalAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://portal.example.com", "https://portal.example.com"},
		{"https://portal.example.com/", "https://portal.example.com"},
		{"https://portal.example.com/prov/?x=1#f", "https://portal.example.com/prov"},
		{"HTTP://portal.example.com:8080", "http://portal.example.com:8080"},
		{"portal.example.com", "https://portal.example.com"},
		{"portal.example.com:8443", "https://portal.example.com:8443"},
		{"portal.example.com:80", "http://portal.example.com:80"},
		{"localhost:8080", "http://localhost:8080"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
		{" 10.0.0.5:443 ", "https://10.0.0.5:443"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := bootloader.ParsePortalAddress(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "ftp://x", "https://", "user:pw@host", "://nohost"} {
		if u, err := bootloader.ParsePortalAddress(bad); err == nil {
			t.Errorf("%q: got %s, want an error", bad, u)
		}
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{"sha256:" + hex, "SHA256:" + strings.ToUpper(hex), hex, " " + hex + "\n"} {
		if got, err := bootloader.NormalizeFingerprint(in); err != nil || got != "sha256:"+hex {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "sha256:", "sha256:" + hex[:62], "sha256:" + hex + "00", "sha1:" + hex, strings.Repeat("zz", 32)} {
		if got, err := bootloader.NormalizeFingerprint(bad); err == nil {
			t.Errorf("%q: got %q, want an error", bad, got)
		}
	}
}

func TestRunPlacesPlainFilesUnderUsableNames(t *testing.T) {
	tests := []struct{ filename, want string }{
		{"corp.vpnconf", "corp.vpnconf"},
		{`report: Q1?.pdf`, "report_ Q1_.pdf"},
		{"../../etc/passwd", ".._.._etc_passwd"},
		{"..", "odd"},
		{"trailing.", "odd"},
		{"", "odd"},
	}
	for _, tc := range tests {
		t.Run(tc.want+"_from_"+tc.filename, func(t *testing.T) {
			p := portaltest.New(t)
			p.SetApps(portaltest.App{Name: "odd", Version: "1", Filename: tc.filename, Bytes: []byte("plain bytes")})
			dir := t.TempDir()
			mustRun(t, options(t, p, dir))
			entries, err := os.ReadDir(filepath.Join(dir, "apps", "odd"))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != tc.want {
				t.Fatalf("apps/odd holds %v, want only %q", entries, tc.want)
			}
		})
	}
}

func TestRunInterruptedReportsAndKeepsNothing(t *testing.T) {
	p := portaltest.New(t)
	app := portaltest.App{Name: "slow", Version: "1", Filename: "slow.txt", Bytes: []byte("never arrives")}
	p.SetApps(app)
	p.FailDownloads(app, 100) // the bootloader waits between tries: stop it there
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for len(p.BlobRequests()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	dir := t.TempDir()
	err := bootloader.Run(ctx, options(t, p, dir))
	if got := codeOf(err); got != bootloader.CodeInterrupted {
		t.Fatalf("error %v: code %q, want %s", err, got, bootloader.CodeInterrupted)
	}
	assertNothingInstalled(t, dir)
	if r := lastReport(t, p); r.Status != packages.StatusFailed || r.Error.Code != bootloader.CodeInterrupted {
		t.Errorf("report: got %+v, want failed with %s", r, bootloader.CodeInterrupted)
	}
}

func TestRunResumesPartFromEarlierRun(t *testing.T) {
	p := portaltest.New(t)
	app := portaltest.App{Name: "big", Version: "1", Filename: "big.bin", Bytes: randomBytes(t, 200_000)}
	p.SetApps(app)
	dir := t.TempDir()
	// What an earlier run, stopped mid-way, left behind.
	part := filepath.Join(dir, ".downloads", app.SHA256()+".part")
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, app.Bytes[:123_456], 0o644); err != nil {
		t.Fatal(err)
	}
	o := options(t, p, dir)
	mustRun(t, o)
	reqs := p.BlobRequests()
	if len(reqs) != 1 || reqs[0].Range != "bytes=123456-" {
		t.Fatalf("blob requests: got %+v, want one with Range bytes=123456-", reqs)
	}
	if got := readFile(t, filepath.Join(dir, "apps/big/big.bin")); got != string(app.Bytes) {
		t.Error("installed bytes differ from the app's")
	}
	if out := o.Stdout.(*lockedBuffer).String(); !contains(out, "resuming big 1 at 61% (123.5 kB of 200.0 kB)") {
		t.Errorf("output does not say it resumes:\n%s", out)
	}
}

func TestRunGivesUpOnPersistentServerErrors(t *testing.T) {
	p := portaltest.New(t)
	app := portaltest.App{Name: "down", Version: "1", Filename: "down.txt", Bytes: []byte("x")}
	p.SetApps(app)
	p.FailDownloads(app, 100)
	dir := t.TempDir()
	err := run(t, options(t, p, dir))
	if got, want := fmt.Sprint(err), "app down: download failed after 5 attempts: try again later (HTTP 503)"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if got := codeOf(err); got != bootloader.CodeDownloadFailed {
		t.Errorf("code: got %q, want %s", got, bootloader.CodeDownloadFailed)
	}
	if got := len(p.BlobRequests()); got != 5 {
		t.Errorf("blob requests: got %d, want 5", got)
	}
	assertNothingInstalled(t, dir)
}
