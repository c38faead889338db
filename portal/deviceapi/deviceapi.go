package deviceapi

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/packages"
	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/web"
)

type store interface {
	portal.DeviceRegistry
	portal.ActivationStore
	portal.OrganizerStore
	Setting(ctx context.Context, name string) (string, bool, error)
	portal.LoginThrottle
	portal.InvitationStore
	MigrationPackageBySecretHash(ctx context.Context, secretHash string) (*portal.MigrationPackage, error)
	UseMigrationPackage(ctx context.Context, id string, at time.Time) error
	Device(ctx context.Context, id string) (*portal.Device, error)
	User(ctx context.Context, id string) (*portal.User, error)
	SetDeviceCollaborationKey(ctx context.Context, deviceID string, sealed []byte) error
}

// CollaborationKeys seals a device's collaboration key for storage (collab.DeviceKeys).
type CollaborationKeys interface {
	Seal(deviceID string, key []byte) ([]byte, error)
}

// API serves devices.
type API struct {
	store  store
	blobs  *blob.Store
	tokens *auth.Tokens
	key    ed25519.PrivateKey
	fp     string
	now    func() time.Time
	manTTL time.Duration
	public string
	org    string
	// collabKeys seals the collaboration keys activations leave; nil: none are kept.
	collabKeys CollaborationKeys
}

// Config is what the device API needs.
type Config struct {
	Store  store
	Blobs  *blob.Store
	Tokens *auth.Tokens // device tokens (auth.NewDeviceTokens)
	Key    ed25519.PrivateKey
	// CollaborationKeys seals the collaboration key an enterprise activation
	// leaves each device; nil: activated devices send their messaging
	// password unsealed, like the others.
	CollaborationKeys CollaborationKeys
	// PublicURL and OrgName fill in service books.
	PublicURL string
	OrgName   string
}

// New makes the device API.
func New(cfg Config) *API {
	return &API{store: cfg.Store, blobs: cfg.Blobs, tokens: cfg.Tokens, key: cfg.Key, collabKeys: cfg.CollaborationKeys,
		fp: packages.Fingerprint(cfg.Key.Public().(ed25519.PublicKey)), now: time.Now, manTTL: 24 * time.Hour,
		public: strings.TrimRight(cfg.PublicURL, "/"), org: cfg.OrgName}
}

// Register mounts the device API on g (at /device/v1).
func (a *API) Register(g *echo.Group) {
	g.POST("/logon", a.logon)
	g.GET("/key", a.publicKey)
	g.GET("/manifest", a.manifest, a.authenticate)
	g.GET("/blobs/:sha256", a.blob, a.authenticate)
	g.POST("/status", a.status, a.authenticate)
	a.registerActivation(g)
}

// HashToken is how invitation tokens are kept: only their SHA-256. Tokens
// carry 128 random bits or more, so a fast hash suffices.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var platformRE = regexp.MustCompile(`^[a-z0-9]+-[a-z0-9]+$`)

func (a *API) logon(c echo.Context) error {
	ctx := c.Request().Context()
	var req packages.LogonRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return portal.Invalid("username", "username and password are both required")
	}
	if !portal.Platform(req.Device.Platform).Valid() && !platformRE.MatchString(req.Device.Platform) {
		return portal.Invalid("device.platform", "%q is not a platform", req.Device.Platform)
	}
	if len(req.Device.Name) > 200 || len(req.Device.OSVersion) > 100 || len(req.Device.ID) > 64 {
		return portal.Invalid("device", "device name, ID or OS version is too long")
	}
	keys := []string{portal.AccountKey("user", req.Username), portal.AddressKey(c.RealIP())}
	now := a.now()
	until, err := a.store.BlockedUntil(ctx, now, keys...)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return auth.Throttled(until.Sub(now))
	}
	u, err := a.store.UserByUsername(ctx, req.Username)
	if err != nil && !portal.IsNotFound(err) {
		return err
	}
	ok := auth.VerifyDummy(req.Password)
	if u != nil && u.PasswordHash != "" {
		ok, _ = auth.VerifyPassword(u.PasswordHash, req.Password)
	}
	if u == nil || u.PasswordHash == "" || !ok {
		if _, err := a.store.RecordFailure(ctx, now, keys...); err != nil {
			return err
		}
		return portal.Errorf(portal.CodeBadCredentials, "username or password is incorrect")
	}
	if err := a.store.Reset(ctx, keys[0]); err != nil {
		return err
	}
	var inv *portal.Invitation
	if req.Invitation != "" {
		if inv, err = a.checkInvitation(ctx, req.Invitation, u.ID); err != nil {
			return err
		}
	}
	var mig *portal.MigrationPackage
	if req.Migration != "" {
		if mig, err = a.checkMigration(ctx, req.Migration); err != nil {
			return err
		}
	}
	d := portal.Device{ID: req.Device.ID, UserID: u.ID, Name: req.Device.Name, Platform: req.Device.Platform,
		OSVersion: req.Device.OSVersion, Status: packages.StatusInstalling}
	if err := a.store.RegisterDevice(ctx, &d); err != nil {
		return err
	}
	// Only an enterprise activation gives a device a collaboration key; a
	// directory logon replaces what the device had, and it keeps none.
	if err := a.store.SetDeviceCollaborationKey(ctx, d.ID, nil); err != nil {
		return err
	}
	if inv != nil {
		if err := a.store.MarkInvitationUsed(ctx, inv.ID); err != nil {
			return err
		}
	}
	if mig != nil {
		if err := a.enrolledByMigration(ctx, &d, mig); err != nil {
			return err
		}
	}
	token, exp, err := a.tokens.IssueDevice(d.ID, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, packages.LogonResponse{Token: token, DeviceID: d.ID, ExpiresAt: exp})
}

// checkInvitation refuses an invitation that is unknown, dead or another user's.
func (a *API) checkInvitation(ctx context.Context, token, userID string) (*portal.Invitation, error) {
	inv, err := a.store.InvitationByTokenHash(ctx, HashToken(token))
	if portal.IsNotFound(err) {
		return nil, portal.Errorf(portal.CodeForbidden, "this invitation is not known; ask your administrator for a new one")
	}
	if err != nil {
		return nil, err
	}
	switch inv.State(a.now()) {
	case portal.InvitationExpired:
		return nil, portal.Errorf(portal.CodeForbidden, "this invitation has expired; ask your administrator for a new one")
	case portal.InvitationRevoked:
		return nil, portal.Errorf(portal.CodeForbidden, "this invitation was withdrawn; ask your administrator for a new one")
	}
	if inv.UserID != userID {
		return nil, portal.Errorf(portal.CodeForbidden, "this invitation was sent to another user; log on as that user or ask for your own")
	}
	return inv, nil
}

func (a *API) publicKey(c echo.Context) error {
	pub := a.key.Public().(ed25519.PublicKey)
	return c.JSON(http.StatusOK, packages.KeyResponse{PublicKey: base64.RawURLEncoding.EncodeToString(pub), Fingerprint: a.fp})
}

// authenticate checks the device token and that its device still exists for its user.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok {
			return portal.Errorf(portal.CodeUnauthenticated, "log on first: POST /device/v1/logon")
		}
		claims, err := a.tokens.Parse(strings.TrimSpace(token))
		if err != nil {
			return err
		}
		d, err := a.store.Device(c.Request().Context(), claims.Subject)
		if portal.IsNotFound(err) || (err == nil && d.UserID != claims.UserID) {
			return portal.Errorf(portal.CodeUnauthenticated, "this device is no longer registered; log on again")
		}
		if err != nil {
			return err
		}
		c.Set("device", d)
		return next(c)
	}
}

func device(c echo.Context) *portal.Device { return c.Get("device").(*portal.Device) }

// build makes the manifest for a device from what is assigned to its user.
func (a *API) build(ctx context.Context, d *portal.Device) (*packages.Manifest, error) {
	u, err := a.store.User(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	as, err := a.store.AssignedTo(ctx, d.UserID)
	if err != nil {
		return nil, err
	}
	m := &packages.Manifest{Version: packages.ManifestVersion, DeviceID: d.ID, Platform: d.Platform,
		User: packages.ManifestUser{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName},
		Apps: []packages.ManifestApp{}, ServiceBooks: []packages.ServiceBook{},
		Policy: packages.Policy{Rules: portal.MergeRules(as.Policies).For(d.Platform), Sources: []string{}}}
	for _, app := range as.Apps {
		i := slices.IndexFunc(app.Artifacts, func(ar portal.Artifact) bool { return string(ar.Platform) == d.Platform })
		if i < 0 {
			continue // nothing built for this platform
		}
		ar := app.Artifacts[i]
		m.Apps = append(m.Apps, packages.ManifestApp{Name: app.Name, Version: app.Version, SHA256: ar.SHA256,
			Size: ar.Size, Filename: ar.Filename, URL: "/device/v1/blobs/" + ar.SHA256})
	}
	for _, p := range as.Policies {
		m.Policy.Sources = append(m.Policy.Sources, p.Name)
	}
	books, err := a.serviceBooks(ctx, u)
	if err != nil {
		return nil, err
	}
	m.ServiceBooks = books
	return m, nil
}

// serviceBooks fills the admin's service book templates (or the defaults) for a user.
func (a *API) serviceBooks(ctx context.Context, u *portal.User) ([]packages.ServiceBook, error) {
	tmpls := portal.DefaultServiceBooks
	if raw, ok, err := a.store.Setting(ctx, portal.SettingServiceBooks); err != nil {
		return nil, err
	} else if ok {
		if tmpls, err = portal.DecodeServiceBooks([]byte(raw)); err != nil {
			return nil, fmt.Errorf("stored service books: %w", err)
		}
	}
	org := a.org
	if v, ok, err := a.store.Setting(ctx, "org.name"); err == nil && ok {
		org = v
	}
	rendered, err := portal.RenderServiceBooks(tmpls, portal.ServiceBookData{Email: u.Email, Username: u.Username,
		DisplayName: u.DisplayName, PortalURL: a.public, Org: org})
	if err != nil {
		return nil, err
	}
	out := make([]packages.ServiceBook, len(rendered))
	for i, b := range rendered {
		out[i] = packages.ServiceBook{Type: b.Type, Name: b.Name, Fields: b.Fields}
	}
	return out, nil
}

func (a *API) manifest(c echo.Context) error {
	d := device(c)
	m, err := a.build(c.Request().Context(), d)
	if err != nil {
		return err
	}
	// The ETag names the content, not the signing time, so an unchanged
	// package answers 304.
	content, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(content)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Response().Header().Set("ETag", etag)
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	m.GeneratedAt = a.now().UTC().Truncate(time.Second)
	jws, err := packages.SignManifest(*m, a.key, a.manTTL)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/jose", []byte(jws))
}

// blob serves an app's bytes, but only bytes of an app assigned to the device's user.
func (a *API) blob(c echo.Context) error {
	ctx := c.Request().Context()
	sum := c.Param("sha256")
	as, err := a.store.AssignedTo(ctx, device(c).UserID)
	if err != nil {
		return err
	}
	allowed := false
	for _, app := range as.Apps {
		for _, ar := range app.Artifacts {
			allowed = allowed || ar.SHA256 == sum
		}
	}
	if !allowed {
		return portal.Errorf(portal.CodeNotFound, "no app assigned to you has these bytes")
	}
	return web.ServeAppBytes(c, a.blobs, sum, "private, max-age=31536000, immutable")
}

var statuses = []string{packages.StatusInstalling, packages.StatusActivationComplete, packages.StatusFailed}

func (a *API) status(c echo.Context) error {
	var r packages.StatusReport
	if err := web.DecodeJSON(c, &r); err != nil {
		return err
	}
	if !slices.Contains(statuses, r.Status) {
		return portal.Invalid("status", "must be one of %s", strings.Join(statuses, ", "))
	}
	if r.Progress < 0 || r.Progress > 100 {
		return portal.Invalid("progress", "must be from 0 to 100")
	}
	if len(r.Installed) > 1000 {
		return portal.Invalid("installed", "lists too many apps")
	}
	var derr *portal.DeviceError
	if r.Error != nil {
		if len(r.Error.Code) > 64 || len(r.Error.Message) > 1000 {
			return portal.Invalid("error", "code or message too long")
		}
		derr = &portal.DeviceError{Code: r.Error.Code, Message: r.Error.Message}
	}
	if err := a.store.ReportDevice(c.Request().Context(), device(c).ID, r.Status, r.Progress, r.Installed, derr); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
