package landing

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/mileusna/useragent"
	qrcode "github.com/skip2/go-qrcode"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/deviceapi"
)

//go:embed templates/*.html
var templates embed.FS

type store interface {
	InvitationByTokenHash(ctx context.Context, tokenHash string) (*portal.Invitation, error)
	User(ctx context.Context, id string) (*portal.User, error)
	AssignedTo(ctx context.Context, userID string) (*portal.Assigned, error) // for the iOS apps
}

// Site serves the landing pages and the bootloader downloads.
type Site struct {
	store       store
	dir         string // where `make bootloaders` put the bootloaders
	publicURL   string
	fingerprint string
	relay       string // the relay the portal holds alias on; empty: devices come directly
	alias       string
	apk         *apkSite // the Android bootloader, signed and stamped
	tmpl        *template.Template
	log         *slog.Logger
	now         func() time.Time
}

// Config is what the site needs.
type Config struct {
	Store         store
	BootloaderDir string
	PublicURL     string
	Fingerprint   string // of the portal's manifest signing key
	// Relay and Alias, when the portal holds an alias on a relay: the
	// bootloaders it serves go through the relay instead of to PublicURL.
	Relay, Alias string
	// APKSigner signs the Android bootloader; nil: no Android download.
	APKSigner APKSigner
	Log       *slog.Logger
}

// New parses the templates (a broken template stops the portal at start-up)
// and says which platforms have no bootloader.
func New(cfg Config) (*Site, error) {
	tmpl, err := template.New("").Funcs(template.FuncMap{"title": platformTitle}).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("landing templates: %w", err)
	}
	s := &Site{store: cfg.Store, dir: cfg.BootloaderDir, publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		fingerprint: cfg.Fingerprint, relay: cfg.Relay, alias: cfg.Alias, tmpl: tmpl, log: cfg.Log, now: time.Now}
	s.apk = &apkSite{signer: cfg.APKSigner}
	if missing := s.missing(); len(missing) > 0 {
		cfg.Log.Warn("no bootloader for some platforms: run `make bootloaders`", "dir", cfg.BootloaderDir, "missing", strings.Join(missing, ","))
	}
	return s, nil
}

// Register mounts the site's routes.
func (s *Site) Register(e *echo.Echo) {
	e.GET("/p/:token", s.landing)
	e.GET("/p/:token/download/:platform", s.invitedDownload)
	e.GET("/download/:platform", s.genericDownload)
}

// BootloaderFile is the file name of a platform's bootloader.
func BootloaderFile(p portal.Platform) string {
	if isAPK(p) {
		return "bootloader-" + string(p) + ".apk"
	}
	if strings.HasPrefix(string(p), "windows-") {
		return "bootloader-" + string(p) + ".exe"
	}
	return "bootloader-" + string(p)
}

func (s *Site) available(p portal.Platform) bool {
	if isAPK(p) && !s.apk.ready(s.log) {
		return false
	}
	fi, err := os.Stat(filepath.Join(s.dir, BootloaderFile(p)))
	return err == nil && fi.Mode().IsRegular()
}

func (s *Site) missing() []string {
	var out []string
	for _, p := range portal.Platforms {
		if !s.available(p) {
			out = append(out, string(p))
		}
	}
	return out
}

// Detect names the platform a browser's User-Agent says it runs on: one of
// portal.Platforms, "ios" or "unknown".
func Detect(ua string) string {
	u := useragent.Parse(ua)
	arm := strings.Contains(strings.ToLower(ua), "arm64") || strings.Contains(strings.ToLower(ua), "aarch64")
	arch := "amd64"
	if arm {
		arch = "arm64"
	}
	switch {
	case u.IsAndroid():
		return "android-arm64"
	case u.IsIOS():
		return "ios"
	case u.IsWindows():
		return "windows-" + arch
	case u.IsMacOS():
		// Browsers on Apple silicon still say "Intel Mac OS X"; the amd64
		// build runs on both through Rosetta.
		return "darwin-" + arch
	case u.IsLinux() || strings.Contains(ua, "X11; Linux") || u.IsChromeOS():
		return "linux-" + arch
	}
	return "unknown"
}

type download struct {
	Platform string
	URL      string
	Detected bool
}

type page struct {
	Name        string
	Platform    string
	Detected    *download
	Others      []download
	Missing     []string
	PortalURL   string
	Alias       string // with Relay, when devices reach the portal through a relay
	Relay       string
	Fingerprint string
	QR          template.URL
	Link        string
	ExpiresAt   time.Time
	Steps       []string
	IOS         iosOffer
}

type errorPage struct {
	Title, Message string
}

func (s *Site) render(c echo.Context, status int, name string, data any) error {
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	c.Response().WriteHeader(status)
	return s.tmpl.ExecuteTemplate(c.Response(), name, data)
}

func wantsJSON(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}

// invitation finds a live invitation by the token in the path, or answers
// with a page (or JSON) saying why not.
func (s *Site) invitation(c echo.Context) (*portal.Invitation, error) {
	token := c.Param("token")
	var inv *portal.Invitation
	var err error
	if len(token) >= 16 && len(token) <= 128 {
		inv, err = s.store.InvitationByTokenHash(c.Request().Context(), deviceapi.HashToken(token))
	} else {
		err = portal.Errorf(portal.CodeNotFound, "invitation not found")
	}
	status, title, msg := 0, "", ""
	switch {
	case portal.IsNotFound(err):
		status, title, msg = http.StatusNotFound, "This link is not known", "The link may be mistyped or incomplete. Open it again from the message you received, or ask your IT department for a new one."
	case err != nil:
		return nil, err
	case inv.State(s.now()) == portal.InvitationExpired:
		status, title, msg = http.StatusGone, "This link has expired", "Ask your IT department to send you a new link."
	case inv.State(s.now()) == portal.InvitationRevoked:
		status, title, msg = http.StatusGone, "This link was withdrawn", "Ask your IT department to send you a new link."
	default:
		return inv, nil
	}
	if wantsJSON(c) {
		code := portal.CodeNotFound
		if status == http.StatusGone {
			code = "invitation_gone"
		}
		return nil, c.JSON(status, map[string]any{"error": map[string]string{"code": string(code), "message": title + ". " + msg}})
	}
	return nil, s.render(c, status, "error.html", errorPage{Title: title, Message: msg})
}

func (s *Site) landing(c echo.Context) error {
	inv, err := s.invitation(c)
	if inv == nil {
		return err
	}
	token := c.Param("token")
	detected := Detect(c.Request().UserAgent())
	base := s.publicURL + "/p/" + token + "/download/"
	downloads := map[string]string{}
	p := page{Platform: detected, PortalURL: s.publicURL, Alias: s.alias, Relay: s.relay, Fingerprint: s.fingerprint, Link: s.publicURL + "/p/" + token, ExpiresAt: inv.ExpiresAt}
	for _, pl := range portal.Platforms {
		if !s.available(pl) {
			p.Missing = append(p.Missing, string(pl))
			continue
		}
		d := download{Platform: string(pl), URL: base + string(pl), Detected: string(pl) == detected}
		downloads[string(pl)] = d.URL
		if d.Detected {
			p.Detected = &d
		} else {
			p.Others = append(p.Others, d)
		}
	}
	if err := s.offerIOS(c.Request().Context(), token, inv, detected, &p, downloads); err != nil {
		return err
	}
	if wantsJSON(c) {
		body := map[string]any{"platform": detected, "downloads": downloads, "missing": p.Missing,
			"portal_url": s.publicURL, "fingerprint": s.fingerprint, "expires_at": inv.ExpiresAt}
		if s.alias != "" {
			body["alias"], body["relay"] = s.alias, s.relay
		}
		return c.JSON(http.StatusOK, body)
	}
	if u, err := s.store.User(c.Request().Context(), inv.UserID); err == nil {
		p.Name = u.DisplayName
		if p.Name == "" {
			p.Name = u.Username
		}
	}
	if png, err := qrcode.Encode(p.Link, qrcode.Medium, 220); err == nil {
		p.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	p.Steps = steps(detected)
	return s.render(c, http.StatusOK, "landing.html", p)
}

func steps(platform string) []string {
	file := BootloaderFile(portal.Platform(platform))
	switch {
	case strings.HasPrefix(platform, "windows-"):
		return []string{"Download the installer above.", "Open " + file + " from your Downloads. If Windows SmartScreen warns you, choose “More info”, then “Run anyway”.", "Log on with your company username and password. The installer does the rest and tells you when it has finished."}
	case strings.HasPrefix(platform, "darwin-"):
		return []string{"Download the installer above.", "Open Terminal and run: chmod +x ~/Downloads/" + file + " && ~/Downloads/" + file, "Log on with your company username and password. The installer does the rest and tells you when it has finished."}
	case strings.HasPrefix(platform, "linux-"):
		return []string{"Download the installer above.", "Open a terminal and run: chmod +x ~/Downloads/" + file + " && ~/Downloads/" + file, "Log on with your company username and password. The installer does the rest and tells you when it has finished."}
	case platform == "android-arm64":
		return []string{"Download the app above and open " + file + " from your notifications or Downloads. If Android asks, allow your browser to install unknown apps.", "Open Provisioning and log on with your company username and password. It installs your apps and tells you when it has finished; confirm each app when Android asks."}
	case platform == "ios":
		return iosSteps()
	}
	return []string{"Choose the installer for your computer below, run it, and log on with your company username and password."}
}

func platformTitle(p string) string {
	names := map[string]string{
		"linux-amd64": "Linux (x86-64)", "linux-arm64": "Linux (ARM64)",
		"windows-amd64": "Windows (x64)", "windows-arm64": "Windows on ARM",
		"darwin-amd64": "macOS (Intel, also runs on Apple silicon)", "darwin-arm64": "macOS (Apple silicon)",
		"android-arm64": "Android", "ios": "iPhone or iPad",
	}
	if n, ok := names[p]; ok {
		return n
	}
	return p
}

func (s *Site) invitedDownload(c echo.Context) error {
	inv, err := s.invitation(c)
	if inv == nil {
		return err
	}
	cfg := s.bootConfig()
	cfg.Invitation = c.Param("token")
	return s.serveBootloader(c, cfg)
}

func (s *Site) genericDownload(c echo.Context) error {
	return s.serveBootloader(c, s.bootConfig())
}

// bootConfig is what every bootloader from this portal carries: the way to
// the portal (its URL, or its alias and relay: one or the other, never
// both) and the key to pin.
func (s *Site) bootConfig() packages.BootConfig {
	if s.alias != "" {
		return packages.BootConfig{Alias: s.alias, Relay: s.relay, Fingerprint: s.fingerprint}
	}
	return packages.BootConfig{PortalURL: s.publicURL, Fingerprint: s.fingerprint}
}

// serveBootloader streams the platform's bootloader with cfg stamped on its
// end, so one build serves every invitation without rebuilding.
func (s *Site) serveBootloader(c echo.Context, cfg packages.BootConfig) error {
	p := portal.Platform(c.Param("platform"))
	if !p.Valid() {
		return portal.Errorf(portal.CodeNotFound, "%q is not a platform this portal builds for", p)
	}
	if isAPK(p) {
		return s.serveAPK(c, p, cfg)
	}
	f, err := os.Open(filepath.Join(s.dir, BootloaderFile(p)))
	if errors.Is(err, os.ErrNotExist) {
		return portal.Errorf(portal.CodeNotFound, "this portal has no bootloader for %s; ask your administrator", p)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	trailer, err := packages.StampTrailer(cfg)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": BootloaderFile(p)}))
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size()+int64(len(trailer)), 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, f); err != nil {
		return nil // the client went away; nothing more to say
	}
	_, _ = w.Write(trailer)
	return nil
}
