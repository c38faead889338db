package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/auth"
)

// API serves the admin REST API.
type API struct {
	store       portal.Store
	blobs       *blob.Store
	tokens      *auth.Tokens
	login       *auth.Login
	phoneRegion string
	hashParams  auth.Params
	prov        Provisioning
	twilioToken string
	derivePRS   DerivePRS
	migration   Migration
	collab      Collaboration
}

// Config is what the API needs.
type Config struct {
	Store  portal.Store
	Blobs  *blob.Store
	Tokens *auth.Tokens
	// PhoneRegion reads phone numbers written without a country code, e.g. "US".
	PhoneRegion string
	// HashParams are the argon2id costs for passwords set through the API.
	HashParams auth.Params
	// Provisioning configures provisioning messages.
	Provisioning Provisioning
	// TwilioAuthToken verifies Twilio's status callbacks; empty when Twilio is not configured.
	TwilioAuthToken string
	// DerivePRS derives what is kept of an activation password.
	DerivePRS DerivePRS
	// Migration configures migration packages.
	Migration Migration
	// Collaboration is the live collaboration service; nil lists no sessions.
	Collaboration Collaboration
}

// New makes the API.
func New(cfg Config) *API {
	return &API{
		store: cfg.Store, blobs: cfg.Blobs, tokens: cfg.Tokens,
		login:       auth.NewLogin(cfg.Store, cfg.Tokens),
		phoneRegion: cfg.PhoneRegion, hashParams: cfg.HashParams, prov: cfg.Provisioning,
		twilioToken: cfg.TwilioAuthToken, derivePRS: cfg.DerivePRS, migration: cfg.Migration,
		collab: cfg.Collaboration,
	}
}

// helpdeskWrites are the only changes the helpdesk role may make.
var helpdeskWrites = map[string]bool{
	http.MethodPost + " /api/v1/provisioning/sms": true,
}

// Register mounts every route of the admin API on g (at /api/v1).
func (a *API) Register(g *echo.Group) {
	g.POST("/auth/login", a.postLogin)
	g.GET("/openapi.json", a.getOpenAPI)
	g.POST("/sms/status", a.smsStatus)

	// Middleware goes on each route rather than on a sub-group: echo answers
	// a group's unmatched paths with 404, which would hide 405s.
	r := routes{g, []echo.MiddlewareFunc{a.authenticate, authorize}}
	r.GET("/auth/me", a.getMe)

	r.GET("/admins", a.listAdmins)
	r.POST("/admins", a.createAdmin)
	r.GET("/admins/:id", a.getAdmin)
	r.DELETE("/admins/:id", a.deleteAdmin)

	r.GET("/users", a.listUsers)
	r.POST("/users", a.createUser)
	r.POST("/users/import", a.importUsers)
	r.GET("/users/:id", a.getUser)
	r.PATCH("/users/:id", a.patchUser)
	r.DELETE("/users/:id", a.deleteUser)

	r.GET("/groups", a.listGroups)
	r.POST("/groups", a.createGroup)
	r.GET("/groups/:id", a.getGroup)
	r.PATCH("/groups/:id", a.patchGroup)
	r.DELETE("/groups/:id", a.deleteGroup)

	r.GET("/apps", a.listApps)
	r.POST("/apps", a.createApp)
	r.GET("/apps/:id", a.getApp)
	r.PATCH("/apps/:id", a.patchApp)
	r.DELETE("/apps/:id", a.deleteApp)
	r.PUT("/apps/:id/artifacts/:platform", a.putArtifact)
	r.GET("/apps/:id/artifacts/:platform", a.getArtifact)
	r.DELETE("/apps/:id/artifacts/:platform", a.deleteArtifact)

	r.GET("/policies", a.listPolicies)
	r.POST("/policies", a.createPolicy)
	r.GET("/policies/rules", a.listRules)
	r.GET("/policies/:id", a.getPolicy)
	r.PATCH("/policies/:id", a.patchPolicy)
	r.DELETE("/policies/:id", a.deletePolicy)

	r.GET("/assignments", a.listAssignments)
	r.POST("/assignments", a.createAssignment)
	r.GET("/assignments/:id", a.getAssignment)
	r.DELETE("/assignments/:id", a.deleteAssignment)

	r.GET("/devices", a.listDevices)
	r.GET("/devices/:id", a.getDevice)
	r.GET("/devices/:id/timeline", a.getDeviceTimeline)
	r.GET("/troubleshooting", a.listTroubleshooting)
	r.POST("/users/:id/activation-password", a.postActivationPassword)
	r.GET("/users/:id/activation-password", a.getActivationPassword)
	r.DELETE("/users/:id/activation-password", a.deleteActivationPassword)
	r.POST("/users/:id/organizer", a.importOrganizer)
	r.GET("/users/:id/organizer", a.getOrganizer)
	r.DELETE("/users/:id/organizer", a.deleteOrganizer)

	r.GET("/audit", a.listAudit)

	r.GET("/provisioning/sms-message", a.getSMSMessage)
	r.POST("/provisioning/sms", a.postSMS)
	r.GET("/sms", a.listSMS)
	r.GET("/invitations", a.listInvitations)
	r.DELETE("/invitations/:id", a.revokeInvitation)
	r.GET("/settings/sms", a.getSMSSettings)
	r.PUT("/settings/sms", a.putSMSSettings)
	r.GET("/settings/service-books", a.getServiceBooks)
	r.PUT("/settings/service-books", a.putServiceBooks)

	a.registerCollaboration(r)

	r.GET("/migration-packages", a.listMigrationPackages)
	r.POST("/migration-packages", a.postMigrationPackage)
	r.GET("/migration-packages/:id", a.getMigrationPackage)
	r.DELETE("/migration-packages/:id", a.revokeMigrationPackage)
}

// routes registers routes on a group, each behind the same middleware.
type routes struct {
	g  *echo.Group
	mw []echo.MiddlewareFunc
}

func (r routes) GET(path string, h echo.HandlerFunc)    { r.g.GET(path, h, r.mw...) }
func (r routes) POST(path string, h echo.HandlerFunc)   { r.g.POST(path, h, r.mw...) }
func (r routes) PUT(path string, h echo.HandlerFunc)    { r.g.PUT(path, h, r.mw...) }
func (r routes) PATCH(path string, h echo.HandlerFunc)  { r.g.PATCH(path, h, r.mw...) }
func (r routes) DELETE(path string, h echo.HandlerFunc) { r.g.DELETE(path, h, r.mw...) }

// authenticate checks the bearer token and that its administrator still
// exists, and puts the actor in the request's context for the audit log.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return portal.Errorf(portal.CodeUnauthenticated, "send Authorization: Bearer TOKEN; get a token from POST /api/v1/auth/login")
		}
		claims, err := a.tokens.Parse(strings.TrimSpace(token))
		if err != nil {
			return err
		}
		admin, err := a.store.Admin(c.Request().Context(), claims.Subject)
		if portal.IsNotFound(err) {
			return portal.Errorf(portal.CodeUnauthenticated, "the account behind this token no longer exists")
		}
		if err != nil {
			return err
		}
		actor := portal.Actor{ID: admin.ID, Username: admin.Username, Role: admin.Role, RemoteAddr: c.RealIP()}
		c.SetRequest(c.Request().WithContext(portal.WithActor(c.Request().Context(), actor)))
		return next(c)
	}
}

// authorize lets the helpdesk role read everything and make only the
// changes in helpdeskWrites; the admin role may do everything.
func authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor := portal.ActorFrom(c.Request().Context())
		m := c.Request().Method
		if actor.Role == portal.RoleAdmin || m == http.MethodGet || m == http.MethodHead || helpdeskWrites[m+" "+c.Path()] {
			return next(c)
		}
		return portal.Errorf(portal.CodeForbidden, "the %s role may not do this; ask an administrator", actor.Role)
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) postLogin(c echo.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return portal.Invalid("username", "username and password are both required")
	}
	s, err := a.login.Admin(c.Request().Context(), req.Username, req.Password, c.RealIP())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (a *API) getMe(c echo.Context) error {
	admin, err := a.store.Admin(c.Request().Context(), portal.ActorFrom(c.Request().Context()).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, admin)
}
