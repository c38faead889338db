package server

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"provportal/admin/api"
	adminweb "provportal/admin/web"
	"provportal/packages"
	"provportal/packages/activation"
	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/apksign"
	"provportal/portal/auth"
	"provportal/portal/collab"
	"provportal/portal/deviceapi"
	"provportal/portal/gormstore"
	"provportal/portal/landing"
	"provportal/portal/relay"
	"provportal/portal/web"
	"provportal/sms"
)

// Config is the portal server's configuration.
type Config struct {
	Addr        string // --addr, PORTAL_ADDR
	DataDir     string // --data-dir, PORTAL_DATA_DIR
	DatabaseURL string // --database-url, DATABASE_URL; empty: SQLite in DataDir
	PublicURL   string // --public-url, PORTAL_PUBLIC_URL
	// PhoneRegion reads phone numbers written without a country code (--phone-region, PORTAL_PHONE_REGION).
	PhoneRegion string
	// MaxArtifactSize is the largest app artifact accepted, in bytes (--max-artifact-size, PORTAL_MAX_ARTIFACT_SIZE).
	MaxArtifactSize int64
	// TokenTTL is how long an administrator's token lives (--token-ttl, PORTAL_TOKEN_TTL).
	TokenTTL time.Duration
	// ShutdownTimeout bounds how long in-flight requests may take to finish after SIGTERM.
	ShutdownTimeout time.Duration
	// HashParams are the argon2id costs for new passwords.
	HashParams auth.Params
	// BootloaderDir holds the bootloaders `make bootloaders` builds (--bootloader-dir, PORTAL_BOOTLOADER_DIR).
	BootloaderDir string
	// InvitationTTL is how long a provisioning link works (--invitation-ttl, PORTAL_INVITATION_TTL).
	InvitationTTL time.Duration
	// OrgName is the organisation's name in messages and pages (--org-name, PORTAL_ORG_NAME).
	OrgName string
	// SMS configures Twilio (TWILIO_*); without an account SID messages go to the outbox.
	SMS sms.Config
	// ActivationKDF is the argon2id cost of activation passwords; devices derive with it too.
	ActivationKDF activation.Argon2Params
	// RelayURL and Alias put the portal on a switching relay under that
	// alias (--relay, PORTAL_RELAY_URL; --alias, PORTAL_ALIAS): both or neither.
	RelayURL string
	Alias    string
	// ProxyProtocol reads a PROXY protocol header from the TrustedProxies
	// (--proxy-protocol, PORTAL_PROXY_PROTOCOL; --trusted-proxies, PORTAL_TRUSTED_PROXIES).
	ProxyProtocol  bool
	TrustedProxies []netip.Prefix
	// XMPPCAFile holds the CA certificates (PEM) the messaging server's
	// certificate is checked against; empty: the system roots (--xmpp-ca-file, PORTAL_XMPP_CA_FILE).
	XMPPCAFile string
}

// Defaults returns the configuration a portal has when nothing is set.
func Defaults() Config {
	return Config{
		Addr: ":8080", DataDir: "./data", PublicURL: "http://localhost:8080", PhoneRegion: "US",
		MaxArtifactSize: 2 << 30, TokenTTL: 12 * time.Hour, ShutdownTimeout: 30 * time.Second,
		HashParams: auth.DefaultParams, BootloaderDir: defaultBootloaderDir(), InvitationTTL: 7 * 24 * time.Hour,
		OrgName: "IT", ActivationKDF: activation.DefaultArgon2Params(),
	}
}

// Validate checks the configuration once, before anything starts.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("the data directory (--data-dir, PORTAL_DATA_DIR) must not be empty")
	case c.PublicURL == "":
		return errors.New("the public URL (--public-url, PORTAL_PUBLIC_URL) must not be empty")
	case c.MaxArtifactSize <= 0:
		return errors.New("the artifact size limit (--max-artifact-size) must be positive")
	case c.TokenTTL < time.Minute:
		return errors.New("the token lifetime (--token-ttl) must be at least a minute")
	case c.InvitationTTL < time.Minute:
		return errors.New("the invitation lifetime (--invitation-ttl) must be at least a minute")
	}
	if c.ProxyProtocol && len(c.TrustedProxies) == 0 {
		return errors.New("--proxy-protocol needs the proxies to trust: --trusted-proxies CIDR,... (PORTAL_TRUSTED_PROXIES)")
	}
	if err := c.SMS.Validate(); err != nil {
		return err
	}
	if err := c.validateRelay(); err != nil {
		return err
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the public URL %q must be an http:// or https:// address", c.PublicURL)
	}
	return nil
}

// defaultBootloaderDir is bootloaders/ beside the portal's own binary, where
// `make bootloaders` puts them (bin/bootloaders).
func defaultBootloaderDir() string {
	exe, err := os.Executable()
	if err != nil {
		return "bootloaders"
	}
	return filepath.Join(filepath.Dir(exe), "bootloaders")
}

// SQLitePath is where the embedded database lives in the data directory.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "portal.db") }

// OpenStore opens the configured database and applies pending migrations.
func OpenStore(ctx context.Context, cfg Config, log *slog.Logger) (*gormstore.Store, error) {
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	st, err := gormstore.Open(gormstore.Config{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath(), Logger: log})
	if err != nil {
		return nil, err
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "dialect", st.Dialect(), "applied", n)
	}
	return st, nil
}

// Store is everything the portal keeps, the message queue included.
type Store interface {
	portal.Store
	sms.Queue
}

// Server is a running portal's HTTP side.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store Store
	echo  *echo.Echo
	// sender sends provisioning messages queued in the database.
	sender *sms.Worker
	// fingerprint names the manifest signing key bootloaders pin.
	fingerprint string
	// collab holds the live collaboration sessions.
	collab *collab.Service
	// uplink holds the portal's alias on a relay, whose devices arrive on
	// relayLn; both nil without a relay.
	uplink  *relay.Uplink
	relayLn net.Listener
}

// Fingerprint names the portal's manifest signing key.
func (s *Server) Fingerprint() string { return s.fingerprint }

// New wires the portal's HTTP surfaces over an open store.
func New(ctx context.Context, cfg Config, store Store, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	blobs, err := blob.Open(filepath.Join(cfg.DataDir, "blobs"), cfg.MaxArtifactSize)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	key, err := store.Secret(ctx, auth.SigningKeyName, auth.NewSigningKey)
	if err != nil {
		return nil, fmt.Errorf("token signing key: %w", err)
	}
	tokens, err := auth.NewTokens(key, cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	dkey, err := store.Secret(ctx, auth.DeviceKeyName, auth.NewSigningKey)
	if err != nil {
		return nil, fmt.Errorf("device token key: %w", err)
	}
	deviceTokens, err := auth.NewDeviceTokens(dkey, 30*24*time.Hour)
	if err != nil {
		return nil, err
	}
	signingKey, err := LoadSigningKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	fingerprint := packages.Fingerprint(signingKey.Public().(ed25519.PublicKey))
	// Devices' collaboration keys are sealed in the database under a key from
	// the signing key, which is kept in the data dir, not in the database.
	deviceKeys, err := collab.NewDeviceKeys(signingKey.Seed())
	if err != nil {
		return nil, err
	}
	site, err := landing.New(landing.Config{Store: store, BootloaderDir: cfg.BootloaderDir, PublicURL: cfg.PublicURL, Fingerprint: fingerprint,
		Relay: cfg.RelayURL, Alias: cfg.relayAlias(), APKSigner: apksign.New(filepath.Join(cfg.DataDir, "android")), Log: log})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Addresses come from the connection, never from headers a client can forge.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = web.ErrorHandler(log)
	e.Use(web.Observe(log, web.NewMetrics(reg)))
	e.Use(middleware.Recover())

	smsCfg := cfg.SMS
	if smsCfg.Twilio() && smsCfg.StatusCallback == "" {
		smsCfg.StatusCallback = strings.TrimRight(cfg.PublicURL, "/") + smsStatusPath
	}
	sender, err := sms.NewSender(smsCfg, log)
	if err != nil {
		return nil, err
	}
	worker := &sms.Worker{Queue: store, Sender: sender, Log: log}

	s := &Server{cfg: cfg, log: log, store: store, echo: e, sender: worker}
	if s.collab, err = newCollaboration(cfg, store, deviceTokens, deviceKeys, reg, log); err != nil {
		return nil, err
	}
	if s.uplink, s.relayLn, err = newUplink(cfg, signingKey, log, reg); err != nil {
		return nil, err
	}
	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	api.New(api.Config{Store: store, Blobs: blobs, Tokens: tokens, PhoneRegion: cfg.PhoneRegion, HashParams: cfg.HashParams,
		Provisioning:    api.Provisioning{PublicURL: cfg.PublicURL, Alias: cfg.relayAlias(), OrgName: cfg.OrgName, InvitationTTL: cfg.InvitationTTL, Queued: worker.Notify},
		TwilioAuthToken: smsCfg.AuthToken, DerivePRS: derivePRS(cfg.ActivationKDF), Collaboration: s.collab,
		Migration: api.Migration{BootloaderDir: cfg.BootloaderDir, Fingerprint: fingerprint, RelayURL: cfg.RelayURL}}).
		Register(e.Group("/api/v1"))
	twilioFrom := ""
	if smsCfg.Twilio() {
		twilioFrom = smsCfg.From
	}
	console, err := adminweb.New(adminweb.Config{Store: store, Tokens: tokens, TokenKey: key,
		PhoneRegion: cfg.PhoneRegion, HashParams: cfg.HashParams, Log: log,
		PublicURL: cfg.PublicURL, OrgName: cfg.OrgName, TwilioFrom: twilioFrom, API: e,
		Alias: cfg.relayAlias(), RelayURL: cfg.RelayURL, RelayConnected: relayConnected(s.uplink)})
	if err != nil {
		return nil, err
	}
	console.Register(e)
	phones, err := newIOS(ctx, cfg, store, blobs, log)
	if err != nil {
		return nil, err
	}
	phones.Register(e)
	deviceapi.New(deviceapi.Config{Store: store, Blobs: blobs, Tokens: deviceTokens, Key: signingKey, CollaborationKeys: deviceKeys,
		PublicURL: cfg.PublicURL, OrgName: cfg.OrgName}).Register(e.Group("/device/v1"))
	s.collab.Register(e.Group("/device/v1"))
	site.Register(e)
	s.fingerprint = fingerprint
	return s, nil
}

// derivePRS keeps only argon2id of an activation password, with its salt
// and parameters, which the device is handed to derive the same.
func derivePRS(p activation.Argon2Params) api.DerivePRS {
	return func(password string) ([]byte, []byte, string, error) {
		if err := p.Validate(); err != nil {
			return nil, nil, "", err
		}
		params, err := json.Marshal(p)
		if err != nil {
			return nil, nil, "", err
		}
		salt := activation.NewSalt()
		return activation.PRS(password, salt, p), salt, string(params), nil
	}
}

// smsStatusPath is where Twilio reports delivery.
const smsStatusPath = "/api/v1/sms/status"

// SendQueued sends the provisioning messages that are due, once; tests and
// tools use it instead of waiting for the background sender.
func (s *Server) SendQueued(ctx context.Context) (int, error) { return s.sender.RunOnce(ctx) }

// Handler is the portal's whole HTTP side.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes lists every registered route, for the OpenAPI test.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return &portal.Error{Code: portal.CodeUnavailable, Msg: "the database does not answer", Err: err}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Serve answers requests on ln until ctx is done, then stops taking new
// connections and lets in-flight requests finish, within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.ProxyProtocol {
		ln = proxyListener(ln, s.cfg.TrustedProxies)
	}
	// The server does not wait for WebSockets: the sessions end with it.
	hs.RegisterOnShutdown(s.collab.Shutdown)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if s.uplink != nil {
		defer s.serveRelay(ctx, hs)()
	}
	// The sender runs beside the server; every portal process runs one, and
	// the queue in the database keeps them from sending a message twice.
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		if err := s.sender.Run(ctx); err != nil {
			s.log.Error("sms sender stopped", "err", err)
		}
	}()
	defer func() { <-senderDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Bootstrap creates a first administrator, "admin" with a generated
// password, when there is none. It returns the password only when it
// created the account.
func Bootstrap(ctx context.Context, store portal.AdminStore, params auth.Params) (username, password string, err error) {
	n, err := store.CountAdmins(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	password, err = auth.GeneratePassword(20)
	if err != nil {
		return "", "", err
	}
	hash, err := auth.HashPassword(password, params)
	if err != nil {
		return "", "", err
	}
	a := portal.Admin{Username: "admin", Role: portal.RoleAdmin, PasswordHash: hash}
	if err := store.CreateAdmin(portal.WithActor(ctx, portal.Actor{Username: "portal (first start)"}), &a); err != nil {
		// Another process bootstrapped at the same moment: fine.
		if portal.CodeOf(err) == portal.CodeConflict {
			return "", "", nil
		}
		return "", "", err
	}
	return a.Username, password, nil
}
