package bundle

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/template"
	"time"

	"provportal/packages"
)

//go:embed launchers
var launcherFiles embed.FS

var launchers = template.Must(template.ParseFS(launcherFiles, "launchers/*"))

// Migration is what goes into a migration package.
type Migration struct {
	// Platform is the bootloader's platform, e.g. "linux-amd64".
	Platform string
	// Bootloader is the platform's bootloader as built, BootloaderSize bytes;
	// it is stored under BootloaderName with Config stamped on its end.
	Bootloader     io.Reader
	BootloaderSize int64
	BootloaderName string
	Config         packages.BootConfig
	// Settings is written beside the bootloader as packages.SettingsFile.
	Settings packages.Settings
	// ModTime dates the archive's entries.
	ModTime time.Time
}

// ErrPlatform says a platform gets no migration package: phones install
// from their own stores and profiles, not from a management channel's script.
var ErrPlatform = errors.New("migration packages are built for Linux, macOS and Windows")

// Windows says whether the platform's package is a .zip with PowerShell and
// cmd launchers rather than a .tar.gz with a shell launcher.
func Windows(platform string) bool { return strings.HasPrefix(platform, "windows-") }

// Supported says whether a migration package can be built for the platform.
func Supported(platform string) bool {
	for _, prefix := range []string{"linux-", "darwin-", "windows-"} {
		if strings.HasPrefix(platform, prefix) {
			return true
		}
	}
	return false
}

// ContentType is the media type of the platform's package.
func ContentType(platform string) string {
	if Windows(platform) {
		return "application/zip"
	}
	return "application/gzip"
}

// Filename is the file name to save the platform's package as.
func Filename(platform string) string {
	if Windows(platform) {
		return "migration-" + platform + ".zip"
	}
	return "migration-" + platform + ".tar.gz"
}

// entry is one file of a package.
type entry struct {
	name string
	mode fs.FileMode
	body io.Reader
	size int64
}

// Write writes the migration package for m.Platform to w.
func Write(w io.Writer, m Migration) error {
	if !Supported(m.Platform) {
		return ErrPlatform
	}
	if m.BootloaderName == "" || strings.ContainsAny(m.BootloaderName, `/\`) {
		return fmt.Errorf("bundle: bootloader name %q is not a plain file name", m.BootloaderName)
	}
	if m.ModTime.IsZero() {
		m.ModTime = time.Now()
	}
	m.ModTime = m.ModTime.Truncate(time.Second)
	trailer, err := packages.StampTrailer(m.Config)
	if err != nil {
		return fmt.Errorf("bundle: stamp the bootloader: %w", err)
	}
	settings, err := json.MarshalIndent(m.Settings, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: settings: %w", err)
	}
	settings = append(settings, '\n')
	data := struct {
		Bootloader string
		Darwin     bool
	}{m.BootloaderName, strings.HasPrefix(m.Platform, "darwin-")}

	var scripts []string
	if Windows(m.Platform) {
		scripts = []string{"install.ps1", "install.cmd"}
	} else {
		scripts = []string{"install.sh"}
	}
	var entries []entry
	for _, name := range scripts {
		var b bytes.Buffer
		if err := launchers.ExecuteTemplate(&b, name, data); err != nil {
			return fmt.Errorf("bundle: %s: %w", name, err)
		}
		text := b.Bytes()
		if Windows(m.Platform) {
			// cmd.exe misreads some lines of a file with bare line feeds.
			text = bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
		}
		entries = append(entries, entry{name, 0o755, bytes.NewReader(text), int64(len(text))})
	}
	entries = append(entries,
		entry{m.BootloaderName, 0o755, io.MultiReader(io.LimitReader(m.Bootloader, m.BootloaderSize), bytes.NewReader(trailer)), m.BootloaderSize + int64(len(trailer))},
		entry{packages.SettingsFile, 0o644, bytes.NewReader(settings), int64(len(settings))},
	)
	if Windows(m.Platform) {
		return writeZip(w, entries, m.ModTime)
	}
	return writeTarGz(w, entries, m.ModTime)
}

func writeZip(w io.Writer, entries []entry, mod time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mod}
		h.SetMode(e.mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("bundle: %s: %w", e.name, err)
		}
		if err := copyExactly(f, e); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("bundle: finish the zip: %w", err)
	}
	return nil
}

func writeTarGz(w io.Writer, entries []entry, mod time.Time) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: int64(e.mode), Size: e.size, ModTime: mod, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("bundle: %s: %w", e.name, err)
		}
		if err := copyExactly(tw, e); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("bundle: finish the tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("bundle: finish the gzip: %w", err)
	}
	return nil
}

// copyExactly copies e's body, refusing a body shorter than its stated size.
func copyExactly(w io.Writer, e entry) error {
	n, err := io.Copy(w, e.body)
	if err != nil {
		return fmt.Errorf("bundle: %s: %w", e.name, err)
	}
	if n != e.size {
		return fmt.Errorf("bundle: %s: %d bytes, want %d", e.name, n, e.size)
	}
	return nil
}
