package web

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// registerMigration mounts the migration package pages: everyone sees the
// packages built so far; the admin role builds and revokes them, through
// the admin API, whose rules and audit entries are the console's.
func (c *Console) registerMigration(read, write chain) {
	read.GET("/admin/migration-packages", c.listMigrationPackages)
	write.POST("/admin/migration-packages", c.buildMigrationPackage)
	write.GET("/admin/migration-packages/:id/revoke", c.confirmRevokeMigrationPackage)
	write.POST("/admin/migration-packages/:id/revoke", c.revokeMigrationPackage)
}

const migrationPagePath = "/admin/migration-packages"

// migrationPackage is the API's MigrationPackage.
type migrationPackage struct {
	ID        string     `json:"id"`
	Platform  string     `json:"platform"`
	Alias     string     `json:"alias"`
	Relay     string     `json:"relay"`
	Host      string     `json:"host"`
	Port      int        `json:"port"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Uses      int        `json:"uses"`
	State     string     `json:"state"`
	Legacy    *struct {
		Paths     []string `json:"paths"`
		Service   string   `json:"service"`
		Uninstall string   `json:"uninstall"`
	} `json:"legacy"`
}

// Routing says in words how the package reaches the portal.
func (p migrationPackage) Routing() string {
	if p.Alias != "" {
		if p.Relay != "" {
			return p.Alias + " through " + p.Relay
		}
		return p.Alias + " (no relay stamped)"
	}
	return p.Host + ":" + strconv.Itoa(p.Port)
}

// LegacySummary names what the package removes.
func (p migrationPackage) LegacySummary() string {
	if p.Legacy == nil {
		return "nothing"
	}
	var parts []string
	if p.Legacy.Service != "" {
		parts = append(parts, "service "+p.Legacy.Service)
	}
	if p.Legacy.Uninstall != "" {
		parts = append(parts, "its uninstaller")
	}
	parts = append(parts, p.Legacy.Paths...)
	return strings.Join(parts, ", ")
}

// migrationPlatforms are the platforms a package is built for, in the
// order the portal lists them.
var migrationPlatforms = []string{"linux-amd64", "linux-arm64", "windows-amd64", "windows-arm64", "darwin-amd64", "darwin-arm64"}

type migrationChoice struct {
	Value, Label string
	Selected     bool
}

var migrationExpiries = []migrationChoice{
	{Value: "168h", Label: "7 days"},
	{Value: "", Label: "30 days (the portal’s default)"},
	{Value: "2160h", Label: "90 days"},
	{Value: "4380h", Label: "6 months"},
	{Value: "8784h", Label: "1 year"},
}

// migrationForm is what was sent to build a package.
type migrationForm struct {
	Platform, Alias, Host, Port    string
	Paths, Service, Uninstall, TTL string
}

func readMigrationForm(ec echo.Context) migrationForm {
	f := ec.Request().PostForm
	return migrationForm{Platform: f.Get("platform"), Alias: strings.TrimSpace(f.Get("alias")), Host: strings.TrimSpace(f.Get("host")),
		Port: strings.TrimSpace(f.Get("port")), Paths: f.Get("legacy.paths"), Service: strings.TrimSpace(f.Get("legacy.service")),
		Uninstall: strings.TrimSpace(f.Get("legacy.uninstall")), TTL: f.Get("expires_in")}
}

// request is the API's MigrationPackageCreate with what was given; a port
// that is not a number goes as a string, for the API to refuse naming it.
func (f migrationForm) request() map[string]any {
	req := map[string]any{"platform": f.Platform}
	if f.Alias != "" {
		req["alias"] = f.Alias
	}
	if f.Host != "" {
		req["host"] = f.Host
	}
	if f.Port != "" {
		if n, err := strconv.Atoi(f.Port); err == nil {
			req["port"] = n
		} else {
			req["port"] = f.Port
		}
	}
	legacy := map[string]any{}
	var paths []string
	for _, line := range strings.Split(f.Paths, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			paths = append(paths, line)
		}
	}
	if len(paths) > 0 {
		legacy["paths"] = paths
	}
	if f.Service != "" {
		legacy["service"] = f.Service
	}
	if f.Uninstall != "" {
		legacy["uninstall"] = f.Uninstall
	}
	if len(legacy) > 0 {
		req["legacy"] = legacy
	}
	if f.TTL != "" {
		req["expires_in"] = f.TTL
	}
	return req
}

type migrationPage struct {
	Packages   []migrationPackage
	List       listPage
	QueryError string
	Platforms  []migrationChoice
	Expiries   []migrationChoice
	Fields     map[string]field
	Problems   []problem
}

func (c *Console) listMigrationPackages(ec echo.Context) error {
	return c.migrationPage(ec, http.StatusOK, migrationForm{Platform: "windows-amd64"}, formErrors{})
}

// migrationPage answers the packages built so far and the form to build one.
func (c *Console) migrationPage(ec echo.Context, status int, f migrationForm, errs formErrors) error {
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(opt.Limit)}, "offset": {strconv.Itoa(opt.Offset)}}
	var page portal.Page[migrationPackage]
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/migration-packages?" + q.Encode(), Out: &page}); err != nil {
		return err
	}
	names := []string{"platform", "alias", "host", "port", "legacy.paths", "legacy.service", "legacy.uninstall", "expires_in"}
	fields, problems := withErrors([]field{
		{Name: "platform", Label: "Platform", Required: true},
		{Name: "alias", Label: "Alias", Type: "text", Autocomplete: "off", Value: f.Alias, Hint: "Reach the portal through the relay by this alias, such as it@example.com. Or leave it empty and give a host and port."},
		{Name: "host", Label: "Host", Type: "text", Autocomplete: "off", Value: f.Host, Hint: "The portal’s host name or IP address as devices reach it, or a proxy’s that forwards to it."},
		{Name: "port", Label: "Port", Value: f.Port, Type: "number"},
		{Name: "legacy.paths", Label: "Legacy client’s paths", Type: "textarea", Value: f.Paths,
			Hint: "Absolute paths to delete once the new package is installed, one per line, such as /opt/oldmdm or C:\\Program Files\\OldMDM."},
		{Name: "legacy.service", Label: "Legacy client’s service", Type: "text", Autocomplete: "off", Value: f.Service, Hint: "Stopped first: a systemd unit, a launchd label or a Windows service."},
		{Name: "legacy.uninstall", Label: "Legacy client’s uninstall command", Type: "text", Autocomplete: "off", Value: f.Uninstall, Hint: "Run after the service stops, before the paths are deleted."},
		{Name: "expires_in", Label: "Works for"},
	}, formLevel(errs, names...))
	p := migrationPage{Packages: page.Items, List: paging(migrationPagePath, opt, page.Total, len(page.Items)), QueryError: queryError,
		Fields: map[string]field{}, Problems: problems}
	for _, fl := range fields {
		p.Fields[fl.Name] = fl
	}
	for _, pl := range migrationPlatforms {
		p.Platforms = append(p.Platforms, migrationChoice{Value: pl, Label: pl, Selected: pl == f.Platform})
	}
	for _, e := range migrationExpiries {
		e.Selected = e.Value == f.TTL
		p.Expiries = append(p.Expiries, e)
	}
	if status == http.StatusOK {
		status = listCode(queryError)
	}
	return c.page(ec, status, "migration_packages", "Migration packages", "migration", p)
}

// buildMigrationPackage has the API build the package and hands its file
// to the browser; a refusal shows the form again with the API's messages.
func (c *Console) buildMigrationPackage(ec echo.Context) error {
	f := readMigrationForm(ec)
	h, body, err := c.callAPI(ec, apiCall{Method: http.MethodPost, Path: "/migration-packages", JSON: f.request()})
	if err != nil {
		var errs formErrors
		if !errs.add(err) {
			return err
		}
		return c.migrationPage(ec, portal.CodeOf(err).Status(), f, errs)
	}
	name := "migration-" + f.Platform
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		name = params["filename"]
	}
	ec.Response().Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	return ec.Blob(http.StatusOK, h.Get("Content-Type"), body)
}

func (c *Console) confirmRevokeMigrationPackage(ec echo.Context) error {
	var p migrationPackage
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/migration-packages/" + url.PathEscape(ec.Param("id")), Out: &p}); err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "migration_revoke", "Revoke a migration package", "migration", p)
}

func (c *Console) revokeMigrationPackage(ec echo.Context) error {
	var p migrationPackage
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: "/migration-packages/" + url.PathEscape(ec.Param("id")), Out: &p}); err != nil {
		return err
	}
	c.setFlash(ec, "The "+p.Platform+" package for "+p.Routing()+" was revoked: devices that run it are refused, and keep their legacy client.")
	return ec.Redirect(http.StatusSeeOther, migrationPagePath)
}
