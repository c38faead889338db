package apksign

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const framework = "/usr/share/android-framework-res/framework-res.apk"

// unsignedAPK links a manifest alone into an APK with aapt, as the build
// script does before it adds the code.
func unsignedAPK(t *testing.T, versionName string) string {
	t.Helper()
	for _, tool := range []string{"aapt", "apksigner"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("NOTICE: %s is not installed, so APK signing is not tested: apt-get install -y aapt apksigner android-framework-res", tool)
		}
	}
	dir := t.TempDir()
	manifest := filepath.Join(dir, "AndroidManifest.xml")
	os.WriteFile(manifest, []byte(`<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.example.signed">
<uses-sdk android:minSdkVersion="24" android:targetSdkVersion="29"/><application android:label="Signed"/></manifest>`), 0o644)
	out := filepath.Join(dir, "unsigned.apk")
	if b, err := exec.Command("aapt", "package", "-M", manifest, "-I", framework, "--version-name", versionName, "-F", out).CombinedOutput(); err != nil {
		t.Fatalf("aapt package: %v\n%s", err, b)
	}
	return out
}

func verify(t *testing.T, apk string) string {
	t.Helper()
	b, err := exec.Command("apksigner", "verify", "--verbose", "--print-certs", "--min-sdk-version", "21", apk).CombinedOutput()
	if err != nil {
		t.Fatalf("apksigner verify %s: %v\n%s", apk, err, b)
	}
	return string(b)
}

func TestSigned(t *testing.T) {
	unsigned := unsignedAPK(t, "1")
	dir := filepath.Join(t.TempDir(), "android")
	s := New(dir)
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	first, err := s.Signed(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	out := verify(t, first)
	for _, want := range []string{"v1 scheme (JAR signing): true", "v2 scheme (APK Signature Scheme v2): true", "CN=Provisioning portal bootloader"} {
		if !strings.Contains(out, want) {
			t.Errorf("apksigner verify lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, keyDir, keyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, keyDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("key dir: %v, %v; want mode 0700", fi, err)
	}

	t.Run("signed_once_per_build", func(t *testing.T) {
		before, _ := os.Stat(first)
		time.Sleep(10 * time.Millisecond)
		again, err := s.Signed(unsigned)
		if err != nil || again != first {
			t.Fatalf("second call: %q, %v; want %q", again, err, first)
		}
		// A restarted portal finds the copy and the key.
		again, err = New(dir).Signed(unsigned)
		after, _ := os.Stat(first)
		if err != nil || again != first || !after.ModTime().Equal(before.ModTime()) {
			t.Errorf("after a restart: %q, %v; want %q unchanged", again, err, first)
		}
	})

	t.Run("a_new_build_with_the_same_key", func(t *testing.T) {
		time.Sleep(10 * time.Millisecond) // a new modification time
		if b, err := os.ReadFile(unsignedAPK(t, "2")); err != nil || os.WriteFile(unsigned, b, 0o644) != nil {
			t.Fatal("cannot write the new build")
		}
		second, err := s.Signed(unsigned)
		if err != nil {
			t.Fatal(err)
		}
		if second == first {
			t.Fatal("a changed build was served from the old signed copy")
		}
		if _, err := os.Stat(first); !os.IsNotExist(err) {
			t.Errorf("the old build's signed copy is still there (%v)", err)
		}
		certLine := func(s string) string {
			for _, l := range strings.Split(s, "\n") {
				if strings.Contains(l, "certificate SHA-256 digest") {
					return l
				}
			}
			return ""
		}
		if a, b := certLine(out), certLine(verify(t, second)); a == "" || a != b {
			t.Errorf("builds signed with different keys: %q and %q", a, b)
		}
	})
}

func TestNotReadyWithoutApksigner(t *testing.T) {
	s := New(t.TempDir())
	s.apksigner = "apksigner-not-installed-here"
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "apt-get install apksigner") {
		t.Errorf("Ready = %v; want the missing tool named", err)
	}
}

func TestSignedRefusesWhatIsNoAPK(t *testing.T) {
	if _, err := exec.LookPath("apksigner"); err != nil {
		t.Skip("NOTICE: apksigner is not installed: apt-get install -y apksigner")
	}
	bad := filepath.Join(t.TempDir(), "bootloader-android-arm64.apk")
	os.WriteFile(bad, []byte("MZ not an APK"), 0o644)
	dir := t.TempDir()
	if _, err := New(dir).Signed(bad); err == nil {
		t.Error("a file that is no APK was signed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.apk")); len(left) != 0 {
		t.Errorf("a failed signing left %v", left)
	}
	if _, err := New(dir).Signed(filepath.Join(dir, "missing.apk")); !os.IsNotExist(err) {
		t.Errorf("a missing APK: %v, want not-exist", err)
	}
}
