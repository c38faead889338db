// Command portal is the provisioning portal's server: serve, migrate,
// admin create, version.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/server"
	"provportal/sms"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: portal <command> [flags]

commands:
  serve          start the portal (see: portal serve -h)
  migrate        apply database migrations and exit
  admin create   create an administrator: --username NAME --password-stdin [--role admin|helpdesk]
  version        print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; {
	case cmd == "serve":
		err = serve(ctx, args)
	case cmd == "migrate":
		err = migrate(ctx, args)
	case cmd == "admin" && len(args) > 0 && args[0] == "create":
		err = adminCreate(ctx, args[1:], os.Stdin, os.Stdout)
	case cmd == "version" || cmd == "--version":
		fmt.Println("portal", version)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "portal: unknown command %q\n%s", strings.Join(os.Args[1:], " "), usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// flags binds the configuration every command shares, then the serve-only
// ones when serving. Defaults come from the environment, so a flag given on
// the command line wins over it.
func flags(name string, cfg *server.Config, serving bool) *flag.FlagSet {
	fs := flag.NewFlagSet("portal "+name, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", env("PORTAL_DATA_DIR", cfg.DataDir), "data directory: SQLite file, keys, blobs (PORTAL_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env("DATABASE_URL", cfg.DatabaseURL), "postgres:// URL; empty: SQLite in the data directory (DATABASE_URL)")
	if serving {
		fs.StringVar(&cfg.Addr, "addr", env("PORTAL_ADDR", cfg.Addr), "address to listen on (PORTAL_ADDR)")
		fs.StringVar(&cfg.PublicURL, "public-url", env("PORTAL_PUBLIC_URL", cfg.PublicURL), "address people and devices reach the portal at, used in links (PORTAL_PUBLIC_URL)")
		fs.StringVar(&cfg.PhoneRegion, "phone-region", env("PORTAL_PHONE_REGION", cfg.PhoneRegion), "country for phone numbers written without +code (PORTAL_PHONE_REGION)")
		fs.Int64Var(&cfg.MaxArtifactSize, "max-artifact-size", envInt("PORTAL_MAX_ARTIFACT_SIZE", cfg.MaxArtifactSize), "largest app artifact accepted, in bytes (PORTAL_MAX_ARTIFACT_SIZE)")
		fs.DurationVar(&cfg.TokenTTL, "token-ttl", envDuration("PORTAL_TOKEN_TTL", cfg.TokenTTL), "lifetime of administrators' tokens (PORTAL_TOKEN_TTL)")
		fs.StringVar(&cfg.BootloaderDir, "bootloader-dir", env("PORTAL_BOOTLOADER_DIR", cfg.BootloaderDir), "directory of the bootloaders `make bootloaders` builds (PORTAL_BOOTLOADER_DIR)")
		fs.DurationVar(&cfg.InvitationTTL, "invitation-ttl", envDuration("PORTAL_INVITATION_TTL", cfg.InvitationTTL), "how long a provisioning link works (PORTAL_INVITATION_TTL)")
		fs.StringVar(&cfg.OrgName, "org-name", env("PORTAL_ORG_NAME", cfg.OrgName), "your organisation's name, shown in messages (PORTAL_ORG_NAME)")
		fs.StringVar(&cfg.RelayURL, "relay", env("PORTAL_RELAY_URL", cfg.RelayURL), "switching relay to hold --alias on, so devices reach this portal through it (PORTAL_RELAY_URL)")
		fs.StringVar(&cfg.Alias, "alias", env("PORTAL_ALIAS", cfg.Alias), "this portal's alias on the relay, such as it@example.com (PORTAL_ALIAS)")
		fs.StringVar(&cfg.XMPPCAFile, "xmpp-ca-file", env("PORTAL_XMPP_CA_FILE", cfg.XMPPCAFile), "CA certificates (PEM) to check the messaging server's certificate against; empty: the system roots (PORTAL_XMPP_CA_FILE)")
		fs.BoolVar(&cfg.ProxyProtocol, "proxy-protocol", envBool("PORTAL_PROXY_PROTOCOL", cfg.ProxyProtocol), "read the PROXY protocol header that a local or DMZ proxy sends (PORTAL_PROXY_PROTOCOL)")
		fs.Func("trusted-proxies", "addresses or CIDR ranges, comma-separated, whose PROXY headers are believed (PORTAL_TRUSTED_PROXIES)", func(s string) error {
			p, err := server.ParseTrustedProxies(s)
			cfg.TrustedProxies = p
			return err
		})
	}
	return fs
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return n
	}
	return def
}

func envBool(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func newLogger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if os.Getenv("PORTAL_LOG_FORMAT") == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func serve(ctx context.Context, args []string) error {
	cfg := server.Defaults()
	if v := os.Getenv("PORTAL_TRUSTED_PROXIES"); v != "" {
		var err error
		if cfg.TrustedProxies, err = server.ParseTrustedProxies(v); err != nil {
			return fmt.Errorf("PORTAL_TRUSTED_PROXIES: %w", err)
		}
	}
	if err := flags("serve", &cfg, true).Parse(args); err != nil {
		return err
	}
	cfg.SMS = sms.Config{AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"), AuthToken: os.Getenv("TWILIO_AUTH_TOKEN"),
		From: os.Getenv("TWILIO_FROM"), APIURL: os.Getenv("TWILIO_API_URL")}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger()
	store, err := server.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := server.New(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	user, password, err := server.Bootstrap(ctx, store, cfg.HashParams)
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	base := strings.TrimRight(cfg.PublicURL, "/")
	fmt.Printf("Provisioning portal %s is listening on %s\n", version, ln.Addr())
	fmt.Printf("  Console:   %s/admin\n", base)
	fmt.Printf("  Admin API: %s/api/v1 (description: %s/api/v1/openapi.json)\n", base, base)
	fmt.Printf("  Health:    %s/healthz    Metrics: %s/metrics\n", base, base)
	if cfg.RelayURL != "" {
		fmt.Printf("  Relay:     devices reach this portal as %s on %s\n", cfg.Alias, cfg.RelayURL)
	}
	if password != "" {
		fmt.Printf("\nFirst start: an administrator account was created. It is shown only this once.\n")
		fmt.Printf("  username: %s\n  password: %s\n\n", user, password)
	}
	smsVia := "outbox (no Twilio account configured)"
	if cfg.SMS.Twilio() {
		smsVia = "Twilio"
	}
	log.Info("portal started", "addr", ln.Addr().String(), "database", store.Dialect(), "public_url", base,
		"sms", smsVia, "key_fingerprint", srv.Fingerprint())
	return srv.Serve(ctx, ln)
}

func migrate(ctx context.Context, args []string) error {
	cfg := server.Defaults()
	if err := flags("migrate", &cfg, false).Parse(args); err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, cfg, newLogger())
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Printf("database (%s) is up to date\n", store.Dialect())
	return nil
}

func adminCreate(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	cfg := server.Defaults()
	fs := flags("admin create", &cfg, false)
	username := fs.String("username", "", "the administrator's username")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	role := fs.String("role", string(portal.RoleAdmin), "admin or helpdesk")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *username == "" {
		return errors.New("admin create: --username is required")
	}
	if err := portal.CheckUsername("--username", *username); err != nil {
		return fmt.Errorf("admin create: %s", err.(*portal.Error).Msg)
	}
	if !*fromStdin {
		return errors.New("admin create: give --password-stdin and write the password on standard input")
	}
	if !portal.Role(*role).Valid() {
		return fmt.Errorf("admin create: --role must be admin or helpdesk, not %q", *role)
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("admin create: read standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return errors.New("admin create: the password must be at least 8 characters")
	}
	store, err := server.OpenStore(ctx, cfg, newLogger())
	if err != nil {
		return err
	}
	defer store.Close()
	hash, err := auth.HashPassword(pw, cfg.HashParams)
	if err != nil {
		return err
	}
	a := portal.Admin{Username: *username, Role: portal.Role(*role), PasswordHash: hash}
	actx := portal.WithActor(ctx, portal.Actor{Username: "portal admin create"})
	if err := store.CreateAdmin(actx, &a); err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	fmt.Fprintf(stdout, "created %s %s\n", a.Role, a.Username)
	return nil
}
