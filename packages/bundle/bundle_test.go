package bundle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"provportal/packages"
	"provportal/packages/bundle"
	"provportal/packages/bundle/bundletest"
)

func build(t *testing.T, platform string, bootloader []byte, cfg packages.BootConfig, s packages.Settings) []byte {
	t.Helper()
	var buf bytes.Buffer
	name := "bootloader-" + platform
	if bundle.Windows(platform) {
		name += ".exe"
	}
	err := bundle.Write(&buf, bundle.Migration{Platform: platform, Bootloader: bytes.NewReader(bootloader),
		BootloaderSize: int64(len(bootloader)), BootloaderName: name, Config: cfg, Settings: s,
		ModTime: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)})
	if err != nil {
		t.Fatalf("Write %s: %v", platform, err)
	}
	return buf.Bytes()
}

func TestLinuxPackageIsATarGzWithItsLauncher(t *testing.T) {
	image := []byte("\x7fELF stand-in bootloader")
	cfg := packages.BootConfig{PortalURL: "https://portal.example.com:8443", Fingerprint: "sha256:" + strings.Repeat("ab", 32),
		Migration: "secret-1", Legacy: &packages.LegacyClient{Paths: []string{"/opt/oldmdm"}, Service: "oldmdm"}}
	files := bundletest.UntarGz(t, build(t, "linux-amd64", image, cfg, packages.Settings{Host: "portal.example.com", Port: 8443}))
	if len(files) != 3 {
		t.Errorf("entries %v, want install.sh, the bootloader and %s", slices.Sorted(maps.Keys(files)), packages.SettingsFile)
	}
	bl := files["bootloader-linux-amd64"]
	if !bytes.HasPrefix(bl.Body, image) || bl.Mode != 0o755 {
		t.Fatalf("bootloader: mode %v, starts %q; want 0755 and the image", bl.Mode, bl.Body[:min(len(bl.Body), 20)])
	}
	got := bundletest.Stamp(t, bl.Body)
	if got.PortalURL != cfg.PortalURL || got.Migration != "secret-1" || got.Fingerprint != cfg.Fingerprint || got.Legacy == nil || got.Legacy.Service != "oldmdm" {
		t.Errorf("stamp %+v, want %+v", got, cfg)
	}
	sh := files["install.sh"]
	if sh.Mode != 0o755 || !strings.HasPrefix(string(sh.Body), "#!/bin/sh\n") || !strings.Contains(string(sh.Body), `bootloader="$here/bootloader-linux-amd64"`) ||
		!strings.Contains(string(sh.Body), `exec "$bootloader" "$@"`) {
		t.Errorf("install.sh (mode %v):\n%s", sh.Mode, sh.Body)
	}
	if strings.Contains(string(sh.Body), "xattr") || strings.Contains(string(sh.Body), "\r") {
		t.Error("the Linux launcher carries macOS steps or CRs")
	}
	var s packages.Settings
	if err := json.Unmarshal(files[packages.SettingsFile].Body, &s); err != nil || s.Host != "portal.example.com" || s.Port != 8443 || s.Alias != "" {
		t.Errorf("settings %s (%v)", files[packages.SettingsFile].Body, err)
	}
}

func TestMacOSPackageLiftsQuarantine(t *testing.T) {
	files := bundletest.UntarGz(t, build(t, "darwin-arm64", []byte("\xcf\xfa\xed\xfe"), packages.BootConfig{Alias: "acme"}, packages.Settings{Alias: "acme"}))
	sh := string(files["install.sh"].Body)
	if !strings.Contains(sh, "xattr -d com.apple.quarantine") || !strings.Contains(sh, "bootloader-darwin-arm64") {
		t.Errorf("install.sh:\n%s", sh)
	}
}

func TestWindowsPackageIsAZipWithPowerShellAndCmd(t *testing.T) {
	image := []byte("MZ stand-in bootloader")
	cfg := packages.BootConfig{Alias: "acme@example.com", Relay: "https://relay.example.com", Migration: "secret-2"}
	files := bundletest.Unzip(t, build(t, "windows-arm64", image, cfg, packages.Settings{Alias: "acme@example.com", Relay: "https://relay.example.com"}))
	for _, name := range []string{"install.ps1", "install.cmd", "bootloader-windows-arm64.exe", packages.SettingsFile} {
		if _, ok := files[name]; !ok {
			t.Errorf("no %s in %v", name, slices.Sorted(maps.Keys(files)))
		}
	}
	if got := bundletest.Stamp(t, files["bootloader-windows-arm64.exe"].Body); got.Alias != cfg.Alias || got.Relay != cfg.Relay || got.Migration != "secret-2" {
		t.Errorf("stamp %+v, want %+v", got, cfg)
	}
	ps := string(files["install.ps1"].Body)
	if !strings.Contains(ps, "Join-Path $PSScriptRoot 'bootloader-windows-arm64.exe'") || !strings.Contains(ps, "& $bootloader @args") ||
		!strings.Contains(ps, "exit $LASTEXITCODE") {
		t.Errorf("install.ps1:\n%s", ps)
	}
	cmd := string(files["install.cmd"].Body)
	if !strings.Contains(cmd, `-File "%~dp0install.ps1" %*`) || !strings.Contains(cmd, "\r\n") || strings.Contains(strings.ReplaceAll(cmd, "\r\n", ""), "\n") {
		t.Errorf("install.cmd must call install.ps1 with every argument, with CRLF line ends:\n%q", cmd)
	}
}

func TestPhonesGetNoMigrationPackage(t *testing.T) {
	err := bundle.Write(io.Discard, bundle.Migration{Platform: "android-arm64", BootloaderName: "b", Bootloader: strings.NewReader("")})
	if !errors.Is(err, bundle.ErrPlatform) {
		t.Errorf("android: %v, want ErrPlatform", err)
	}
}

func TestShortBootloaderIsRefused(t *testing.T) {
	err := bundle.Write(io.Discard, bundle.Migration{Platform: "linux-amd64", BootloaderName: "b",
		Bootloader: strings.NewReader("short"), BootloaderSize: 100})
	if err == nil {
		t.Error("a bootloader shorter than its size was packed")
	}
}

// TestInstallShHandsOnArgumentsAndStandardInput runs the real launcher over a
// stand-in bootloader that prints what it got.
func TestInstallShHandsOnArgumentsAndStandardInput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	// The stamp trailer follows the script; exit keeps sh from reading it.
	fake := []byte("#!/bin/sh\nprintf 'args:%s|' \"$@\"\nprintf 'stdin:'\ncat\nexit 7\n")
	files := bundletest.UntarGz(t, build(t, "linux-amd64", fake, packages.BootConfig{PortalURL: "http://127.0.0.1:1"}, packages.Settings{}))
	dir := filepath.Join(t.TempDir(), "unpacked dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		// As a channel that drops file modes would unpack it.
		if err := os.WriteFile(filepath.Join(dir, name), f.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "install.sh", "--username", "frank", "--password-stdin", "--install-dir", "/tmp/with space", "--non-interactive")
	cmd.Dir = t.TempDir() // not the package's dir: the launcher finds its bootloader itself
	cmd.Args[1] = filepath.Join(dir, "install.sh")
	cmd.Stdin = strings.NewReader("Frank-pass\n")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("exit %v, want the bootloader's 7; output %q", err, out)
	}
	want := "args:--username|args:frank|args:--password-stdin|args:--install-dir|args:/tmp/with space|args:--non-interactive|stdin:Frank-pass\n"
	if string(out) != want {
		t.Errorf("the bootloader got %q, want %q", out, want)
	}
}
