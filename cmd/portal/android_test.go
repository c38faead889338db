package main

import (
	"archive/zip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provportal/packages/apk"
)

const androidTools = "aapt zipalign apksigner android-framework-res libsmali-java dexdump qemu-user"

// requireAndroidTools skips, with a notice, where Debian's Android tools or
// qemu are missing; under CI they must be there.
func requireAndroidTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"smali", "aapt", "zipalign", "apksigner", "dexdump", "qemu-aarch64"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("NOTICE: %s is not installed, so the Android test is skipped: apt-get install -y %s", tool, androidTools)
		}
	}
}

// goBuild builds the bootloader for another platform, as `make bootloaders` does.
func goBuild(t *testing.T, goos, goarch, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o", out, "../bootloader")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the bootloader for %s-%s: %v\n%s", goos, goarch, err, b)
	}
}

// TestAndroidEndToEnd builds the bootloader APK with the script `make
// bootloaders` runs, lets the real portal sign it and stamp an invitation
// into it, and checks the download with Android's own tools. Then it runs
// the same bootloader code, built for linux-arm64, under qemu-aarch64 with
// that APK as its package, as the launcher runs it on a phone: it reads its
// stamp from the APK's signing block, logs on, installs, hands the Android
// app it installed to the launcher, and reports.
func TestAndroidEndToEnd(t *testing.T) {
	requireAndroidTools(t)
	blDir, work := t.TempDir(), t.TempDir()
	goBuild(t, "android", "arm64", filepath.Join(work, "libbootloader.so"))
	build := exec.Command("../../bootloader/android/build.sh", filepath.Join(work, "libbootloader.so"),
		filepath.Join(blDir, "bootloader-android-arm64.apk"), "test")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("bootloader/android/build.sh: %v\n%s", err, b)
	}
	arm64 := filepath.Join(work, "bootloader-linux-arm64")
	goBuild(t, "linux", "arm64", arm64)

	dataDir := t.TempDir()
	if out, err := run(t, "opal-Secret-123\n", "admin", "create", "--username", "opal", "--password-stdin", "--data-dir", dataDir); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	p := startPortal(t, nil, "--data-dir", dataDir, "--bootloader-dir", blDir)
	_, token := login(t, p.URL, "opal", "opal-Secret-123")
	a := &adminClient{t: t, url: p.URL, token: token}
	uid := a.id("POST", "/api/v1/users", map[string]any{"username": "carol", "phone": "+447700900124", "password": "Carol-pass-98765"})
	notes := a.id("POST", "/api/v1/apps", map[string]string{"name": "field-notes", "version": "1.4.0"})
	a.do("PUT", "/api/v1/apps/"+notes+"/artifacts/linux-arm64?filename=notes.tar.gz", tarGz(t, "notes.txt", "notes-marker-8080"), nil)
	a.do("POST", "/api/v1/assignments", map[string]string{"app_id": notes, "user_id": uid}, nil)
	mail := a.id("POST", "/api/v1/apps", map[string]string{"name": "mail", "version": "2.0.0"})
	a.do("PUT", "/api/v1/apps/"+mail+"/artifacts/linux-arm64?filename=Mail.apk", []byte("PK\x03\x04 an Android app stands here"), nil)
	a.do("POST", "/api/v1/assignments", map[string]string{"app_id": mail, "user_id": uid}, nil)
	link := provisioningLink(t, a, uid, "+447700900124")

	var landing struct {
		Platform  string
		Downloads map[string]string
	}
	getWithUA(t, link, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", &landing)
	if landing.Platform != "android-arm64" || landing.Downloads["android-arm64"] == "" {
		t.Fatalf("an Android phone is offered %q with downloads %v", landing.Platform, landing.Downloads)
	}
	pkg := filepath.Join(work, "bootloader-android-arm64.apk")
	res := downloadAPK(t, landing.Downloads["android-arm64"], pkg)
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); ct != "application/vnd.android.package-archive" || !strings.Contains(cd, `filename=bootloader-android-arm64.apk`) {
		t.Errorf("download served as %q, %q; want an APK named bootloader-android-arm64.apk", ct, cd)
	}

	t.Run("signed_with_the_portal_key", func(t *testing.T) {
		out := tool(t, "apksigner", "verify", "--verbose", "--print-certs", "--min-sdk-version", "21", pkg)
		for _, want := range []string{"Verifies", "Verified using v1 scheme (JAR signing): true", "Verified using v2 scheme (APK Signature Scheme v2): true"} {
			if !strings.Contains(out, want) {
				t.Errorf("apksigner verify lacks %q:\n%s", want, out)
			}
		}
		b, err := os.ReadFile(filepath.Join(dataDir, "android", "key", "cert.pem"))
		if err != nil {
			t.Fatalf("no signing certificate in the data dir: %v", err)
		}
		blk, _ := pem.Decode(b)
		sum := sha256.Sum256(blk.Bytes)
		if !strings.Contains(out, "certificate SHA-256 digest: "+hex.EncodeToString(sum[:])) {
			t.Errorf("the APK is not signed with the certificate in the data dir:\n%s", out)
		}
	})

	t.Run("stamp", func(t *testing.T) {
		f, err := os.Open(pkg)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		cfg, err := apk.ReadStamp(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		if cfg.PortalURL != p.URL || cfg.Invitation == "" || !strings.HasSuffix(link, "/p/"+cfg.Invitation) || !strings.HasPrefix(cfg.Fingerprint, "sha256:") {
			t.Errorf("stamp = %+v; want this portal, its key and the invitation of %s", cfg, link)
		}

		generic := filepath.Join(work, "generic.apk")
		downloadAPK(t, p.URL+"/download/android-arm64", generic)
		tool(t, "apksigner", "verify", generic)
		g, _ := os.Open(generic)
		defer g.Close()
		gi, _ := g.Stat()
		if cfg, err := apk.ReadStamp(g, gi.Size()); err != nil || cfg.PortalURL != p.URL || cfg.Invitation != "" {
			t.Errorf("generic download stamp = %+v, %v; want the portal without an invitation", cfg, err)
		}
		if signed, _ := filepath.Glob(filepath.Join(dataDir, "android", "bootloader-*.apk")); len(signed) != 1 {
			t.Errorf("signed copies in the data dir: %v; want the one build signed once", signed)
		}
	})

	t.Run("manifest_and_launcher", func(t *testing.T) {
		badging := tool(t, "aapt", "dump", "badging", pkg)
		for _, want := range []string{"package: name='com.provportal.bootloader'", "launchable-activity: name='com.provportal.bootloader.Launcher'",
			"uses-permission: name='android.permission.INTERNET'", "uses-permission: name='android.permission.REQUEST_INSTALL_PACKAGES'", "native-code: 'arm64-v8a'"} {
			if !strings.Contains(badging, want) {
				t.Errorf("aapt dump badging lacks %q:\n%s", want, badging)
			}
		}
		if tree := tool(t, "aapt", "dump", "xmltree", pkg, "AndroidManifest.xml"); !strings.Contains(tree, "android:extractNativeLibs(0x010104ea)=(type 0x12)0xffffffff") {
			t.Errorf("the manifest does not ask for its native library to be extracted:\n%s", tree)
		}

		zr, err := zip.OpenReader(pkg)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		dex := filepath.Join(work, "classes.dex")
		for _, f := range zr.File {
			switch f.Name {
			case "classes.dex":
				copyOut(t, f, dex)
			case "lib/arm64-v8a/libbootloader.so":
				so := filepath.Join(work, "extracted.so")
				copyOut(t, f, so)
				e, err := elf.Open(so)
				if err != nil {
					t.Fatalf("libbootloader.so: %v", err)
				}
				if e.Machine != elf.EM_AARCH64 {
					t.Errorf("libbootloader.so is for %v, want arm64", e.Machine)
				}
				e.Close()
			}
		}
		dump := tool(t, "dexdump", "-h", dex)
		for _, want := range []string{
			"Class descriptor  : 'Lcom/provportal/bootloader/Launcher;'", "Superclass        : 'Landroid/app/Activity;'",
			"Class descriptor  : 'Lcom/provportal/bootloader/Files;'", "Superclass        : 'Landroid/content/ContentProvider;'",
			"Class descriptor  : 'Lcom/provportal/bootloader/Run;'",
		} {
			if !strings.Contains(dump, want) {
				t.Errorf("dexdump lacks %q", want)
			}
		}
		for _, s := range []string{"libbootloader.so", "BOOTLOADER_PACKAGE", "--password-stdin", "install-apk "} {
			if !strings.Contains(tool(t, "dexdump", "-d", dex), s) {
				t.Errorf("the launcher's code lacks %q", s)
			}
		}
	})

	t.Run("bootloader_under_qemu", func(t *testing.T) {
		install := filepath.Join(work, "install")
		cmd := exec.Command("qemu-aarch64", arm64, "--username", "carol", "--password-stdin", "--non-interactive")
		cmd.Env = append(os.Environ(), "BOOTLOADER_PACKAGE="+pkg, "BOOTLOADER_INSTALL_DIR="+install)
		cmd.Stdin = strings.NewReader("Carol-pass-98765\n")
		out, err := runUntil(t, cmd, 3*time.Minute, "bootloader under qemu")
		if err != nil {
			t.Fatalf("bootloader under qemu: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Portal: "+p.URL) {
			t.Errorf("the bootloader did not find the portal stamped in the APK:\n%s", out)
		}
		apkPath := filepath.Join(install, "apps", "mail", "Mail.apk")
		if !strings.Contains(out, "\ninstall-apk "+apkPath+"\n") {
			t.Errorf("the Android app was not handed to the launcher (want a line install-apk %s):\n%s", apkPath, out)
		}
		if _, err := os.Stat(apkPath); err != nil {
			t.Errorf("the Android app is not where the launcher is told: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(install, "apps", "field-notes", "notes.txt")); err != nil || string(b) != "notes-marker-8080" {
			t.Errorf("installed notes.txt = %q, %v", b, err)
		}
		var devices struct {
			Items []struct {
				Status, Platform string
				Installed        map[string]string
			}
		}
		a.do("GET", "/api/v1/devices", nil, &devices)
		if len(devices.Items) != 1 || devices.Items[0].Status != "activation_complete" || devices.Items[0].Platform != "linux-arm64" ||
			devices.Items[0].Installed["mail"] != "2.0.0" {
			t.Errorf("devices = %+v; want one linux-arm64 device, activation_complete with mail 2.0.0", devices.Items)
		}
	})
}

// provisioningLink sends a user a provisioning SMS through the outbox and
// returns its link.
func provisioningLink(t *testing.T, a *adminClient, uid, phone string) string {
	t.Helper()
	a.do("POST", "/api/v1/provisioning/sms", map[string]any{"user_ids": []string{uid}}, nil)
	for range 100 {
		var msgs struct{ Items []struct{ To, Body string } }
		a.do("GET", "/api/v1/sms", nil, &msgs)
		for _, m := range msgs.Items {
			if link := smsLinkRE.FindString(m.Body); m.To == phone && link != "" {
				return link
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no provisioning SMS with a link")
	return ""
}

func downloadAPK(t *testing.T, u, path string) *http.Response {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %d %s", u, res.StatusCode, b)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return res
}

// tool runs one of the Android tools and returns its output; it must succeed.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func copyOut(t *testing.T, f *zip.File, path string) {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
