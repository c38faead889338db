package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/gormstore"
	"provportal/portal/server"
	"provportal/portal/testdb"
)

var binary string

// TestMain builds the real provctl once; the tests run it as a process
// against a real portal served on loopback.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "provctl-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "provctl")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building provctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testdb.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

const rootPassword = "root-Secret-123"

// testPortal is a real portal on SQLite with an administrator "root" and
// stand-in bootloaders.
type testPortal struct {
	URL   string
	Store *gormstore.Store
}

func startPortal(t *testing.T) *testPortal {
	t.Helper()
	st, err := gormstore.Open(gormstore.Config{SQLitePath: testdb.SQLitePath(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	cfg := server.Defaults()
	cfg.DataDir, cfg.PublicURL, cfg.BootloaderDir = t.TempDir(), ts.URL, t.TempDir()
	cfg.HashParams = auth.Params{Memory: 64, Time: 1, Threads: 1}
	if err := os.WriteFile(filepath.Join(cfg.BootloaderDir, "bootloader-linux-amd64"), []byte("\x7fELF stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	hash, err := auth.HashPassword(rootPassword, cfg.HashParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAdmin(context.Background(), &portal.Admin{Username: "root", Role: portal.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return &testPortal{URL: ts.URL, Store: st}
}

// result is one run of provctl.
type result struct {
	stdout, stderr string
	code           int
}

// provctl runs the binary with its own configuration folder (config) and env.
func provctl(t *testing.T, config, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"HOME=" + config, "XDG_CONFIG_HOME=" + config, "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Dir = config
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

func (r result) wantOK(t *testing.T) result {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want success (stdout %q)", r.code, r.stderr, r.stdout)
	}
	return r
}

// wantFail checks the exit status and that the error is one line saying want.
func (r result) wantFail(t *testing.T, code int, want string) {
	t.Helper()
	if r.code != code || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "provctl: ") || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d with one line saying %q", r.code, r.stderr, code, want)
	}
}

// loggedOn is a configuration folder where root is logged on to p.
func loggedOn(t *testing.T, p *testPortal) string {
	t.Helper()
	config := t.TempDir()
	provctl(t, config, rootPassword+"\n", nil, "--server", p.URL, "login", "--username", "root", "--password-stdin").wantOK(t)
	return config
}

func TestLoginKeepsTheTokenPrivately(t *testing.T) {
	p := startPortal(t)
	config := t.TempDir()
	provctl(t, config, "wrong\n", nil, "--server", p.URL, "login", "--username", "root", "--password-stdin").
		wantFail(t, 1, "username or password is incorrect")

	r := provctl(t, config, rootPassword+"\n", nil, "login", "--server", p.URL, "--username", "root", "--password-stdin").wantOK(t)
	if !strings.Contains(r.stdout, "Logged on to "+p.URL+" as root") {
		t.Errorf("stdout %q", r.stdout)
	}
	kept := filepath.Join(config, "provportal", "provctl.json")
	fi, err := os.Stat(kept)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept token file: %v, mode %v; want 0600", err, fi)
	}
	var k struct{ Server, Token string }
	b, _ := os.ReadFile(kept)
	if json.Unmarshal(b, &k) != nil || k.Server != p.URL || k.Token == "" {
		t.Errorf("kept %s", b)
	}

	// The kept server and token serve later commands without flags.
	provctl(t, config, "", nil, "devices", "list").wantOK(t)

	t.Run("token_from_the_environment", func(t *testing.T) {
		other := t.TempDir()
		provctl(t, other, "", []string{"PROVCTL_SERVER=" + p.URL, "PROVCTL_TOKEN=" + k.Token}, "devices", "list", "--json").wantOK(t)
		provctl(t, other, "", []string{"PROVCTL_SERVER=" + p.URL, "PROVCTL_TOKEN=not-a-token"}, "devices", "list").wantFail(t, 1, "token")
		provctl(t, other, "", []string{"PROVCTL_SERVER=" + p.URL}, "devices", "list").wantFail(t, 1, "not logged on")
		provctl(t, other, "", nil, "devices", "list").wantFail(t, 2, "which portal")
	})
	t.Run("logout_forgets_it", func(t *testing.T) {
		provctl(t, config, "", nil, "logout").wantOK(t)
		if _, err := os.Stat(kept); !os.IsNotExist(err) {
			t.Errorf("the token file is still there: %v", err)
		}
	})
}

func TestBadCommandLines(t *testing.T) {
	config := t.TempDir()
	provctl(t, config, "", nil).wantFail(t, 2, "no command")
	provctl(t, config, "", nil, "reboot").wantFail(t, 2, `unknown command "reboot"`)
	provctl(t, config, "", nil, "--server", "http://127.0.0.1:1", "migration-package", "--bogus").wantFail(t, 2, "bogus")
	provctl(t, config, "", []string{"PROVCTL_TOKEN=x"}, "--server", "http://127.0.0.1:1", "devices", "list").wantFail(t, 1, "cannot reach the portal")
	if r := provctl(t, config, "", nil, "version").wantOK(t); !strings.HasPrefix(r.stdout, "provctl ") {
		t.Errorf("version: %q", r.stdout)
	}
	if r := provctl(t, config, "", nil, "--help"); r.code != 0 || !strings.Contains(r.stdout, "migration-package --platform") {
		t.Errorf("--help: exit %d, %q", r.code, r.stdout)
	}
}

func TestMigrationPackageToAFile(t *testing.T) {
	p := startPortal(t)
	config := loggedOn(t, p)
	r := provctl(t, config, "", nil, "migration-package", "--platform", "linux-amd64", "--host", "127.0.0.1", "--port", "8443",
		"--legacy-path", "/opt/oldmdm", "--legacy-path", "/etc/oldmdm", "--legacy-service", "oldmdm", "--legacy-uninstall", "/opt/oldmdm/uninstall",
		"-o", "pkg.tar.gz").wantOK(t)
	if !strings.Contains(r.stdout, "Wrote pkg.tar.gz") {
		t.Errorf("stdout %q", r.stdout)
	}
	path := filepath.Join(config, "pkg.tar.gz")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("package file: %v %v; want mode 0600", err, fi)
	}
	files := untarGz(t, path)
	if !strings.Contains(string(files["install.sh"]), `"$@"`) {
		t.Errorf("install.sh:\n%s", files["install.sh"])
	}
	bl := files["bootloader-linux-amd64"]
	cfg, err := packages.ReadStamp(bytes.NewReader(bl), int64(len(bl)))
	if err != nil || cfg.PortalURL != "http://127.0.0.1:8443" || cfg.Migration == "" || cfg.Legacy == nil ||
		strings.Join(cfg.Legacy.Paths, " ") != "/opt/oldmdm /etc/oldmdm" || cfg.Legacy.Service != "oldmdm" {
		t.Errorf("stamp %+v (%v)", cfg, err)
	}

	t.Run("default_name_is_the_portals", func(t *testing.T) {
		provctl(t, config, "", nil, "migration-package", "--platform", "linux-amd64", "--alias", "acme").wantOK(t)
		if _, err := os.Stat(filepath.Join(config, "migration-linux-amd64.tar.gz")); err != nil {
			t.Error(err)
		}
	})
	t.Run("alias_and_host_refused_in_one_line", func(t *testing.T) {
		provctl(t, config, "", nil, "migration-package", "--platform", "linux-amd64", "--alias", "acme", "--host", "h", "--port", "1", "-o", "x.tgz").
			wantFail(t, 1, "alias: give alias, or host and port, not both")
		if _, err := os.Stat(filepath.Join(config, "x.tgz")); !os.IsNotExist(err) {
			t.Errorf("a refused package left a file: %v", err)
		}
	})
	t.Run("missing_bootloader", func(t *testing.T) {
		provctl(t, config, "", nil, "migration-package", "--platform", "windows-amd64", "--alias", "acme", "-o", "w.zip").
			wantFail(t, 1, "no bootloader for windows-amd64")
	})
	t.Run("standard_output", func(t *testing.T) {
		r := provctl(t, config, "", nil, "migration-package", "--platform", "linux-amd64", "--alias", "acme", "-o", "-").wantOK(t)
		if _, err := gzip.NewReader(strings.NewReader(r.stdout)); err != nil {
			t.Errorf("standard output is not the package: %v", err)
		}
	})
}

func TestUsersImport(t *testing.T) {
	p := startPortal(t)
	config := loggedOn(t, p)
	csv := filepath.Join(config, "users.csv")
	if err := os.WriteFile(csv, []byte("username,email,password\nalice,alice@example.com,Alice-pass-1234\nbob,bob@example.com,\ncarl,not-an-address,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := provctl(t, config, "", nil, "users", "import", csv, "--dry-run")
	r.wantFail(t, 1, "1 of 3 rows refused")
	for _, want := range []string{"alice", "created", "carl", "refused", "email", "Dry run, nothing changed: 2 created, 0 updated, 1 refused."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if page, _ := p.Store.Users(context.Background(), portal.ListOptions{}); page.Total != 0 {
		t.Fatalf("a dry run created %d users", page.Total)
	}
	r = provctl(t, config, "", nil, "users", "import", csv)
	r.wantFail(t, 1, "1 of 3 rows refused")
	if !strings.Contains(r.stdout, "Imported: 2 created, 0 updated, 1 refused.") {
		t.Errorf("report:\n%s", r.stdout)
	}
	if page, _ := p.Store.Users(context.Background(), portal.ListOptions{}); page.Total != 2 {
		t.Errorf("%d users after the import, want 2", page.Total)
	}
	provctl(t, config, "", nil, "users", "import", filepath.Join(config, "missing.csv")).wantFail(t, 1, "missing.csv")
}

func TestSMSSendAndDevicesList(t *testing.T) {
	p := startPortal(t)
	config := loggedOn(t, p)
	ctx := context.Background()
	g := &portal.Group{Name: "Couriers"}
	if err := p.Store.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	carol := &portal.User{Username: "carol", Phone: "+447700900123", Groups: []string{g.ID}}
	dan := &portal.User{Username: "dan", Groups: []string{g.ID}}
	for _, u := range []*portal.User{carol, dan} {
		if err := p.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	r := provctl(t, config, "", nil, "sms", "send", "--user", "carol").wantOK(t)
	if !strings.Contains(r.stdout, "queued   carol  +447700900123") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = provctl(t, config, "", nil, "sms", "send", "--group", "couriers").wantOK(t)
	if !strings.Contains(r.stdout, "queued   carol") || !strings.Contains(r.stdout, "skipped  dan") || !strings.Contains(r.stdout, "1 message(s) queued, 1 user(s) skipped.") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	provctl(t, config, "", nil, "sms", "send", "--group", "nobody").wantFail(t, 1, `no group is named "nobody"`)
	provctl(t, config, "", nil, "sms", "send").wantFail(t, 2, "--group NAME or --user NAME")

	for _, d := range []*portal.Device{
		{ID: "dev-carol", UserID: carol.ID, Name: "carol-laptop", Platform: "linux-amd64", Status: "activation_complete", Progress: 100},
		{ID: "dev-dan", UserID: dan.ID, Name: "dan-phone", Platform: "android-arm64", Status: "failed", Progress: 40,
			Error: &portal.DeviceError{Code: "download_failed", Message: "no network"}},
	} {
		if err := p.Store.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	r = provctl(t, config, "", nil, "devices", "list").wantOK(t)
	for _, want := range []string{"USER", "carol", "carol-laptop", "activation_complete", "100%", "dan", "failed (download_failed)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = provctl(t, config, "", nil, "devices", "list", "--status", "failed", "--json").wantOK(t)
	var devices []portal.Device
	if err := json.Unmarshal([]byte(r.stdout), &devices); err != nil || len(devices) != 1 || devices[0].Name != "dan-phone" {
		t.Errorf("--status failed --json: %v %s", err, r.stdout)
	}
}

func untarGz(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.FileInfo().Mode()&fs.ModeType != 0 {
			continue
		}
		out[h.Name], _ = io.ReadAll(tr)
	}
}
