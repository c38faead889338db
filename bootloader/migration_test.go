package bootloader_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"provportal/bootloader"
	"provportal/bootloader/portaltest"
	"provportal/packages"
)

// migrationExecutable writes a stamped stand-in bootloader into its own
// folder, with settings beside it when they are not nil.
func migrationExecutable(t *testing.T, cfg packages.BootConfig, settings any) string {
	t.Helper()
	exe := fakeExecutable(t, &cfg)
	if settings != nil {
		b, err := json.Marshal(settings)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := settings.(string); ok {
			b = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(exe), packages.SettingsFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return exe
}

func hostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port := 0
	for _, r := range u.Port() {
		port = port*10 + int(r-'0')
	}
	return u.Hostname(), port
}

func TestSettingsFileChangesRoutingAfterTheBuild(t *testing.T) {
	p := portaltest.New(t)
	_, _, plain, _, _ := typicalApps(t)
	p.SetApps(plain)
	host, port := hostPort(t, p.URL)
	// The package was built for an address that has since moved.
	stamp := packages.BootConfig{PortalURL: "http://127.0.0.1:1", Fingerprint: p.Fingerprint, Migration: "mig-secret"}

	t.Run("host_and_port", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = migrationExecutable(t, stamp, packages.Settings{Host: host, Port: port})
		mustRun(t, o)
		if got := p.Logons(); got[len(got)-1].Migration != "mig-secret" {
			t.Errorf("logon carried migration secret %q, want the stamped one", got[len(got)-1].Migration)
		}
		if out := o.Stdout.(*lockedBuffer).String(); contains(out, "first use") {
			t.Errorf("the stamped key was not pinned for the moved address; output:\n%s", out)
		}
	})
	t.Run("port_only_keeps_the_stamped_host", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = migrationExecutable(t, packages.BootConfig{PortalURL: "http://" + host + ":1", Fingerprint: p.Fingerprint},
			map[string]int{"port": port})
		mustRun(t, o)
	})
	t.Run("server", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = migrationExecutable(t, stamp, packages.Settings{Server: p.URL})
		mustRun(t, o)
	})
	t.Run("flags_and_environment_win", func(t *testing.T) {
		o := options(t, p, t.TempDir()) // Server names p, as --server or BOOTLOADER_SERVER would
		o.Executable = migrationExecutable(t, stamp, packages.Settings{Host: "127.0.0.1", Port: 1})
		mustRun(t, o)
		if got := p.Logons(); got[len(got)-1].Migration != "" {
			t.Errorf("a flag naming another portal still sent the package's secret %q", got[len(got)-1].Migration)
		}
	})
	t.Run("no_file_keeps_the_stamp", func(t *testing.T) {
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = migrationExecutable(t, packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint}, nil)
		mustRun(t, o)
	})

	refused := []struct {
		name     string
		settings any
		want     string
	}{
		{"alias_and_host", packages.Settings{Alias: "acme", Host: host, Port: port}, "alias and host"},
		{"relay_with_host", packages.Settings{Relay: "https://relay.example.com", Host: host}, "relay goes with alias"},
		{"unknown_key", `{"hostname":"portal.example.com"}`, "hostname"},
		{"not_json", `host = portal.example.com`, "not what this bootloader understands"},
		{"port_out_of_range", packages.Settings{Port: 70000}, "70000"},
		{"host_with_path", packages.Settings{Host: "portal.example.com/x"}, "not a host name"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, p, t.TempDir())
			o.Server = ""
			o.Executable = migrationExecutable(t, stamp, tt.settings)
			err := run(t, o)
			if err == nil || !contains(err.Error(), tt.want) || !contains(err.Error(), packages.SettingsFile) {
				t.Errorf("got %v, want a refusal naming %s and %q", err, packages.SettingsFile, tt.want)
			}
		})
	}
}

// legacyClient places a stand-in legacy client: two folders of files.
func legacyClient(t *testing.T) (root string, paths []string) {
	t.Helper()
	root = t.TempDir()
	for _, dir := range []string{"opt/oldmdm/bin", "etc/oldmdm"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"opt/oldmdm/bin/agent", "etc/oldmdm/agent.conf"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("legacy"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, []string{filepath.Join(root, "opt", "oldmdm"), filepath.Join(root, "etc", "oldmdm")}
}

func TestMigrationRemovesTheLegacyClientAfterInstallAndReport(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in uninstaller is a shell command")
	}
	p := portaltest.New(t)
	_, _, plain, _, _ := typicalApps(t)
	p.SetApps(plain)
	root, paths := legacyClient(t)
	dir := t.TempDir()
	marker := filepath.Join(root, "uninstalled")
	// The uninstaller notes whether the new package was already in place.
	uninstall := "if [ -f '" + filepath.Join(dir, "state.json") + "' ]; then echo after-install >> '" + marker + "'; else echo too-early >> '" + marker + "'; fi"
	o := options(t, p, dir)
	o.Server = ""
	o.Executable = migrationExecutable(t, packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint, Migration: "mig-1",
		Legacy: &packages.LegacyClient{Paths: paths, Service: "oldmdm-agent", Uninstall: uninstall}}, nil)
	mustRun(t, o)

	for _, path := range paths {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("legacy path %s is still there (%v)", path, err)
		}
	}
	if got := readFile(t, marker); got != "after-install\n" {
		t.Errorf("the uninstaller ran %q, want once after the install", got)
	}
	if r := p.LastReport(); r.Status != packages.StatusActivationComplete {
		t.Errorf("last report %+v, want activation_complete", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "apps", plain.Name)); err != nil {
		t.Errorf("the new app is not installed: %v", err)
	}
	out := o.Stdout.(*lockedBuffer).String()
	if !contains(out, "Legacy client removed.") || strings.Index(out, "Activation complete.") > strings.Index(out, "Legacy client removed.") {
		t.Errorf("output must report the install, then the removal:\n%s", out)
	}

	t.Run("running_the_package_again_removes_nothing_twice", func(t *testing.T) {
		o := o
		o.Stdout = &lockedBuffer{}
		mustRun(t, o)
		if got := readFile(t, marker); got != "after-install\n" {
			t.Errorf("the uninstaller ran again: %q", got)
		}
		if !contains(o.Stdout.(*lockedBuffer).String(), "Legacy client: removed on") {
			t.Errorf("output:\n%s", o.Stdout)
		}
	})
	t.Run("absent_client_is_left_alone", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "never-installed")
		o := options(t, p, t.TempDir())
		o.Server = ""
		o.Executable = migrationExecutable(t, packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint,
			Legacy: &packages.LegacyClient{Paths: []string{gone}, Uninstall: "exit 9"}}, nil)
		mustRun(t, o)
		if !contains(o.Stdout.(*lockedBuffer).String(), "not found") {
			t.Errorf("output:\n%s", o.Stdout)
		}
	})
}

func TestMigrationKeepsTheLegacyClientWhenSomethingFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in uninstaller is a shell command")
	}
	tests := []struct {
		name      string
		setup     func(p *portaltest.Portal, o *bootloader.Options)
		uninstall string
		want      string
	}{
		{"wrong_password", func(p *portaltest.Portal, o *bootloader.Options) { o.Password = "wrong" }, "", "username or password"},
		{"no_manifest", func(p *portaltest.Portal, o *bootloader.Options) {
			p.FailManifest(503, "unavailable", "the portal is restarting")
		}, "", "the portal is restarting"},
		{"untrusted_manifest", func(p *portaltest.Portal, o *bootloader.Options) {
			other := portaltest.New(t)
			p.SignWith(other.Key)
		}, "", "refused the manifest"},
		{"uninstaller_fails", func(p *portaltest.Portal, o *bootloader.Options) {}, "echo 'agent is locked' >&2; exit 3", "agent is locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := portaltest.New(t)
			_, _, plain, _, _ := typicalApps(t)
			p.SetApps(plain)
			_, paths := legacyClient(t)
			o := options(t, p, t.TempDir())
			o.Server = ""
			o.Executable = migrationExecutable(t, packages.BootConfig{PortalURL: p.URL, Fingerprint: p.Fingerprint,
				Legacy: &packages.LegacyClient{Paths: paths, Uninstall: tt.uninstall}}, nil)
			tt.setup(p, &o)
			err := run(t, o)
			if err == nil || !contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line naming %q", err, tt.want)
			}
			for _, path := range paths {
				if _, err := os.Stat(path); err != nil {
					t.Errorf("legacy path %s was touched: %v", path, err)
				}
			}
		})
	}
}

func TestMigrationRefusesDangerousLegacyPaths(t *testing.T) {
	p := portaltest.New(t)
	dir := filepath.Join(t.TempDir(), "install")
	home, _ := os.UserHomeDir()
	exe := migrationExecutable(t, packages.BootConfig{}, nil)
	exeDir := filepath.Dir(exe)
	root := "/"
	if runtime.GOOS == "windows" {
		root = `C:\`
	}
	paths := map[string]string{
		"root":                root,
		"home":                home,
		"above_home":          filepath.Dir(home),
		"install_dir":         dir,
		"above_install_dir":   filepath.Dir(dir),
		"inside_install_dir":  filepath.Join(dir, "apps"),
		"bootloader_folder":   exeDir,
		"temp_dir":            os.TempDir(),
		"relative":            "oldmdm",
		"dot_dot":             exeDir + string(filepath.Separator) + ".." + string(filepath.Separator) + "x",
		"install_dir_by_link": "",
	}
	if runtime.GOOS != "windows" {
		paths["system_folder"] = "/usr"
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(filepath.Dir(dir), link); err != nil {
			t.Fatal(err)
		}
		paths["install_dir_by_link"] = filepath.Join(link, "install")
	}
	for name, path := range paths {
		if path == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			o := options(t, p, dir)
			o.Executable = exe
			stamped := packages.BootConfig{Legacy: &packages.LegacyClient{Paths: []string{path}}}
			trailer, err := packages.StampTrailer(stamped)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(exe, append([]byte(clientImage), trailer...), 0o755); err != nil {
				t.Fatal(err)
			}
			before := len(p.Logons())
			err = run(t, o)
			if err == nil || !contains(err.Error(), "nothing was changed") {
				t.Errorf("legacy path %s: got %v, want a refusal before anything is done", path, err)
			}
			if len(p.Logons()) != before {
				t.Error("the bootloader logged on before refusing")
			}
		})
	}
}

func TestMigrationToleratesAnAbsentService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux's")
	}
	p := portaltest.New(t)
	_, paths := legacyClient(t)
	o := options(t, p, t.TempDir())
	o.Executable = migrationExecutable(t, packages.BootConfig{Legacy: &packages.LegacyClient{Paths: paths,
		Service: "provportal-test-no-such-unit"}}, nil)
	mustRun(t, o)
	if _, err := os.Stat(paths[0]); !os.IsNotExist(err) {
		t.Errorf("legacy path kept: %v", err)
	}
	out := o.Stdout.(*lockedBuffer).String()
	if !contains(out, "provportal-test-no-such-unit") {
		t.Errorf("output does not say what became of the service:\n%s", out)
	}
}
