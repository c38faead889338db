package bootloader

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"provportal/packages"
)

// Options is what Run needs. cmd/bootloader fills it from flags, then the
// environment; Run fills what is still empty from the configuration stamped
// in the executable, then from what an earlier run remembered in the install
// dir, then by asking on a terminal.
type Options struct {
	Server      string // --server, BOOTLOADER_SERVER: the portal's URL, or host:port
	Alias       string // --alias: the portal's name on a relay, instead of Server
	Relay       string // --relay: the relay's URL (or host:port) the alias is on
	Fingerprint string // --fingerprint, BOOTLOADER_FINGERPRINT: the portal key to pin; empty: trust on first use
	Invitation  string // --invitation: the token of a provisioning link

	Username string // --username
	Password string // read by --password-stdin; empty: asked on a terminal

	Email              string // --email: enterprise activation with a one-time activation password
	ActivationPassword string // read by --activation-password-stdin

	InstallDir     string // --install-dir, BOOTLOADER_INSTALL_DIR; empty: DefaultInstallDir
	NonInteractive bool   // --non-interactive: never ask; missing input is an error naming its flag

	// Executable is this bootloader's own file: its stamped configuration is
	// read, and it is copied to <install-dir>/bin. Empty: os.Executable().
	Executable string
	// Package is the Android package (APK) this bootloader came in
	// (BOOTLOADER_PACKAGE, set by its launcher): the stamp is read from the
	// APK's signing block instead of Executable, and APKs it installs are
	// handed to the launcher for the system installer.
	Package string

	Stdin      io.Reader    // a terminal here enables prompts; nil: no prompts
	Stdout     io.Writer    // messages and progress; nil: discarded
	HTTPClient *http.Client // nil: a client with time limits suited to large downloads; unused through a relay
}

// config is Options resolved: every value Run uses, from wherever it came.
type config struct {
	// portal is the base of every request: the portal's URL, or for a
	// portal reached by alias https://packages.RelayPortalHost, which the
	// relay route's client dials through relay.
	portal      *url.URL
	alias       string   // set: the portal is reached through relay by this alias
	relay       *url.URL // with alias
	fingerprint string   // normalised; empty: trust on first use
	invitation  string
	username    string
	password    string
	// email and activationPassword select enterprise activation instead of a logon.
	email              string
	activationPassword string
	installDir         string
	executable         string
	identity           identity // what device.json remembered
	pkg                string   // Options.Package
	// migration and legacy come from a migration package (see legacy.go).
	migration string
	legacy    *packages.LegacyClient
}

// resolve fills the configuration in order of precedence: Options (flags and
// environment), a settings file or the registry (settings.go), the stamp,
// device.json, then prompts.
func resolve(o Options) (*config, error) {
	if o.ActivationPassword != "" && o.Email == "" {
		return nil, errors.New("an activation password needs the user's e-mail address: pass --email")
	}
	exe := o.Executable
	if exe == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this bootloader's own file: %w", err)
		}
		exe = p
	}
	stamp, err := readStamp(o.Package, exe)
	if err != nil {
		return nil, err
	}
	if stamp, err = withSettings(stamp, exe); err != nil {
		return nil, err
	}
	c := &config{executable: exe, installDir: o.InstallDir, legacy: stamp.Legacy}
	c.pkg = o.Package
	if c.installDir == "" {
		if c.installDir, err = DefaultInstallDir(exe); err != nil {
			return nil, err
		}
	}
	if c.installDir, err = filepath.Abs(c.installDir); err != nil {
		return nil, fmt.Errorf("install dir: %w", err)
	}
	if c.identity, err = readIdentity(c.installDir); err != nil {
		return nil, err
	}
	ask := newPrompter(o)

	if err := c.route(o, stamp, ask); err != nil {
		return nil, err
	}

	// A remembered or stamped key (and invitation) belongs to the portal it
	// came with.
	stampApplies := c.sameAs(stamp.PortalURL, stamp.Alias)
	fp := o.Fingerprint
	if fp == "" && stampApplies {
		fp = stamp.Fingerprint
	}
	if fp == "" && c.identity.origin() == c.origin() {
		fp = c.identity.Fingerprint
	}
	if fp != "" {
		if c.fingerprint, err = NormalizeFingerprint(fp); err != nil {
			return nil, err
		}
	}
	if c.invitation = o.Invitation; c.invitation == "" && stampApplies {
		c.invitation = stamp.Invitation
	}
	if stampApplies {
		c.migration = stamp.Migration
	}

	if c.email = o.Email; c.email != "" {
		if c.activationPassword = o.ActivationPassword; c.activationPassword == "" {
			if c.activationPassword, err = ask.secret("Activation password for "+c.email+": ", "no activation password: pass --activation-password-stdin and write it on standard input"); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	if c.username = o.Username; c.username == "" {
		if c.username, err = ask.line("Username: ", "no username: pass --username"); err != nil {
			return nil, err
		}
	}
	if c.password = o.Password; c.password == "" {
		if c.password, err = ask.secret("Password for "+c.username+": ", "no password: pass --password-stdin and write it on standard input"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// route finds the way to the portal: the server flag, else the alias flag,
// else the stamp, else device.json, else a question. A portal is reached at
// its address or by its alias on a relay, never both.
func (c *config) route(o Options, stamp packages.BootConfig, ask *prompter) error {
	server, alias, relay := strings.TrimSpace(o.Server), strings.TrimSpace(o.Alias), strings.TrimSpace(o.Relay)
	switch {
	case server != "" && alias != "":
		return errors.New("give the portal's address (--server, BOOTLOADER_SERVER) or its alias on a relay (--alias), not both")
	case server != "" && relay != "":
		return errors.New("--relay goes with --alias: give --alias NAME, or --server alone")
	case server != "":
	case alias != "":
		relay = first(relay, stamp.Relay, c.identity.Relay)
	case relay != "":
		if alias = first(stamp.Alias, c.identity.Alias); alias == "" {
			return errors.New("--relay needs the portal's alias on it: pass --alias NAME")
		}
	case stamp.Alias != "":
		alias, relay = stamp.Alias, stamp.Relay
	case stamp.PortalURL != "":
		server = stamp.PortalURL
	case c.identity.Alias != "":
		alias, relay = c.identity.Alias, c.identity.Relay
	case c.identity.PortalURL != "":
		server = c.identity.PortalURL
	default:
		var err error
		if server, err = ask.line("Portal address (URL or host:port): ", "no portal address: pass --server URL (or set BOOTLOADER_SERVER)"); err != nil {
			return err
		}
	}
	var err error
	if alias == "" {
		c.portal, err = ParsePortalAddress(server)
		return err
	}
	if c.alias, err = packages.CheckAlias(alias); err != nil {
		return err
	}
	if relay == "" {
		return fmt.Errorf("alias %s is on a relay: pass --relay URL", c.alias)
	}
	if c.relay, err = parseAddress("relay", relay); err != nil {
		return err
	}
	c.portal = &url.URL{Scheme: "https", Host: packages.RelayPortalHost}
	return nil
}

// origin names the portal in device.json, state.json and the sync state:
// its URL, or "alias:NAME" for a portal reached through a relay, whichever
// relay that is (the relay only passes bytes; the key is what is trusted).
func (c *config) origin() string {
	if c.alias != "" {
		return "alias:" + c.alias
	}
	return c.portal.String()
}

// sameAs says whether a portal address or alias (as stamped) names the
// portal this run goes to; neither names every portal.
func (c *config) sameAs(portalURL, alias string) bool {
	switch {
	case alias != "":
		a, err := packages.CheckAlias(alias)
		return err == nil && a == c.alias
	case portalURL != "":
		v, err := ParsePortalAddress(portalURL)
		return err == nil && c.alias == "" && v.String() == c.portal.String()
	}
	return true
}

// newIdentity is device.json for this portal, before logon.
func (c *config) newIdentity() identity {
	if c.alias != "" {
		return identity{Alias: c.alias, Relay: c.relay.String()}
	}
	return identity{PortalURL: c.portal.String()}
}

// routing tells the portal, at activation, how this device reaches it.
func (c *config) routing() packages.Routing {
	if c.alias != "" {
		return packages.Routing{Alias: c.alias, Relay: c.relay.String()}
	}
	return packages.Routing{PortalURL: c.portal.String()}
}

// describe names the portal for a person.
func (c *config) describe() string {
	if c.alias != "" {
		return c.alias + " through the relay " + c.relay.Redacted()
	}
	return c.portal.Redacted()
}

func first(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// readStampFile reads the configuration the portal stamped at the end of the
// executable. An executable without one gives an empty configuration.
func readStampFile(exe string) (packages.BootConfig, error) {
	f, err := os.Open(exe)
	if err != nil {
		return packages.BootConfig{}, fmt.Errorf("read this bootloader's configuration: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return packages.BootConfig{}, fmt.Errorf("read this bootloader's configuration: %w", err)
	}
	cfg, err := packages.ReadStamp(f, fi.Size())
	switch {
	case errors.Is(err, packages.ErrNoStamp):
		return packages.BootConfig{}, nil
	case err != nil:
		return packages.BootConfig{}, fmt.Errorf("the configuration stamped in this bootloader is damaged (%v): download the bootloader again", err)
	}
	return *cfg, nil
}

// DefaultInstallDir is where a bootloader installs when not told: the install
// dir of an installed client (the folder above its bin/, when that holds a
// device.json), otherwise the folder "provportal" in the user's configuration
// folder (os.UserConfigDir: ~/.config on Linux, ~/Library/Application Support
// on macOS, %AppData% on Windows).
func DefaultInstallDir(executable string) (string, error) {
	if bin := filepath.Dir(executable); filepath.Base(bin) == "bin" {
		dir := filepath.Dir(bin)
		if _, err := os.Stat(filepath.Join(dir, deviceFile)); err == nil {
			return dir, nil
		}
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no install dir: pass --install-dir (%v)", err)
	}
	return filepath.Join(base, "provportal"), nil
}

// ParsePortalAddress turns what a person types into the portal's URL: a full
// http(s) URL is kept (without query or fragment); host or host:port gets
// http:// for port 80 and for loopback hosts, https:// otherwise.
func ParsePortalAddress(s string) (*url.URL, error) {
	return parseAddress("portal", s)
}

// parseAddress reads the address of the portal or of a relay.
func parseAddress(what, s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no " + what + " address")
	}
	explicit := strings.Contains(s, "://")
	raw := s
	if !explicit {
		raw = "//" + s
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%s address %q is neither a URL nor host:port", what, s)
	}
	if !explicit {
		u.Scheme = impliedScheme(u)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s address %q: only http and https are supported", what, s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment, u.RawFragment = "", "", "", ""
	return u, nil
}

func impliedScheme(u *url.URL) string {
	switch u.Port() {
	case "80":
		return "http"
	case "443":
		return "https"
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "http"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}

// NormalizeFingerprint accepts "sha256:<64 hex>" or the 64 hex digits alone,
// in either case, and returns the form packages.Fingerprint writes.
func NormalizeFingerprint(s string) (string, error) {
	hex := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("fingerprint %q is not a key fingerprint (sha256: and 64 hex digits)", s)
	}
	return "sha256:" + hex, nil
}

// prompter asks on a terminal; without one (or with --non-interactive) every
// question fails with the message naming the flag to use instead.
type prompter struct {
	fd  int
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(o Options) *prompter {
	f, ok := o.Stdin.(*os.File)
	if o.NonInteractive || !ok || !term.IsTerminal(int(f.Fd())) {
		return &prompter{fd: -1}
	}
	return &prompter{fd: int(f.Fd()), in: bufio.NewReader(f), out: orDiscard(o.Stdout)}
}

func (p *prompter) line(question, missing string) (string, error) {
	if p.fd < 0 {
		return "", errors.New(missing)
	}
	fmt.Fprint(p.out, question)
	s, err := p.in.ReadString('\n')
	if s = strings.TrimSpace(s); s == "" {
		if err == nil {
			err = errors.New("nothing typed")
		}
		return "", fmt.Errorf("%s (%v)", missing, err)
	}
	return s, nil
}

func (p *prompter) secret(question, missing string) (string, error) {
	if p.fd < 0 {
		return "", errors.New(missing)
	}
	fmt.Fprint(p.out, question)
	b, err := term.ReadPassword(p.fd)
	fmt.Fprintln(p.out)
	if err != nil || len(b) == 0 {
		if err == nil {
			err = errors.New("nothing typed")
		}
		return "", fmt.Errorf("%s (%v)", missing, err)
	}
	return string(b), nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
