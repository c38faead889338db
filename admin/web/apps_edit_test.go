package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"provportal/portal"
)

// onlyApp is the store's one app.
func (e *consoleEnv) onlyApp() portal.App {
	e.t.Helper()
	page, err := e.Store.Apps(context.Background(), portal.ListOptions{Limit: 10})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(page.Items) != 1 {
		e.t.Fatalf("%d apps, want 1: %+v", len(page.Items), page.Items)
	}
	return page.Items[0]
}

// addApp creates an app straight in the store.
func (e *consoleEnv) addApp(name string) portal.App {
	e.t.Helper()
	app := portal.App{Name: name, Version: "1.0.0"}
	if err := e.Store.CreateApp(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &app); err != nil {
		e.t.Fatal(err)
	}
	return app
}

// artifactBytes are a file's bytes that compress badly, as real apps do.
func artifactBytes(n int) string {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return string(b)
}

func TestAppCreateUploadAndSeeItsHash(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	b.get("/admin/apps").want(t, http.StatusOK).wantText(t, "No apps yet", `href="/admin/apps/new"`)
	b.get("/admin/apps/new").want(t, http.StatusOK).
		wantText(t, `<label for="f-name">`, `<label for="f-version">`, `<label for="f-description">`)

	b.post("/admin/apps", url.Values{"csrf_token": {tok}, "name": {"Mail"}, "version": {"2.4.1"}, "description": {"The mail client"}}).
		want(t, http.StatusSeeOther)
	app := env.onlyApp()
	wantAudit(t, env, "app", app.ID, "create", "root")
	page := b.get("/admin/apps/"+app.ID).want(t, http.StatusOK).
		wantText(t, "App Mail was added.", "<h1>Mail</h1>", "2.4.1", "The mail client", "No files yet",
			`enctype="multipart/form-data"`, `<label for="f-platform">`, `<label for="f-file">`, "<progress", `aria-live="polite"`,
			`<script src="/admin/static/`, `/upload.js" defer></script>`)
	for _, p := range portal.Platforms {
		page.wantText(t, `<option value="`+string(p)+`"`)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son[a-z]+="`).MatchString(page.Body) {
		t.Fatalf("the page has an inline script or event handler, which its CSP refuses:\n%s", page.Body)
	}

	content := artifactBytes(300 << 10)
	sum := sha256.Sum256([]byte(content))
	sha := hex.EncodeToString(sum[:])
	b.postMultipart("/admin/apps/"+app.ID+"/artifacts", nil, valuePart("csrf_token", tok), valuePart("platform", "linux-arm64"),
		filePart("file", "mail-2.4.1.tar.gz", content)).wantRedirect(t, "/admin/apps/"+app.ID)
	b.get("/admin/apps/"+app.ID).want(t, http.StatusOK).
		wantText(t, "mail-2.4.1.tar.gz (300 KiB) was uploaded for linux-arm64.", "linux-arm64", "mail-2.4.1.tar.gz", "300 KiB",
			`<code class="sha">`+sha+`</code>`, "(replaces mail-2.4.1.tar.gz)").
		wantNoText(t, "No files yet")
	blob, err := env.Blobs.Stat(sha)
	if err != nil || blob.Size != int64(len(content)) {
		t.Fatalf("blob %s: %+v, %v; want %d bytes", sha, blob, err, len(content))
	}
	stored := env.onlyApp()
	if len(stored.Artifacts) != 1 || stored.Artifacts[0].SHA256 != sha || stored.Artifacts[0].Filename != "mail-2.4.1.tar.gz" {
		t.Fatalf("artifacts: %+v, want the linux-arm64 file with sha256 %s", stored.Artifacts, sha)
	}
	wantAudit(t, env, "app", app.ID, "put_artifact", "root")
	b.get("/admin/apps").want(t, http.StatusOK).wantText(t, `<a href="/admin/apps/`+app.ID+`">Mail</a>`, "300 KiB", sha)
}

func TestUploadScriptGetsJSONAnswers(t *testing.T) {
	env := newConsole(t)
	app := env.addApp("Mail")
	b := env.browser()
	tok := b.signIn("root")
	script := http.Header{"X-Csrf-Token": {tok}, "Accept": {"application/json"}}
	content := artifactBytes(1000)

	p := b.postMultipart("/admin/apps/"+app.ID+"/artifacts", script, valuePart("csrf_token", tok), valuePart("platform", "windows-amd64"),
		filePart("file", "mail.msi", content)).want(t, http.StatusOK)
	var ok uploadAnswer
	if err := json.Unmarshal([]byte(p.Body), &ok); err != nil || ok.Location != "/admin/apps/"+app.ID {
		t.Fatalf("answer %q (%v), want the app's page as location", p.Body, err)
	}

	p = b.postMultipart("/admin/apps/"+app.ID+"/artifacts", script, valuePart("platform", "beos-m68k"),
		filePart("file", "mail.msi", content)).want(t, http.StatusOK)
	var refused uploadAnswer
	if err := json.Unmarshal([]byte(p.Body), &refused); err != nil || refused.Location != "" ||
		refused.Field != "platform" || !strings.Contains(refused.Message, "is not a platform") {
		t.Fatalf("answer %q (%v), want the API's refusal of the platform", p.Body, err)
	}
	if got := env.onlyApp().Artifacts; len(got) != 1 || got[0].Platform != "windows-amd64" {
		t.Fatalf("artifacts: %+v, want only windows-amd64", got)
	}
}

func TestUploadRefusalsShowBesideTheInput(t *testing.T) {
	env := newConsole(t)
	app := env.addApp("Mail")
	b := env.browser()
	tok := b.signIn("root")
	tests := []struct {
		name     string
		platform string
		file     formPart
		input    string
		want     string
	}{
		{"unknown_platform", "beos-m68k", filePart("file", "mail.bin", "bytes"), "platform", `"beos-m68k" is not a platform; use one of linux-amd64`},
		{"no_platform", "", filePart("file", "mail.bin", "bytes"), "platform", "Choose the platform this file is for."},
		{"bad_file_name", "linux-amd64", filePart("file", "..", "bytes"), "file", "Is not a usable file name."},
		{"empty_file", "linux-amd64", filePart("file", "mail.bin", ""), "file", "The artifact is empty."},
		{"no_file_chosen", "linux-amd64", filePart("file", "", ""), "file", "Choose the file to upload."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.postMultipart("/admin/apps/"+app.ID+"/artifacts", nil, valuePart("csrf_token", tok), valuePart("platform", tt.platform), tt.file).
				want(t, http.StatusUnprocessableEntity).
				wantText(t, `<p class="field-error" id="f-`+tt.input+`-error">`+tt.want, `href="#f-`+tt.input+`"`, "<h1>Mail</h1>")
			if got := env.onlyApp().Artifacts; len(got) != 0 {
				t.Fatalf("artifacts after a refused upload: %+v, want none", got)
			}
		})
	}
	b.postMultipart("/admin/apps/nope/artifacts", nil, valuePart("csrf_token", tok), valuePart("platform", "linux-amd64"),
		filePart("file", "mail.bin", "bytes")).want(t, http.StatusNotFound)
	b.postMultipart("/admin/apps/"+app.ID+"/artifacts", nil, valuePart("platform", "linux-amd64"), filePart("file", "mail.bin", "bytes")).
		want(t, http.StatusForbidden)
	if got := env.onlyApp().Artifacts; len(got) != 0 {
		t.Fatalf("artifacts after refused uploads: %+v, want none", got)
	}
}

func TestAppFormKeepsWhatWasTyped(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	b.post("/admin/apps", url.Values{"csrf_token": {tok}, "name": {"CON"}, "version": {"3.1"}, "description": {"Console tools"}}).
		want(t, http.StatusUnprocessableEntity).
		wantText(t, `"CON" is a name Windows reserves for a device; choose another`, `id="f-name-error"`, `href="#f-name"`,
			`value="CON"`, `value="3.1"`, "Console tools")
	b.post("/admin/apps", url.Values{"csrf_token": {tok}, "name": {"Mail"}, "version": {""}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, "Must be 1 to 64 letters, digits or . + _ -", `id="f-version-error"`, `value="Mail"`)
	page, err := env.Store.Apps(context.Background(), portal.ListOptions{})
	if err != nil || page.Total != 0 {
		t.Fatalf("apps after refused forms: %+v, %v; want none", page.Items, err)
	}
	env.addApp("Notes")
	b.post("/admin/apps", url.Values{"csrf_token": {tok}, "name": {"notes"}, "version": {"1.0"}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, "An app named notes already exists", `id="f-name-error"`, `value="notes"`)
}

func TestAppEditAndDelete(t *testing.T) {
	env := newConsole(t)
	app := env.addApp("Mail")
	b := env.browser()
	tok := b.signIn("root")
	b.postMultipart("/admin/apps/"+app.ID+"/artifacts", nil, valuePart("csrf_token", tok), valuePart("platform", "linux-amd64"),
		filePart("file", "mail.bin", "bytes")).wantRedirect(t, "/admin/apps/"+app.ID)

	b.get("/admin/apps/"+app.ID+"/edit").want(t, http.StatusOK).wantText(t, "Edit Mail", `value="Mail"`, `value="1.0.0"`)
	b.post("/admin/apps/"+app.ID, url.Values{"csrf_token": {tok}, "name": {"Mail"}, "version": {"1.0 beta"}, "description": {""}}).
		want(t, http.StatusUnprocessableEntity).wantText(t, `id="f-version-error"`, `value="1.0 beta"`)
	b.post("/admin/apps/"+app.ID, url.Values{"csrf_token": {tok}, "name": {"Mail Pro"}, "version": {"1.1.0"}, "description": {"Now with folders"}}).
		wantRedirect(t, "/admin/apps/"+app.ID)
	b.get("/admin/apps/"+app.ID).want(t, http.StatusOK).wantText(t, "App Mail Pro was saved.", "1.1.0", "Now with folders")
	wantAudit(t, env, "app", app.ID, "update", "root")

	b.get("/admin/apps/"+app.ID+"/artifacts/linux-amd64/delete").want(t, http.StatusOK).
		wantText(t, "Delete the file mail.bin (linux-amd64)?", "linux-amd64 devices can no longer install Mail Pro")
	b.get("/admin/apps/"+app.ID+"/artifacts/linux-arm64/delete").want(t, http.StatusNotFound)
	b.post("/admin/apps/"+app.ID+"/artifacts/linux-amd64/delete", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/apps/"+app.ID)
	b.get("/admin/apps/"+app.ID).want(t, http.StatusOK).wantText(t, "The file mail.bin (linux-amd64) was deleted.", "No files yet")
	if got := env.onlyApp().Artifacts; len(got) != 0 {
		t.Fatalf("artifacts after delete: %+v, want none", got)
	}

	b.get("/admin/apps/"+app.ID+"/delete").want(t, http.StatusOK).wantText(t, "Delete the app Mail Pro?", "This cannot be undone.")
	b.post("/admin/apps/"+app.ID+"/delete", url.Values{}).want(t, http.StatusForbidden)
	b.post("/admin/apps/"+app.ID+"/delete", url.Values{"csrf_token": {tok}}).wantRedirect(t, "/admin/apps")
	b.get("/admin/apps").want(t, http.StatusOK).wantText(t, "App Mail Pro was deleted.", "No apps yet")
	b.get("/admin/apps/"+app.ID).want(t, http.StatusNotFound)
	wantAudit(t, env, "app", app.ID, "delete", "root")
}

func TestUploadScriptIsServed(t *testing.T) {
	env := newConsole(t)
	src, err := env.Console.assets.url("upload.js")
	if err != nil {
		t.Fatal(err)
	}
	p := env.browser().get(src).want(t, http.StatusOK).wantText(t, "X-CSRF-Token", "form[data-upload]")
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("Content-Type %q, want text/javascript", ct)
	}
}
