package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"provportal/portal"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
)

// TestConsoleFormsOnBothDatabases drives the console's forms over plain HTTP
// on SQLite and PostgreSQL: sign-in, a group and a user created with the
// audit log naming the administrator, the helpdesk refused.
func TestConsoleFormsOnBothDatabases(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		env := newPortal(t, open(t))
		env.addAdmin("help", portal.RoleHelpdesk)

		root := newFormClient(t, env)
		tok := root.signIn("root")
		root.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"Sales"}, "description": {"Field team"}}).
			wantRedirect("/admin/groups")
		var groups struct {
			Items []portal.Group
		}
		env.as("GET", "/api/v1/groups?name=Sales", nil).want(http.StatusOK).decode(&groups)
		if len(groups.Items) != 1 {
			t.Fatalf("groups named Sales: %+v, want one", groups.Items)
		}
		gid := groups.Items[0].ID

		res := root.post("/admin/users", url.Values{"csrf_token": {tok}, "username": {"alice"}, "email": {"alice@"},
			"phone": {"+14155550132"}, "groups": {gid}})
		res.want(http.StatusUnprocessableEntity)
		res.wantText("must be a plain e-mail address such as alice@example.com", `value="alice"`)
		root.post("/admin/users", url.Values{"csrf_token": {tok}, "username": {"alice"}, "email": {"alice@example.com"},
			"phone": {"+14155550132"}, "groups": {gid}}).wantRedirect("/admin/users?name=alice")

		var users struct {
			Items []portal.User
		}
		env.as("GET", "/api/v1/users?name=alice", nil).want(http.StatusOK).decode(&users)
		if len(users.Items) != 1 || len(users.Items[0].Groups) != 1 || users.Items[0].Groups[0] != gid {
			t.Fatalf("users named alice: %+v, want one in Sales", users.Items)
		}
		var audit struct {
			Items []portal.AuditEntry
		}
		env.as("GET", "/api/v1/audit?kind=user&object_id="+users.Items[0].ID, nil).want(http.StatusOK).decode(&audit)
		if len(audit.Items) == 0 || audit.Items[0].Actor != "root" || audit.Items[0].Action != "create" {
			t.Fatalf("audit of the console's create: %+v, want a create by root", audit.Items)
		}

		help := newFormClient(t, env)
		htok := help.signIn("help")
		help.get("/admin/users").want(http.StatusOK).wantText("alice")
		help.post("/admin/users/"+users.Items[0].ID+"/delete", url.Values{"csrf_token": {htok}}).want(http.StatusForbidden)
		root.post("/admin/users/"+users.Items[0].ID+"/delete", url.Values{}).want(http.StatusForbidden)
		env.as("GET", "/api/v1/users/"+users.Items[0].ID, nil).want(http.StatusOK)
	})
}

// TestConsoleInChromium signs on, creates a group and a user, searches,
// deletes and signs out in a real Chromium, once at a desktop size and once
// at a phone's 390 pixels, failing on any console error and on any page
// wider than the window.
func TestConsoleInChromium(t *testing.T) {
	browser := startChromium(t)
	env := newPortal(t, openStore(t, gormstore.Config{SQLitePath: testdb.SQLitePath(t)}))
	seedReadOnlyPages(t, env)

	for _, pass := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run(pass.name, func(t *testing.T) {
			consoleFlow(openTab(t, browser, env, pass.width, pass.height, 30*time.Second), pass.name)
		})
	}
}

// startChromium starts a headless Chromium for the whole test and returns
// the browser's context; the browser closes when the test ends.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(browser); err != nil { // starts the browser, with no timeout of its own
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// openTab opens a tab with cookies of its own, as another person's browser
// would have, in a window of the given size, for steps that must all be
// done within limit. When t ends, any error the pages wrote to the browser
// console fails it, and a failed test keeps a screenshot.
func openTab(t *testing.T, browser context.Context, env *portalEnv, width, height int64, limit time.Duration) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	con := watchConsole(ctx)
	pctx, cancelPass := context.WithTimeout(ctx, limit)
	t.Cleanup(cancelPass)
	b := &tab{t: t, ctx: pctx, root: ctx, env: env, width: width}
	// Cleanups run last first: the console is read, then the screenshot
	// taken, then the tab closed.
	t.Cleanup(b.screenshotOnFailure)
	t.Cleanup(func() {
		if errs := con.errors(); len(errs) > 0 {
			t.Errorf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
		}
	})
	b.do(chromedp.EmulateViewport(width, height))
	return b
}

// consoleFlow is what an administrator does in one sitting.
func consoleFlow(b *tab, suffix string) {
	t, env := b.t, b.env
	group := "Field team " + suffix
	username := "alice-" + suffix

	// Every page needs a session: the browser lands on the sign-in page.
	b.open("/admin", "/admin/login", http.StatusOK)
	b.wantHeading("Sign in")
	// Signed on from the keyboard: Enter in the password field sends the form.
	b.do(chromedp.SendKeys(chromedp.ID("f-username"), "root"))
	b.navigate(chromedp.SendKeys(chromedp.ID("f-password"), adminPassword+kb.Enter), "/admin", http.StatusOK)
	b.wantHeading("Dashboard")
	b.wantText(chromedp.CSS("#devices-heading"), "Devices by status")

	readOnlyPages(b)

	// A group.
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/groups"]`)), "/admin/groups", http.StatusOK)
	b.wantHeading("Groups")
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/groups/new"]`)), "/admin/groups/new", http.StatusOK)
	b.do(chromedp.SendKeys(chromedp.ID("f-name"), group),
		chromedp.SendKeys(chromedp.ID("f-description"), "People who install at customers' sites"))
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/groups", http.StatusOK)
	b.wantText(chromedp.CSS(".flash"), "Group "+group+" was added.")

	// A user in that group, with a bad e-mail address first.
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/users"]`)), "/admin/users", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/users/new"]`)), "/admin/users/new", http.StatusOK)
	b.do(
		chromedp.SendKeys(chromedp.ID("f-username"), username),
		chromedp.SendKeys(chromedp.ID("f-display_name"), "Alice Liddell"),
		chromedp.SendKeys(chromedp.ID("f-email"), "alice-at-example.com"),
		chromedp.SendKeys(chromedp.ID("f-phone"), "+1 415 555 0132"),
		chromedp.SendKeys(chromedp.ID("f-password"), "s3cret-pass-1"),
		// The label is the click target, as it is for a person.
		chromedp.Click(fmt.Sprintf(`//label[normalize-space()=%q]`, group)),
	)
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/users", http.StatusUnprocessableEntity)
	b.wantText(chromedp.CSS("#f-email-error"), "Must be a plain e-mail address such as alice@example.com.")
	b.wantText(chromedp.CSS(".problems"), "E-mail: Must be a plain e-mail address")
	for id, want := range map[string]string{"f-username": username, "f-display_name": "Alice Liddell",
		"f-email": "alice-at-example.com", "f-phone": "+1 415 555 0132", "f-password": ""} {
		if got := run(b, chromedp.Value(chromedp.ID(id))); got != want {
			t.Errorf("after the refusal %s holds %q, want %q", id, got, want)
		}
	}
	checked := run(b, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('input[name=groups]:checked'), i => i.labels[0].textContent)`))
	if len(checked) != 1 || checked[0] != group {
		t.Errorf("after the refusal the checked groups are %q, want [%q]", checked, group)
	}
	// The first field in error has the focus, so the keyboard is where the problem is.
	if id := run(b, chromedp.Evaluate[string](`document.activeElement.id`)); id != "f-email" {
		t.Errorf("after the refusal the focus is on %q, want f-email", id)
	}
	run(b, chromedp.Evaluate[string](`document.getElementById('f-email').value = ''`))
	b.do(chromedp.SendKeys(chromedp.ID("f-email"), username+"@example.com"),
		chromedp.SendKeys(chromedp.ID("f-password"), "s3cret-pass-1"))
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/users?name="+username, http.StatusOK)
	b.wantText(chromedp.CSS(".flash"), "User "+username+" was added.")

	var users struct{ Items []portal.User }
	env.as("GET", "/api/v1/users?name="+username, nil).want(http.StatusOK).decode(&users)
	if len(users.Items) != 1 || users.Items[0].Phone != "+14155550132" || len(users.Items[0].Groups) != 1 || !users.Items[0].HasPassword {
		t.Fatalf("the API sees %+v, want %s with an E.164 phone, a password and one group", users.Items, username)
	}

	// Search from the keyboard.
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/users"]`)), "/admin/users", http.StatusOK)
	b.navigate(chromedp.SendKeys(chromedp.ID("f-search"), username+kb.Enter), "/admin/users?name="+username, http.StatusOK)
	b.wantText(chromedp.CSS("main p.muted"), "1 user matches")
	b.wantText(chromedp.CSS(`table.list tbody th[data-label=Username]`), username)
	b.wantText(chromedp.CSS(`table.list tbody td[data-label=Groups]`), group)

	// Delete, after a confirmation.
	b.navigate(chromedp.Click(fmt.Sprintf(`//tr[th[normalize-space()=%q]]//a[contains(@class,"danger")]`, username)),
		"/admin/users/"+users.Items[0].ID+"/delete", http.StatusOK)
	b.wantHeading("Delete the user " + username + "?")
	b.navigate(chromedp.Click(chromedp.CSS(`main button.danger`)), "/admin/users", http.StatusOK)
	b.wantText(chromedp.CSS(".flash"), "User "+username+" was deleted.")
	env.as("GET", "/api/v1/users/"+users.Items[0].ID, nil).want(http.StatusNotFound)

	// The audit log names who deleted the user, newest first.
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/audit"]`)), "/admin/audit", http.StatusOK)
	b.wantText(chromedp.CSS(`table.list tbody tr:first-child td[data-label=Actor]`), "root")
	b.wantText(chromedp.CSS(`table.list tbody tr:first-child td[data-label=Action]`), "delete")

	// Sign out, and the console is closed again.
	b.navigate(chromedp.Click(chromedp.CSS(`.signout button`)), "/admin/login?signed_out=1", http.StatusOK)
	b.wantText(chromedp.CSS("main .notice"), "You have signed out.")
	b.open("/admin/users", "/admin/login", http.StatusOK)
}

// seedReadOnlyPages gives the devices, apps, policies and SMS pages rows
// whose long words (a SHA-256, an error message, a link) must wrap on a phone.
func seedReadOnlyPages(t *testing.T, env *portalEnv) {
	t.Helper()
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "seed"})
	u := portal.User{Username: "bob-seed"}
	if err := env.Store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	d := portal.Device{UserID: u.ID, Name: "bobs-laptop", Platform: "windows-amd64", Status: "activating"}
	if err := env.Store.RegisterDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.AddDeviceEvent(ctx, d.ID, "installing", "download_started", nil); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.ReportDevice(ctx, d.ID, "failed", 60, nil, &portal.DeviceError{Code: portal.FailDigestMismatch,
		Message: "sha256_of_mail-client-windows-amd64.zip_was_" + strings.Repeat("0f", 32)}); err != nil {
		t.Fatal(err)
	}
	app := portal.App{Name: "Mail client", Version: "2.4.1"}
	if err := env.Store.CreateApp(ctx, &app); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PutArtifact(ctx, app.ID, portal.Artifact{Platform: "windows-amd64", SHA256: strings.Repeat("9e", 32), Size: 48 << 20}); err != nil {
		t.Fatal(err)
	}
	rules, err := portal.DecodeRules([]byte(`{"max_failed_unlocks_before_wipe": 10, "storage_encryption_required": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreatePolicy(ctx, &portal.Policy{Name: "Strict", Description: "Phones that leave the building", Rules: rules}); err != nil {
		t.Fatal(err)
	}
	inv := portal.Invitation{UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
	msg := portal.SMSMessage{To: "+14155550199", Body: "Set up your phone: https://portal.example.com/p/" + strings.Repeat("Zq", 48)}
	if err := env.Store.CreateInvitation(ctx, &inv, "seed-token-hash", &msg); err != nil {
		t.Fatal(err)
	}
}

// readOnlyPages follows the navigation to the devices, apps, policies, SMS
// and audit log pages.
func readOnlyPages(b *tab) {
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/devices"]`)), "/admin/devices", http.StatusOK)
	b.wantHeading("Devices")
	b.wantText(chromedp.CSS(`table.list tbody td[data-label=Status] .fix`), "Fix:")
	devices, err := b.env.Store.Devices(context.Background(), portal.DeviceFilter{ListOptions: portal.ListOptions{Limit: 1}})
	if err != nil || len(devices.Items) != 1 {
		b.t.Fatalf("devices: %+v, %v", devices, err)
	}
	b.navigate(chromedp.Click(chromedp.CSS(`table.list tbody th a`)), "/admin/devices/"+devices.Items[0].ID, http.StatusOK)
	b.wantHeading("bobs-laptop")
	b.wantText(chromedp.CSS(`table.timeline tbody`), "download_started")
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/apps"]`)), "/admin/apps", http.StatusOK)
	b.wantHeading("Apps")
	b.wantText(chromedp.CSS(`code.sha`), strings.Repeat("9e", 32))
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/policies"]`)), "/admin/policies", http.StatusOK)
	b.wantHeading("Policies")
	b.wantText(chromedp.CSS(`table.list tbody td[data-label=Rules]`), "storage_encryption_required = true")
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/sms"]`)), "/admin/sms", http.StatusOK)
	b.wantHeading("SMS")
	b.wantText(chromedp.CSS(`table.list tbody td[data-label=Message]`), strings.Repeat("Zq", 48))
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/audit"]`)), "/admin/audit", http.StatusOK)
	b.wantHeading("Audit log")
	b.wantText(chromedp.CSS(`table.list tbody`), "seed")
}

// tab is one pass of the browser test.
type tab struct {
	t     *testing.T
	ctx   context.Context // the pass's, with its timeout
	root  context.Context // the tab's, without one
	env   *portalEnv
	width int64
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("in the browser at %s: %v", b.location(), err)
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("in the browser at %s: %v", b.location(), err)
	}
	return v
}

func (b *tab) location() string {
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		return "(unknown page)"
	}
	return strings.TrimPrefix(loc, b.env.URL)
}

// open loads path and checks where the browser ended up, after redirects.
func (b *tab) open(path, wantPath string, wantStatus int) {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.env.URL+path))
	b.landed(res, err, wantPath, wantStatus)
}

// navigate runs steps that load a new page, such as a click on a link or a
// button, and checks where the browser ended up.
func (b *tab) navigate(step chromedp.Action[chromedp.Void], wantPath string, wantStatus int) {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, step)
	b.landed(res, err, wantPath, wantStatus)
}

func (b *tab) landed(res *network.Response, err error, wantPath string, wantStatus int) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("loading a page from %s: %v", b.location(), err)
	}
	if got := strings.TrimPrefix(res.URL, b.env.URL); got != wantPath || int(res.Status) != wantStatus {
		b.t.Fatalf("the browser is at %s with status %d, want %s with %d", got, res.Status, wantPath, wantStatus)
	}
	b.fits()
}

// fits checks that the page needs no sideways scrolling.
func (b *tab) fits() {
	b.t.Helper()
	w := run(b, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if w > b.width {
		b.t.Errorf("%s is %d px wide in a %d px window: it scrolls sideways", b.location(), w, b.width)
	}
}

func (b *tab) wantHeading(want string) {
	b.t.Helper()
	b.wantText(chromedp.CSS("main h1"), want)
}

func (b *tab) wantText(sel chromedp.CSS, want string) {
	b.t.Helper()
	if got := run(b, chromedp.Text(sel)); !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
		b.t.Fatalf("on %s, %s says %q, want %q in it", b.location(), sel, got, want)
	}
}

// screenshotOnFailure keeps what the browser showed when the test failed.
func (b *tab) screenshotOnFailure() {
	if !b.t.Failed() {
		return
	}
	// The pass's own context may be the one that ran out: use the tab's.
	ctx, cancel := context.WithTimeout(b.root, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	path := filepath.Join(b.t.ArtifactDir(), "console-failure.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the page at failure: %s (kept when go test runs with -artifacts)", path)
}

// consoleLog gathers the errors the pages write to the browser console:
// uncaught exceptions, console.error calls, and browser log errors such as
// a blocked or missing stylesheet.
type consoleLog struct {
	mu   sync.Mutex
	errs []string
}

func watchConsole(ctx context.Context) *consoleLog {
	l := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			// A page answered with 4xx on purpose (a refused form) is logged
			// by the browser as a failed load of the document; that is the
			// page working, not an error in it. Any other resource counts.
			if m.Source == "network" && !strings.Contains(m.URL, "/static/") && !strings.Contains(m.URL, "favicon") {
				continue
			}
			l.mu.Lock()
			l.errs = append(l.errs, fmt.Sprintf("%s (%s %s:%d)", m, m.Source, m.URL, m.Line+1))
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *consoleLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// chromium is Debian's Chromium. Without it the browser test fails in CI
// and is skipped elsewhere, saying how to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed (CI=true, so this is a failure): apt-get install -y chromium")
	}
	t.Skip("NOTICE: chromium is not installed, so the console's browser test is skipped: apt-get install -y chromium")
	return ""
}

// formClient is a browser without a browser: a cookie jar that shows
// redirects instead of following them.
type formClient struct {
	t   *testing.T
	env *portalEnv
	c   *http.Client
}

func newFormClient(t *testing.T, env *portalEnv) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, env: env, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type formPage struct {
	*response
}

func (f *formClient) do(method, path string, form url.Values) formPage {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.env.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := f.c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return formPage{&response{t: f.t, what: method + " " + path, Status: res.StatusCode, Header: res.Header, Body: raw}}
}

func (f *formClient) get(path string) formPage { return f.do(http.MethodGet, path, nil) }
func (f *formClient) post(path string, form url.Values) formPage {
	return f.do(http.MethodPost, path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs on through the form and returns the CSRF token of the pages.
func (f *formClient) signIn(username string) string {
	f.t.Helper()
	login := f.get("/admin/login").want(http.StatusOK)
	m := csrfInput.FindSubmatch(login.Body)
	if m == nil {
		f.t.Fatalf("no CSRF token on the sign-in page: %s", login.Body)
	}
	f.post("/admin/login", url.Values{"csrf_token": {string(m[1])}, "username": {username}, "password": {adminPassword}}).
		wantRedirect("/admin")
	dash := f.get("/admin").want(http.StatusOK)
	if m = csrfInput.FindSubmatch(dash.Body); m == nil {
		f.t.Fatalf("no CSRF token on the dashboard: %s", dash.Body)
	}
	return string(m[1])
}

func (p formPage) want(status int) formPage {
	p.t.Helper()
	p.response.want(status)
	return p
}

func (p formPage) wantRedirect(to string) formPage {
	p.t.Helper()
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != to {
		p.t.Fatalf("%s: %d to %q, want 303 to %q; body %s", p.what, p.Status, p.Header.Get("Location"), to, p.Body)
	}
	return p
}

func (p formPage) wantText(texts ...string) formPage {
	p.t.Helper()
	for _, s := range texts {
		if !strings.Contains(strings.ToLower(string(p.Body)), strings.ToLower(s)) {
			p.t.Fatalf("%s: the page lacks %q: %s", p.what, s, p.Body)
		}
	}
	return p
}
