package api

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/packages/bundle"
	"provportal/portal"
	"provportal/portal/deviceapi"
	"provportal/portal/landing"
	"provportal/portal/web"
)

// Migration is what building migration packages needs beyond the store.
type Migration struct {
	// BootloaderDir holds the bootloaders `make bootloaders` builds.
	BootloaderDir string
	// Fingerprint names the portal's manifest signing key, pinned by every package.
	Fingerprint string
	// RelayURL is the relay this portal connects out to, if any; packages
	// routed by alias carry it.
	RelayURL string
}

// Migration packages live this long unless the request says otherwise.
const (
	defaultMigrationTTL = 30 * 24 * time.Hour
	maxMigrationTTL     = 366 * 24 * time.Hour
)

// MigrationPackageIDHeader names the package in the answer that carries its file.
const MigrationPackageIDHeader = "X-Migration-Package-Id"

type migrationPackageRequest struct {
	Platform  string                 `json:"platform"`
	Alias     string                 `json:"alias"`
	Host      string                 `json:"host"`
	Port      int                    `json:"port"`
	Legacy    *packages.LegacyClient `json:"legacy"`
	ExpiresIn *string                `json:"expires_in"`
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)

// Validate checks the request and returns how long the package lives.
func (r *migrationPackageRequest) Validate() (time.Duration, error) {
	p := portal.Platform(r.Platform)
	switch {
	case r.Platform == "":
		return 0, portal.Invalid("platform", "is required: one of %s", supportedPlatforms())
	case !p.Valid() || !bundle.Supported(r.Platform):
		return 0, portal.Invalid("platform", "%q gets no migration package: give one of %s", r.Platform, supportedPlatforms())
	}
	direct := r.Host != "" || r.Port != 0
	if r.Alias != "" && !direct {
		a, err := packages.CheckAlias(r.Alias)
		if err != nil {
			return 0, portal.Invalid("alias", "%v", err)
		}
		r.Alias = a
	}
	switch {
	case direct && r.Alias != "":
		return 0, portal.Invalid("alias", "give alias, or host and port, not both")
	case !direct && r.Alias == "":
		return 0, portal.Invalid("alias", "give alias, or host and port: the package must know how to reach the portal")
	case direct && r.Host == "":
		return 0, portal.Invalid("host", "is required with port")
	case direct && !validHost(r.Host):
		return 0, portal.Invalid("host", "%q is not a host name or IP address (no scheme, path or port)", r.Host)
	case direct && (r.Port < 1 || r.Port > 65535):
		return 0, portal.Invalid("port", "must be from 1 to 65535")
	}
	if err := r.Legacy.Check(strings.SplitN(r.Platform, "-", 2)[0]); err != nil {
		var le *packages.LegacyError
		if errors.As(err, &le) {
			return 0, portal.Invalid("legacy."+le.Field, "%s", le.Msg)
		}
		return 0, err
	}
	ttl := defaultMigrationTTL
	if r.ExpiresIn != nil {
		d, err := time.ParseDuration(*r.ExpiresIn)
		if err != nil || d < time.Second || d > maxMigrationTTL {
			return 0, portal.Invalid("expires_in", "must be a duration from 1s to 8784h (366 days), such as \"720h\"")
		}
		ttl = d
	}
	return ttl, nil
}

func validHost(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	return len(h) <= 253 && hostnameRE.MatchString(h)
}

func supportedPlatforms() string {
	var out []string
	for _, p := range portal.Platforms {
		if bundle.Supported(string(p)) {
			out = append(out, string(p))
		}
	}
	return strings.Join(out, ", ")
}

// newMigrationSecret makes an enrolment secret of 256 random bits, URL-safe.
func newMigrationSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// postMigrationPackage builds a migration package and answers its file: the
// platform's bootloader stamped with the routing, the portal's key and a new
// enrolment secret, a settings file beside it and the launcher. Only the
// secret's hash is kept.
func (a *API) postMigrationPackage(c echo.Context) error {
	ctx := c.Request().Context()
	var req migrationPackageRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ttl, err := req.Validate()
	if err != nil {
		return err
	}
	if req.Legacy.Empty() {
		req.Legacy = nil
	}
	name := landing.BootloaderFile(portal.Platform(req.Platform))
	f, err := os.Open(filepath.Join(a.migration.BootloaderDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return portal.Errorf(portal.CodeUnavailable, "this portal has no bootloader for %s: build them with `make bootloaders` (or point --bootloader-dir at them)", req.Platform)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	secret, err := newMigrationSecret()
	if err != nil {
		return err
	}
	p := portal.MigrationPackage{Platform: portal.Platform(req.Platform), Legacy: req.Legacy, ExpiresAt: time.Now().Add(ttl)}
	cfg := packages.BootConfig{Fingerprint: a.migration.Fingerprint, Migration: secret, Legacy: req.Legacy}
	var settings packages.Settings
	if req.Alias != "" {
		p.Alias, p.Relay = req.Alias, a.migration.RelayURL
		cfg.Alias, cfg.Relay = p.Alias, p.Relay
		settings = packages.Settings{Alias: p.Alias, Relay: p.Relay}
	} else {
		p.Host, p.Port = strings.Trim(req.Host, "[]"), req.Port
		cfg.PortalURL = a.directURL(p.Host, p.Port)
		settings = packages.Settings{Host: p.Host, Port: p.Port}
	}
	var buf bytes.Buffer
	err = bundle.Write(&buf, bundle.Migration{Platform: req.Platform, Bootloader: f, BootloaderSize: fi.Size(),
		BootloaderName: name, Config: cfg, Settings: settings})
	if err != nil {
		return err
	}
	// Kept only once the package is whole, so a failed build leaves no secret behind.
	if err := a.store.CreateMigrationPackage(ctx, &p, deviceapi.HashToken(secret)); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": bundle.Filename(req.Platform)}))
	h.Set("Cache-Control", "no-store")
	h.Set(MigrationPackageIDHeader, p.ID)
	return c.Blob(http.StatusOK, bundle.ContentType(req.Platform), buf.Bytes())
}

// directURL is the portal's address at host and port: https on 443, http
// on 80, and on any other port the scheme the portal is published under.
func (a *API) directURL(host string, port int) string {
	scheme := "https"
	switch u, err := url.Parse(a.prov.PublicURL); {
	case port == 443:
	case port == 80:
		scheme = "http"
	case err == nil && u.Scheme == "http":
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// migrationPackageView is a package as the API shows it: never its secret.
type migrationPackageView struct {
	portal.MigrationPackage
	State portal.InvitationState `json:"state"`
}

func (a *API) listMigrationPackages(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.MigrationPackages(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	out := portal.Page[migrationPackageView]{Items: make([]migrationPackageView, len(page.Items)), Total: page.Total, Limit: page.Limit, Offset: page.Offset}
	now := time.Now()
	for i, p := range page.Items {
		out.Items[i] = migrationPackageView{p, p.State(now)}
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) getMigrationPackage(c echo.Context) error {
	p, err := a.store.MigrationPackage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, migrationPackageView{*p, p.State(time.Now())})
}

// revokeMigrationPackage ends a package now: devices running it are refused at logon.
func (a *API) revokeMigrationPackage(c echo.Context) error {
	p, err := a.store.RevokeMigrationPackage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, migrationPackageView{*p, p.State(time.Now())})
}
