package bootloader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"provportal/packages"
)

// Platform is this device's platform as the portal names it: "GOOS-GOARCH".
func Platform() string { return runtime.GOOS + "-" + runtime.GOARCH }

// Run provisions this device: it finds its configuration, trusts the portal's
// key (pinned, or on first use), logs on, verifies the signed manifest,
// downloads and checks every app, installs them all at once, and reports to
// the portal. It returns nil only when the package is installed and the
// portal was told; an error's message is one line for a person.
func Run(ctx context.Context, o Options) error {
	err := run(ctx, o)
	if err != nil && ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

var errInterrupted = &Error{Code: CodeInterrupted, Err: errors.New("interrupted: run again to pick up where this run stopped")}

func run(ctx context.Context, o Options) error {
	c, err := resolve(o)
	if err != nil {
		return err
	}
	if err := checkLegacy(c); err != nil {
		return err
	}
	out := orDiscard(o.Stdout)
	hc := o.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	var route *relayRoute
	if c.alias != "" {
		route = newRelayRoute(c.relay, c.alias, c.fingerprint)
		hc = route.client()
	}
	pc := &portalClient{base: c.portal, http: hc}
	fmt.Fprintf(out, "Portal: %s\n", c.describe())
	if route != nil && c.fingerprint == "" {
		// The relay route pinned the key the portal's TLS showed; the key
		// the portal signs manifests with must be that one.
		if err := trustOnFirstUse(ctx, c, pc, out); err != nil {
			return err
		}
		if tls := route.pinnedKey(); tls != c.fingerprint {
			return fmt.Errorf("the portal for alias %s signs with the key %s but its TLS showed %s: refusing it", c.alias, c.fingerprint, tls)
		}
	}
	if c.email != "" {
		if err := runActivation(ctx, c, pc, out); err != nil {
			return err
		}
		return removeLegacy(ctx, c, out)
	}

	if c.fingerprint == "" {
		if err := trustOnFirstUse(ctx, c, pc, out); err != nil {
			return err
		}
	}

	known := c.newIdentity()
	if c.identity.origin() == c.origin() {
		// The same portal (the relay it is reached through may have moved).
		known.DeviceID, known.Fingerprint = c.identity.DeviceID, c.identity.Fingerprint
	}
	logon, err := pc.logon(ctx, packages.LogonRequest{
		Username:   c.username,
		Password:   c.password,
		Invitation: c.invitation,
		Migration:  c.migration,
		Device:     deviceInfo(known.DeviceID),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Logged on as %s (device %s).\n", c.username, logon.DeviceID)
	known.DeviceID, known.DeviceToken = logon.DeviceID, logon.Token

	d := &deployment{config: c, portal: pc, out: out, identity: known, deviceID: logon.DeviceID}
	installed, err := d.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = errInterrupted
		}
		d.reportFailure(ctx, err)
		return err
	}
	err = pc.report(ctx, packages.StatusReport{Status: packages.StatusActivationComplete, Progress: 100, Installed: installed}, 4)
	if err != nil {
		return fmt.Errorf("installed, but the portal could not be told: %w", err)
	}
	fmt.Fprintln(out, "Activation complete.")
	return removeLegacy(ctx, c, out)
}

// trustOnFirstUse fetches the portal's key and trusts it from now on.
func trustOnFirstUse(ctx context.Context, c *config, pc *portalClient, out io.Writer) error {
	fp, err := pc.key(ctx)
	if err != nil {
		return err
	}
	c.fingerprint = fp
	fmt.Fprintf(out, "Trusting the portal's key on first use: %s\n", c.fingerprint)
	fmt.Fprintln(out, "  (compare it with the one your administrator gives; pin it with --fingerprint)")
	return nil
}

// deployment is one run after logon: manifest, downloads, install.
type deployment struct {
	*config
	portal   *portalClient
	out      io.Writer
	identity identity
	deviceID string
}

func (d *deployment) run(ctx context.Context) (map[string]string, error) {
	// Remembered at once, so a failed run does not make the portal count
	// this device twice on the next.
	if err := writeIdentity(d.installDir, d.identity); err != nil {
		return nil, failf(CodeInstallFailed, "remember this device in %s: %w", d.installDir, err)
	}
	m, err := d.verifiedManifest(ctx)
	if err != nil {
		return nil, err
	}
	d.status(ctx, 0)

	prev, err := readState(d.installDir)
	if err != nil {
		return nil, failf(CodeInstallFailed, "%w", err)
	}
	p := makePlan(d.installDir, m, prev)
	blobs, err := d.download(ctx, p.fetch)
	if err != nil {
		return nil, err
	}
	d.status(ctx, downloadShare)
	in := &installation{
		dir: d.installDir, executable: d.executable, manifest: m,
		plan: p, blobs: blobs, prev: prev,
		portalURL: d.origin(), deviceID: d.deviceID,
	}
	if err := in.run(); err != nil {
		return nil, err
	}
	// The verified downloads are installed; a later run fetches only what changes.
	os.RemoveAll(filepath.Join(d.installDir, downloadsDir))
	d.summarise(m, p)
	if d.pkg != "" {
		handOverAPKs(d.out, d.installDir, p.fetch)
	}

	installed := map[string]string{}
	for _, app := range m.Apps {
		installed[app.Name] = app.Version
	}
	return installed, nil
}

// verifiedManifest fetches the manifest and checks its signature against the
// pinned key before anything in it is read, then that it is this device's.
func (d *deployment) verifiedManifest(ctx context.Context) (*packages.Manifest, error) {
	jws, err := d.portal.manifest(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, failf(CodeManifestUnavailable, "fetch the manifest: %w", err)
	}
	m, err := packages.VerifyManifest(jws, d.fingerprint)
	switch {
	case errors.Is(err, packages.ErrUntrustedKey):
		return nil, failf(CodeUntrustedManifest, "refused the manifest: %w (it trusts %s)", err, d.fingerprint)
	case err != nil:
		return nil, failf(CodeInvalidManifest, "refused the manifest: %w", err)
	}
	if err := checkManifest(m, d.deviceID, Platform()); err != nil {
		return nil, failf(CodeInvalidManifest, "refused the manifest: %w", err)
	}
	if d.identity.Fingerprint != d.fingerprint {
		d.identity.Fingerprint = d.fingerprint
		if err := writeIdentity(d.installDir, d.identity); err != nil {
			return nil, failf(CodeInstallFailed, "remember the portal's key: %w", err)
		}
	}
	fmt.Fprintf(d.out, "Manifest verified: %d app(s) for %s %s.\n", len(m.Apps), m.User.Username, m.Platform)
	return m, nil
}

// checkManifest refuses a manifest meant for another device or platform, or
// one whose apps could not be installed safely under their names.
func checkManifest(m *packages.Manifest, deviceID, platform string) error {
	if m.Platform != platform {
		return fmt.Errorf("it is for platform %q, this device is %s", m.Platform, platform)
	}
	if m.DeviceID != deviceID {
		return fmt.Errorf("it is for device %q, this device is %q", m.DeviceID, deviceID)
	}
	seen := map[string]bool{}
	for i := range m.Apps {
		app := &m.Apps[i]
		if err := validAppName(app.Name); err != nil {
			return err
		}
		if seen[app.Name] {
			return fmt.Errorf("app %q is listed twice", app.Name)
		}
		seen[app.Name] = true
		app.SHA256 = strings.ToLower(app.SHA256)
		if len(app.SHA256) != 64 || strings.Trim(app.SHA256, "0123456789abcdef") != "" {
			return fmt.Errorf("app %s: %q is not a SHA-256", app.Name, app.SHA256)
		}
		if app.Size < 0 {
			return fmt.Errorf("app %s: negative size", app.Name)
		}
		if app.URL == "" {
			return fmt.Errorf("app %s: no URL", app.Name)
		}
	}
	return nil
}

// validAppName allows a name that is one plain folder name on every platform.
func validAppName(name string) error {
	if err := validFileName(name); err != nil {
		return fmt.Errorf("app name %q: %w", name, err)
	}
	return nil
}

func validFileName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return errors.New("empty or too long")
	case name == "." || name == "..":
		return errors.New("not a name")
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return errors.New("ends with a dot or a space, which Windows drops")
	case strings.ContainsAny(name, `/\:*?"<>|`):
		return errors.New(`contains one of / \ : * ? " < > |`)
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return errors.New("contains a control character")
	case !filepath.IsLocal(name):
		return errors.New("is reserved on this platform")
	}
	return nil
}

// download fetches every app before anything is installed.
func (d *deployment) download(ctx context.Context, apps []packages.ManifestApp) (map[string]string, error) {
	var total int64
	for _, app := range apps {
		total += app.Size
	}
	prog := newProgress(d.out, total, func(pct int) { d.status(ctx, pct) })
	dl := &downloader{portal: d.portal, dir: filepath.Join(d.installDir, downloadsDir), progress: prog}
	blobs := map[string]string{}
	for _, app := range apps {
		path, err := dl.fetch(ctx, app)
		if err != nil {
			return nil, err
		}
		blobs[app.SHA256] = path
	}
	return blobs, nil
}

// status tells the portal the install's progress; a portal that does not
// hear it is no reason to stop.
func (d *deployment) status(ctx context.Context, pct int) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = d.portal.report(ctx, packages.StatusReport{Status: packages.StatusInstalling, Progress: pct}, 1)
}

// reportFailure tries to tell the portal why the run failed, even when it
// was interrupted.
func (d *deployment) reportFailure(ctx context.Context, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = d.portal.report(ctx, packages.StatusReport{
		Status: packages.StatusFailed,
		Error:  &packages.StatusError{Code: codeOf(err), Message: truncate(err.Error(), maxReportedMessage)},
	}, 2)
}

// maxReportedMessage is the longest failure message the portal takes.
const maxReportedMessage = 1000

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func (d *deployment) summarise(m *packages.Manifest, p plan) {
	var lines []string
	for _, app := range p.fetch {
		lines = append(lines, "installed "+app.Name+" "+app.Version)
	}
	for _, app := range p.keep {
		lines = append(lines, "kept "+app.Name+" "+app.Version+" (unchanged)")
	}
	for _, name := range p.remove {
		lines = append(lines, "removed "+name)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(d.out, l)
	}
	fmt.Fprintf(d.out, "%d app(s) in %s; IT policy from %d source(s).\n",
		len(m.Apps), filepath.Join(d.installDir, appsDir), len(m.Policy.Sources))
}

// deviceInfo describes this device for logon.
func deviceInfo(id string) packages.DeviceInfo {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "unknown"
	}
	return packages.DeviceInfo{ID: id, Name: name, Platform: Platform(), OSVersion: osVersion()}
}

// runActivation is enterprise activation: the key exchange with the one-time
// activation password instead of a logon, the IT policy the device must
// accept, then the same install as a logon's, acknowledged sealed.
func runActivation(ctx context.Context, c *config, pc *portalClient, out io.Writer) error {
	known := c.newIdentity()
	if c.identity.origin() == c.origin() {
		known.DeviceID, known.Fingerprint = c.identity.DeviceID, c.identity.Fingerprint
	}
	if st, err := readSyncState(c.installDir); err != nil {
		return failf(CodeInstallFailed, "%w", err)
	} else if st != nil && st.PortalURL == c.origin() {
		if err := resumeSync(ctx, c, pc, st, out); err != nil {
			return fmt.Errorf("slow sync: %w", err)
		}
		fmt.Fprintln(out, "Synchronised.")
		return nil
	}
	s, policy, err := activate(ctx, c, pc, out, known.DeviceID)
	if err != nil {
		return err
	}
	// The exchange proved the portal knows the password, and bound its key.
	c.fingerprint = packages.Fingerprint(s.portalKey)
	known.Fingerprint = c.fingerprint
	if rejected := checkPolicy(policy, osVersion()); len(rejected) > 0 {
		msg := "IT policy rejected: this device cannot enforce " + rejected[0].Rule + " (" + rejected[0].Reason + ")"
		if ans, err := s.send(ctx, packages.ActivationPayload{Type: packages.MsgPolicyResult, Rejected: rejected}); err == nil && ans.Stop != nil {
			msg = ans.Stop.Message
		}
		return &Error{Code: CodeITPolicyRejected, Err: errors.New(msg)}
	}
	ans, err := s.send(ctx, packages.ActivationPayload{Type: packages.MsgPolicyResult, Accepted: true, CollaborationKey: true})
	if err != nil {
		return err
	}
	if ans.Type != packages.MsgServices || ans.DeviceToken == "" || ans.DeviceID == "" {
		return fmt.Errorf("activation: expected the service books, got %q", ans.Type)
	}
	pc.token = ans.DeviceToken
	known.DeviceID, known.DeviceToken = ans.DeviceID, ans.DeviceToken
	if ans.CollaborationKey {
		// Kept with the token: `bootloader chat` seals the messaging password with it.
		if known.CollaborationKey, err = s.collaborationKey(ans.DeviceID); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "IT policy accepted; %d service book(s) received.\n", len(ans.ServiceBooks))
	if err := os.MkdirAll(c.installDir, 0o755); err != nil {
		return failf(CodeInstallFailed, "create %s: %w", c.installDir, err)
	}
	books, _ := json.MarshalIndent(ans.ServiceBooks, "", "  ")
	if err := os.WriteFile(filepath.Join(c.installDir, "service-books.json"), books, 0o600); err != nil {
		return failf(CodeInstallFailed, "write service books: %w", err)
	}
	d := &deployment{config: c, portal: pc, out: out, identity: known, deviceID: ans.DeviceID}
	installed, err := d.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = errInterrupted
		}
		d.reportFailure(ctx, err)
		return err
	}
	if _, err := s.send(ctx, packages.ActivationPayload{Type: packages.MsgInstalled, Installed: installed}); err != nil {
		return fmt.Errorf("installed, but the portal could not be told: %w", err)
	}
	fmt.Fprintln(out, "Activation complete.")
	if err := s.slowSync(ctx, c.installDir, c.origin(), "", nil, out); err != nil {
		return fmt.Errorf("slow sync (run again to resume): %w", err)
	}
	fmt.Fprintln(out, "Synchronised.")
	return nil
}
