package web

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/auth"
)

//go:embed templates static
var files embed.FS

// Store is what the console reads and changes: the same store, through the
// same interfaces, as the admin API, so the audit log and the business rules
// are the store's, not the console's.
type Store interface {
	// AdminByUsername and LoginThrottle are what auth.Login needs.
	AdminByUsername(ctx context.Context, username string) (*portal.Admin, error)
	portal.LoginThrottle
	// Admin looks up the administrator behind a session on every request.
	Admin(ctx context.Context, id string) (*portal.Admin, error)
	portal.UserStore
	portal.GroupStore
	Devices(ctx context.Context, f portal.DeviceFilter) (portal.Page[portal.Device], error)
	Device(ctx context.Context, id string) (*portal.Device, error)
	DeviceEvents(ctx context.Context, deviceID string) ([]portal.DeviceEvent, error)
	Apps(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.App], error)
	Policies(ctx context.Context, opt portal.ListOptions) (portal.Page[portal.Policy], error)
	SMSMessages(ctx context.Context, f portal.SMSFilter) (portal.Page[portal.SMSMessage], error)
	Audit(ctx context.Context, f portal.AuditFilter) (portal.Page[portal.AuditEntry], error)
	// Setting and PutSetting keep the organisation name and SMS template.
	portal.SettingStore
}

// Config is what the console needs.
type Config struct {
	Store Store
	// Tokens issues and checks administrators' tokens, the API's own.
	Tokens *auth.Tokens
	// TokenKey is the key Tokens signs with. The console derives its CSRF key
	// from it, so any portal process on one database accepts a form another
	// one served.
	TokenKey []byte
	// PhoneRegion reads phone numbers written without a country code, as in the API.
	PhoneRegion string
	// HashParams are the argon2id costs for user passwords set in the console, as in the API.
	HashParams auth.Params
	// PublicURL is the portal's public address, as in the API's provisioning messages.
	PublicURL string
	// OrgName is the organisation name used until an administrator sets one.
	OrgName string
	// TwilioFrom is the number or sender Twilio sends from; empty when Twilio
	// is not configured and messages go to the outbox. The console is never
	// given Twilio's credentials.
	TwilioFrom string
	// Alias and RelayURL name the portal on a switching relay, when it is on
	// one; RelayConnected says whether it is connected now.
	Alias, RelayURL string
	RelayConnected  func() bool
	// API serves the admin API at /api/v1: pages that change apps, policies,
	// assignments, imports and provisioning call it in process, so its rules
	// and audit entries are the console's. Usually the portal's own echo.
	API http.Handler
	// Log receives what goes wrong; nil discards it.
	Log *slog.Logger
}

// Console serves the admin console.
type Console struct {
	store       Store
	tokens      *auth.Tokens
	login       *auth.Login
	csrfKey     []byte
	phoneRegion string
	hashParams  auth.Params
	publicURL   string
	orgName     string
	twilioFrom  string
	api         http.Handler
	relay       relayInfo
	log         *slog.Logger
	pages       *renderer
	assets      assets
}

// csrfInfo names what the derived key is for, so it can never be mistaken
// for a key derived from the same secret for something else.
const csrfInfo = "provportal admin console csrf v1"

// New parses every template and hashes every static file; a broken template
// fails here, at start-up, not on a user's click.
func New(cfg Config) (*Console, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("admin console: no store")
	case cfg.Tokens == nil:
		return nil, errors.New("admin console: no token issuer")
	case len(cfg.TokenKey) < 32:
		return nil, errors.New("admin console: token key shorter than 256 bits")
	}
	csrfKey, err := hkdf.Key(sha256.New, cfg.TokenKey, nil, csrfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("admin console: derive CSRF key: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	as, err := loadAssets(files)
	if err != nil {
		return nil, fmt.Errorf("admin console: %w", err)
	}
	pages, err := newRenderer(files, as)
	if err != nil {
		return nil, fmt.Errorf("admin console: %w", err)
	}
	return &Console{
		store: cfg.Store, tokens: cfg.Tokens, login: auth.NewLogin(cfg.Store, cfg.Tokens), csrfKey: csrfKey,
		phoneRegion: cfg.PhoneRegion, hashParams: cfg.HashParams, log: log, pages: pages, assets: as,
		publicURL: cfg.PublicURL, orgName: cfg.OrgName, twilioFrom: cfg.TwilioFrom, api: cfg.API,
		relay: relayInfo{Alias: cfg.Alias, URL: cfg.RelayURL, connected: cfg.RelayConnected},
	}, nil
}

// Register mounts the console on e under /admin. Middleware goes on each
// route, as in the API, so unknown paths and methods keep echo's answers.
func (c *Console) Register(e *echo.Echo) {
	e.GET(staticPrefix+":hash/:name", c.serveAsset)

	public := chain{e, []echo.MiddlewareFunc{c.pageHeaders}}
	public.GET("/admin/login", c.getLogin)
	public.POST("/admin/login", c.postLogin)

	// Every other page: a signed-on administrator, a valid CSRF token on
	// every POST, and the admin role for anything that changes something.
	read := chain{e, []echo.MiddlewareFunc{c.pageHeaders, c.authenticate, c.checkCSRF}}
	write := chain{e, append(read.mw, requireAdminRole)}

	read.POST("/admin/logout", c.postLogout)
	read.GET("/admin", c.dashboard)
	read.GET("/admin/", c.dashboard)

	read.GET("/admin/users", c.listUsers)
	write.GET("/admin/users/new", c.newUser)
	write.POST("/admin/users", c.createUser)
	write.GET("/admin/users/:id/edit", c.editUser)
	write.POST("/admin/users/:id", c.updateUser)
	write.GET("/admin/users/:id/delete", c.confirmDeleteUser)
	write.POST("/admin/users/:id/delete", c.deleteUser)

	read.GET("/admin/groups", c.listGroups)
	write.GET("/admin/groups/new", c.newGroup)
	write.POST("/admin/groups", c.createGroup)
	write.GET("/admin/groups/:id/edit", c.editGroup)
	write.POST("/admin/groups/:id", c.updateGroup)
	write.GET("/admin/groups/:id/delete", c.confirmDeleteGroup)
	write.POST("/admin/groups/:id/delete", c.deleteGroup)

	// Devices report themselves and the audit log is the store's own record.
	read.GET("/admin/devices", c.listDevices)
	read.GET("/admin/devices/:id", c.showDevice)
	read.GET("/admin/apps", c.listApps)
	read.GET("/admin/policies", c.listPolicies)
	read.GET("/admin/sms", c.listSMS)

	// Pages that change things through the admin API, each in its own file.
	c.registerImport(read, write)
	c.registerApps(read, write)
	c.registerPolicyForms(read, write)
	c.registerAssignments(read, write)
	c.registerProvisioning(read, write)
	c.registerMigration(read, write)
	c.registerCollaboration(read, write)
	read.GET("/admin/audit", c.listAudit)

	// Everyone sees the settings; only the admin role changes them.
	read.GET("/admin/settings", c.showSettings)
	write.POST("/admin/settings", c.saveSettings)
}

// chain registers routes, each behind the same middleware.
type chain struct {
	e  *echo.Echo
	mw []echo.MiddlewareFunc
}

func (r chain) GET(path string, h echo.HandlerFunc)  { r.e.GET(path, h, r.mw...) }
func (r chain) POST(path string, h echo.HandlerFunc) { r.e.POST(path, h, r.mw...) }
