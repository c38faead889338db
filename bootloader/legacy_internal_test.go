package bootloader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On a file system that ignores case, a legacy path spelt in another case
// is the same folder, and must be refused as that folder is.
func TestSafeToRemoveIgnoresCaseWhereTheFileSystemDoes(t *testing.T) {
	was := caseInsensitive
	caseInsensitive = true
	t.Cleanup(func() { caseInsensitive = was })

	base := t.TempDir()
	home := filepath.Join(base, "Users", "Alice")
	install := filepath.Join(base, "Library", "Portal")
	exe := filepath.Join(base, "Downloads", "Bootloader")
	for _, d := range []string{home, install, filepath.Dir(exe)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)

	for name, p := range map[string]string{
		"home":              strings.ToLower(home),
		"above_install_dir": strings.ToLower(filepath.Dir(install)),
		"inside_install":    strings.ToUpper(filepath.Join(install, "apps")),
		"bootloader_folder": strings.ToLower(filepath.Dir(exe)),
	} {
		t.Run(name, func(t *testing.T) {
			if err := safeToRemove(p, install, exe); err == nil {
				t.Errorf("safeToRemove(%s): got nil, want a refusal", p)
			}
		})
	}
}
