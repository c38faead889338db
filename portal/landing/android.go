package landing

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/packages/apk"
	"provportal/portal"
)

// APKType is the media type of an Android package.
const APKType = "application/vnd.android.package-archive"

// APKSigner signs the Android bootloader with the portal's own key
// (portal/apksign).
type APKSigner interface {
	// Signed returns the path of a signed copy of the unsigned APK.
	Signed(unsigned string) (string, error)
	// Ready says why APKs cannot be signed here, or nil.
	Ready() error
}

// isAPK says whether a platform's bootloader is an Android package rather
// than an executable.
func isAPK(p portal.Platform) bool { return p == "android-arm64" }

// apkSite is the Android download: `make bootloaders` builds the APK
// unsigned, the signer signs it once per build, and each download carries
// its configuration in the APK Signing Block, which the signature does not
// cover, so no download is signed again.
type apkSite struct {
	signer APKSigner
	warn   sync.Once
}

// ready says whether the portal can sign APKs, and says once in the log why
// not when it cannot.
func (a *apkSite) ready(log *slog.Logger) bool {
	if a.signer == nil {
		return false
	}
	err := a.signer.Ready()
	if err != nil && log != nil {
		a.warn.Do(func() { log.Warn("no Android bootloader: the portal cannot sign it", "error", err) })
	}
	return err == nil
}

func (s *Site) serveAPK(c echo.Context, p portal.Platform, cfg packages.BootConfig) error {
	unsigned := filepath.Join(s.dir, BootloaderFile(p))
	if _, err := os.Stat(unsigned); errors.Is(err, os.ErrNotExist) || !s.apk.ready(s.log) {
		return portal.Errorf(portal.CodeNotFound, "this portal has no bootloader for %s; ask your administrator", p)
	}
	signed, err := s.apk.signer.Signed(unsigned)
	if err != nil {
		return fmt.Errorf("sign the Android bootloader: %w", err)
	}
	f, err := os.Open(signed)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	body, size, err := apk.Stamp(f, fi.Size(), cfg)
	if err != nil {
		return fmt.Errorf("stamp the Android bootloader: %w", err)
	}
	w := c.Response()
	w.Header().Set("Content-Type", APKType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": BootloaderFile(p)}))
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, _ = io.Copy(w, body) // an error is the client gone; nothing more to say
	return nil
}
