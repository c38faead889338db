package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provportal/bootloader"
	"provportal/portal"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
)

// TestConsoleProvisioningInChromium takes users from a CSV file to an
// activated device, all through the console's pages in a real Chromium at
// a desktop size: a group, an import with a refused row, an app with a file
// uploaded by the page's script, an assignment to the group, provisioning
// messages to the group, and an activation password with which the real
// bootloader activates a device that the devices pages then show.
func TestConsoleProvisioningInChromium(t *testing.T) {
	browser := startChromium(t)
	env := newPortal(t, openStore(t, gormstore.Config{SQLitePath: testdb.SQLitePath(t)}), cheapKDF)
	b := openTab(t, browser, env, 1280, 900, 50*time.Second)

	signInAsRoot(b)
	groupID := addGroupByForm(b, "Couriers")
	carol, dave := importCouriers(b, groupID)
	appName := "Route planner"
	appID := addAppByForm(b, appName, "1.4.0")
	installed := uploadArtifact(b, appID)
	assignToGroup(b, appName+" 1.4.0", "Couriers")
	sendProvisioning(b, carol, dave)
	password := setActivationPassword(b, dave)

	install := filepath.Join(t.TempDir(), "install")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bootloader.Run(ctx, bootloader.Options{Server: env.URL, Email: dave.Email, ActivationPassword: password,
		InstallDir: install, NonInteractive: true, Executable: standInExecutable(t)}); err != nil {
		t.Fatalf("the bootloader's activation as dave: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(install, "apps", appName, installed.name))
	if err != nil || string(got) != installed.content {
		t.Errorf("the device's copy of %s: %q, %v; want %q", installed.name, got, err, installed.content)
	}

	checkActivatedDevice(b, dave, appName+" 1.4.0")

	b.navigate(chromedp.Click(chromedp.CSS(`.signout button`)), "/admin/login?signed_out=1", http.StatusOK)
	b.wantText(chromedp.CSS("main .notice"), "You have signed out.")
	b.open("/admin/devices", "/admin/login", http.StatusOK)
}

// signInAsRoot signs on through the sign-in page as the administrator root.
func signInAsRoot(b *tab) {
	b.open("/admin", "/admin/login", http.StatusOK)
	b.wantHeading("Sign in")
	b.do(chromedp.SendKeys(chromedp.ID("f-username"), "root"), chromedp.SendKeys(chromedp.ID("f-password"), adminPassword))
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin", http.StatusOK)
	b.wantHeading("Dashboard")
}

// addGroupByForm adds a group through its form and returns its ID.
func addGroupByForm(b *tab, name string) string {
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/groups"]`)), "/admin/groups", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/groups/new"]`)), "/admin/groups/new", http.StatusOK)
	b.do(chromedp.SendKeys(chromedp.ID("f-name"), name),
		chromedp.SendKeys(chromedp.ID("f-description"), "Deliver parcels with the route planner"))
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/groups", http.StatusOK)
	b.wantText(chromedp.CSS(".flash"), "Group "+name+" was added.")

	var groups struct{ Items []portal.Group }
	b.env.as("GET", "/api/v1/groups?name="+name, nil).want(http.StatusOK).decode(&groups)
	if len(groups.Items) != 1 || groups.Items[0].Name != name {
		b.t.Fatalf("the API's groups named %s: %+v, want one", name, groups.Items)
	}
	return groups.Items[0].ID
}

// importCouriers imports carol and dave into the group, with a third row
// that is refused, and returns the two users as the API sees them.
func importCouriers(b *tab, groupID string) (carol, dave portal.User) {
	t := b.t
	csvPath := filepath.Join(t.TempDir(), "couriers.csv")
	csv := "username,email,phone,display_name,password,groups\n" +
		"carol,,+14155550123,Carol Courier,carol-pass-123,Couriers\n" +
		"dave,dave@example.com,,Dave Driver,,Couriers\n" +
		"erin,erin-at-example.com,,Erin,,Couriers\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}

	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/users"]`)), "/admin/users", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/users/import"]`)), "/admin/users/import", http.StatusOK)
	b.wantHeading("Import users")
	b.do(chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{csvPath}))
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/users/import", http.StatusOK)
	b.wantText(chromedp.CSS("#report-heading"), "Imported couriers.csv")
	b.wantText(chromedp.CSS(".import-report p[role=status]"), "2 created, 0 updated, 1 refused.")
	results := run(b, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('table.import-rows tbody tr'), r => r.querySelector('th').textContent.trim() + ' ' + r.querySelector('td[data-label=Result]').textContent.trim())`))
	if want := []string{"carol Created", "dave Created", "erin Refused"}; !slices.Equal(results, want) {
		t.Errorf("the import report's rows: %q, want %q", results, want)
	}
	b.wantText(chromedp.CSS("tr.import-refused td[data-label=Why]"), "email: Must be a plain e-mail address such as alice@example.com.")

	carol, dave = userNamed(b, "carol"), userNamed(b, "dave")
	if carol.Phone != "+14155550123" || !carol.HasPassword || !slices.Equal(carol.Groups, []string{groupID}) {
		t.Errorf("the API sees carol as %+v, want her phone, a password and the group Couriers", carol)
	}
	if dave.Email != "dave@example.com" || dave.Phone != "" || !slices.Equal(dave.Groups, []string{groupID}) {
		t.Errorf("the API sees dave as %+v, want his e-mail, no phone and the group Couriers", dave)
	}
	var erin struct{ Items []portal.User }
	b.env.as("GET", "/api/v1/users?name=erin", nil).want(http.StatusOK).decode(&erin)
	if len(erin.Items) != 0 {
		t.Errorf("the refused row made users: %+v", erin.Items)
	}
	return carol, dave
}

// userNamed is the one user called username, through the admin API.
func userNamed(b *tab, username string) portal.User {
	b.t.Helper()
	var users struct{ Items []portal.User }
	b.env.as("GET", "/api/v1/users?name="+username, nil).want(http.StatusOK).decode(&users)
	for _, u := range users.Items {
		if u.Username == username {
			return u
		}
	}
	b.t.Fatalf("the API has no user %s: %+v", username, users.Items)
	return portal.User{}
}

// addAppByForm adds an app through its form and returns its ID.
func addAppByForm(b *tab, name, version string) string {
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/apps"]`)), "/admin/apps", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/apps/new"]`)), "/admin/apps/new", http.StatusOK)
	b.do(chromedp.SendKeys(chromedp.ID("f-name"), name), chromedp.SendKeys(chromedp.ID("f-version"), version))
	path := b.navigateUnder(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/apps/", http.StatusOK)
	b.wantHeading(name)
	b.wantText(chromedp.CSS(".flash"), "App "+name+" was added.")
	id := strings.TrimPrefix(path, "/admin/apps/")
	var app portal.App
	b.env.as("GET", "/api/v1/apps/"+id, nil).want(http.StatusOK).decode(&app)
	if app.Name != name || app.Version != version || len(app.Artifacts) != 0 {
		b.t.Fatalf("the API sees the new app as %+v, want %s %s with no files", app, name, version)
	}
	return id
}

// appFile is what an uploaded archive puts on a device.
type appFile struct{ name, content string }

// uploadArtifact uploads a .tar.gz for this machine's platform with the app
// page's form, which its script sends in the background, and checks the
// page lists the file with its size and digest.
func uploadArtifact(b *tab, appID string) appFile {
	t := b.t
	inside := appFile{name: "routes.txt", content: "depot, north loop, harbour\n"}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: inside.name, Mode: 0o644, Size: int64(len(inside.content)), ModTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(inside.content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "route-planner.tar.gz")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	platform := runtime.GOOS + "-" + runtime.GOARCH

	b.choose("f-platform", platform)
	b.do(chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{archive}))
	// What the script announces is kept in the tab's session storage, which
	// outlives the page, to show the file went by the script and not by an
	// ordinary post of the form.
	run(b, chromedp.Evaluate[bool](`(() => {
		const status = document.querySelector('[data-upload-status]');
		new MutationObserver(() => sessionStorage.setItem('upload-status',
			(sessionStorage.getItem('upload-status') || '') + status.textContent + '\n')).observe(status, {childList: true});
		return true;
	})()`))
	b.navigate(chromedp.Click(chromedp.CSS(`[data-upload-submit]`)), "/admin/apps/"+appID, http.StatusOK)
	announced := strings.Split(strings.TrimSpace(run(b, chromedp.Evaluate[string](`sessionStorage.getItem('upload-status') || ''`))), "\n")
	// A larger file would have announcements of its progress in between.
	if first, last := fmt.Sprintf("Uploading route-planner.tar.gz (%d B).", buf.Len()), "Uploaded. Opening the app's page."; announced[0] != first ||
		!slices.Contains(announced, "Sent; the portal is checking and storing the file.") || announced[len(announced)-1] != last {
		t.Errorf("the upload script announced %q, want %q first, the file sent, and %q last", announced, first, last)
	}
	b.wantText(chromedp.CSS(".flash"), fmt.Sprintf("route-planner.tar.gz (%d B) was uploaded for %s.", buf.Len(), platform))
	row := fmt.Sprintf(`//table[contains(@class,"app-files")]//tr[th[normalize-space()=%q]]`, platform)
	for cell, want := range map[string]string{
		"File": "route-planner.tar.gz",
		// The archive is smaller than a KiB, so the page writes its size in bytes.
		"Size":    fmt.Sprintf("%d B", buf.Len()),
		"SHA-256": hex.EncodeToString(sum[:]),
	} {
		if got := strings.TrimSpace(run(b, chromedp.Text(row+fmt.Sprintf(`/td[@data-label=%q]`, cell)))); got != want {
			t.Errorf("the app page's %s of the %s file: %q, want %q", cell, platform, got, want)
		}
	}
	return inside
}

// assignToGroup assigns the app labelled app to the group through the form.
func assignToGroup(b *tab, app, group string) {
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/assignments"]`)), "/admin/assignments", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a.button[href="/admin/assignments/new"]`)), "/admin/assignments/new", http.StatusOK)
	b.choose("f-what", app)
	b.choose("f-group_id", group)
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), "/admin/assignments", http.StatusOK)
	b.wantText(chromedp.CSS(".flash"), "The app "+app+" now reaches the group "+group+".")
	rows := run(b, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('table.assignments tbody tr'), r => r.querySelector('th').textContent.trim().replace(/\s+/g, ' ') + ' → ' + r.querySelector('td[data-label=Reaches]').textContent.trim().replace(/\s+/g, ' '))`))
	if want := []string{"App Assignments of " + app + " → Group Assignments to " + group}; !slices.Equal(rows, want) {
		b.t.Errorf("the assignments table: %q, want %q", rows, want)
	}
}

// sendProvisioning sends provisioning messages to the group Couriers: carol
// gets one with her link and its code, dave has no phone and gets none.
func sendProvisioning(b *tab, carol, dave portal.User) {
	t := b.t
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/provisioning"]`)), "/admin/provisioning", http.StatusOK)
	b.wantHeading("Provisioning")
	b.choose("f-group_id", "Couriers (2 members)")
	b.navigate(chromedp.Click(chromedp.CSS(`button[formaction="/admin/provisioning/send"]`)), "/admin/provisioning/send", http.StatusOK)
	b.wantHeading("Provisioning messages sent")
	b.wantText(chromedp.CSS("main p[role=status]"), "1 message was queued; 1 user was not sent one")

	daveRow := fmt.Sprintf(`//table[contains(@class,"sent")]//tr[th[starts-with(normalize-space(),%q)]]`, dave.Username)
	if got := collapseSpaces(run(b, chromedp.Text(daveRow+`/td[@data-label="Status"]`))); got != "Not sent The user has no phone number." {
		t.Errorf("dave's status on the sent page: %q, want not sent for having no phone", got)
	}
	carolRow := fmt.Sprintf(`//table[contains(@class,"sent")]//tr[th[starts-with(normalize-space(),%q)]]`, carol.Username)
	if got := collapseSpaces(run(b, chromedp.Text(carolRow+`/td[@data-label="Status"]`))); got != "Queued to "+carol.Phone+", 1 segment" {
		t.Errorf("carol's status on the sent page: %q, want queued to her phone", got)
	}
	sent := run(b, chromedp.Evaluate[sentLinks](`({
		Links: Array.from(document.querySelectorAll('table.sent a.invitation-link'), a => a.href),
		QR: Array.from(document.querySelectorAll('table.sent img.qr'), i => ({Src: i.src.slice(0, 22), Alt: i.alt, Width: i.naturalWidth, Loaded: i.complete})),
	})`))
	if len(sent.Links) != 1 || !strings.HasPrefix(sent.Links[0], b.env.URL+"/p/") || len(sent.Links[0]) < len(b.env.URL+"/p/")+20 {
		t.Fatalf("invitation links on the sent page: %q, want one for carol under %s/p/", sent.Links, b.env.URL)
	}
	if len(sent.QR) != 1 || sent.QR[0].Src != "data:image/png;base64," || !sent.QR[0].Loaded || sent.QR[0].Width != 220 ||
		sent.QR[0].Alt != "QR code of the invitation link for carol" {
		t.Errorf("QR codes on the sent page: %+v, want carol's, a 220-pixel PNG the browser drew", sent.QR)
	}
	if got := run(b, chromedp.Evaluate[int](`document.querySelectorAll('table.sent tbody tr').length`)); got != 2 {
		t.Errorf("the sent page lists %d users, want carol and dave", got)
	}

	b.navigate(chromedp.Click(chromedp.CSS(`main a.button[href="/admin/sms"]`)), "/admin/sms", http.StatusOK)
	b.wantHeading("SMS")
	msg := fmt.Sprintf(`//table//tr[th[normalize-space()=%q]]`, carol.Phone)
	if got := collapseSpaces(run(b, chromedp.Text(msg+`/td[@data-label="User"]`))); got != "carol" {
		t.Errorf("the outbox's message to %s is for %q, want carol", carol.Phone, got)
	}
	if got := run(b, chromedp.Text(msg+`/td[@data-label="Message"]`)); !strings.Contains(got, sent.Links[0]) {
		t.Errorf("the outbox's message to %s says %q, want carol's link %s in it", carol.Phone, got, sent.Links[0])
	}
	if got := run(b, chromedp.Evaluate[int](`document.querySelectorAll('table.list tbody tr').length`)); got != 1 {
		t.Errorf("the outbox holds %d messages, want only carol's", got)
	}
}

// sentLinks are the invitation links and QR codes of the sent page.
type sentLinks struct {
	Links []string
	QR    []struct {
		Src    string // the start of the data: URI
		Alt    string
		Width  int // as the browser decoded the image
		Loaded bool
	}
}

// setActivationPassword has the portal generate an activation password for
// u from the users page and returns it as the page shows it, once.
func setActivationPassword(b *tab, u portal.User) string {
	page := "/admin/users/" + u.ID + "/activation-password"
	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/users"]`)), "/admin/users", http.StatusOK)
	b.navigate(chromedp.Click(chromedp.CSS(`a[href="`+page+`"]`)), page, http.StatusOK)
	b.wantHeading("Activation password for " + u.Username)
	b.wantText(chromedp.CSS(`section[aria-labelledby=state-heading] .empty`), "None: no device can activate as "+u.Username)
	b.navigate(chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), page, http.StatusOK)
	b.wantText(chromedp.CSS(`main .warning`), "Shown this once.")
	pw := strings.TrimSpace(run(b, chromedp.Text(chromedp.CSS(`main p.secret code`))))
	if len(pw) != 14 || strings.Count(pw, "-") != 2 {
		b.t.Fatalf("the generated activation password %q is not three groups of four characters", pw)
	}
	return pw
}

// checkActivatedDevice finds u's device among the synchronised ones and
// checks its page: the app installed and every step of the activation.
func checkActivatedDevice(b *tab, u portal.User, app string) {
	t := b.t
	var devices portal.Page[portal.Device]
	b.env.as("GET", "/api/v1/devices", nil).want(http.StatusOK).decode(&devices)
	if len(devices.Items) != 1 {
		t.Fatalf("the API lists devices %+v, want dave's alone", devices.Items)
	}
	d := devices.Items[0]

	// The password worked once: the page says so.
	page := "/admin/users/" + u.ID + "/activation-password"
	b.open(page, page, http.StatusOK)
	b.wantText(chromedp.CSS(`section[aria-labelledby=state-heading] .tag`), "Used")

	b.navigate(chromedp.Click(chromedp.CSS(`nav a[href="/admin/devices"]`)), "/admin/devices", http.StatusOK)
	// After activation_complete the bootloader goes on to the slow sync, so
	// a device that finished is synchronised.
	b.choose("f-status", "Synchronised")
	b.navigate(chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)), "/admin/devices?status=synchronised", http.StatusOK)
	b.wantText(chromedp.CSS("main p[role=status]"), "1 device with status Synchronised")
	row := fmt.Sprintf(`//table//tr[th/a[@href=%q]]`, "/admin/devices/"+d.ID)
	for cell, want := range map[string]string{`td[@data-label="User"]`: u.Username, `td[@data-label="Platform"]`: bootloader.Platform(),
		`td[@data-label="Status"]`: "Synchronised", `td[@data-label="Progress"]/span[@class="pct"]`: "100 %"} {
		if got := collapseSpaces(run(b, chromedp.Text(row+"/"+cell))); got != want {
			t.Errorf("the devices list's %s of dave's device: %q, want %q", cell, got, want)
		}
	}

	b.navigate(chromedp.Click(chromedp.CSS(`table.list tbody th a[href="/admin/devices/`+d.ID+`"]`)), "/admin/devices/"+d.ID, http.StatusOK)
	b.wantText(chromedp.CSS(`section[aria-labelledby=details-heading]`), "User "+u.Username)
	b.wantText(chromedp.CSS(`section[aria-labelledby=details-heading] .tag`), app)
	events := run(b, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('table.timeline tbody tr'), r => r.querySelector('td[data-label=Stage]').textContent.trim() + ': ' + r.querySelector('td[data-label=Event]').textContent.trim())`))
	want := []string{"Activating: request_received", "Verifying encryption: key_generated", "Verifying encryption: key_accepted",
		"Waiting for services: policy_sent", "Waiting for services: policy_accepted", "Services received: service_books_sent",
		"Activation complete: activation_complete", "Slow sync: slow_sync_started", "Synchronised: slow_sync_complete"}
	if !slices.Equal(events, want) {
		t.Errorf("the device's timeline:\n%q\nwant\n%q", events, want)
	}
}

// choose picks the option of a select by the words it shows, as a person
// does, and tells the page it changed.
func (b *tab) choose(id, label string) {
	b.t.Helper()
	ok := run(b, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		const o = s && Array.from(s.options).find(o => o.textContent.trim() === %q);
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`, id, label)))
	if !ok {
		b.t.Fatalf("on %s, #%s has no option %q", b.location(), id, label)
	}
}

// navigateUnder is navigate to a page whose address the portal chooses,
// such as a new app's: it checks the path starts with prefix and returns it.
func (b *tab) navigateUnder(step chromedp.Action[chromedp.Void], prefix string, wantStatus int) string {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, step)
	if err != nil {
		b.t.Fatalf("loading a page from %s: %v", b.location(), err)
	}
	got := strings.TrimPrefix(res.URL, b.env.URL)
	if !strings.HasPrefix(got, prefix) || len(got) == len(prefix) || int(res.Status) != wantStatus {
		b.t.Fatalf("the browser is at %s with status %d, want a page under %s with %d", got, res.Status, prefix, wantStatus)
	}
	b.fits()
	return got
}

// collapseSpaces is text as a person reads it, with runs of spaces as one.
func collapseSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }
