package bootloader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"provportal/packages"
	"provportal/packages/apk"
)

// readStamp reads the configuration the portal stamped: in the signing block
// of the Android package pkg when the bootloader came in one, otherwise at
// the end of the executable.
func readStamp(pkg, exe string) (packages.BootConfig, error) {
	if pkg == "" {
		return readStampFile(exe)
	}
	f, err := os.Open(pkg)
	if err != nil {
		return packages.BootConfig{}, fmt.Errorf("read this app's configuration: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return packages.BootConfig{}, fmt.Errorf("read this app's configuration: %w", err)
	}
	cfg, err := apk.ReadStamp(f, fi.Size())
	switch {
	case errors.Is(err, packages.ErrNoStamp):
		return packages.BootConfig{}, nil
	case err != nil:
		return packages.BootConfig{}, fmt.Errorf("the configuration stamped in this app is damaged (%v): download the app again", err)
	}
	return *cfg, nil
}

// APKMarker starts the line that asks the Android launcher to hand an APK the
// bootloader installed to the system installer; the file's path follows.
const APKMarker = "install-apk "

// handOverAPKs asks the launcher to install each Android app this run
// installed as a file: a bootloader cannot install an app itself, the person
// confirms each in the system installer. Apps unchanged since an earlier run
// are not offered again.
func handOverAPKs(out io.Writer, dir string, installed []packages.ManifestApp) {
	for _, app := range installed {
		if !strings.EqualFold(filepath.Ext(app.Filename), ".apk") {
			continue
		}
		fmt.Fprintf(out, "%s %s is an Android app: confirm its installation when Android asks.\n", app.Name, app.Version)
		fmt.Fprintln(out, APKMarker+filepath.Join(dir, appsDir, app.Name, placeName(app)))
	}
}
