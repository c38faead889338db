package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"provportal/portal"
)

// formPart is one part of a multipart form; a part with a FileName (even
// an empty one, as a browser sends when no file was chosen) is a file input.
type formPart struct {
	Name     string
	FileName *string
	Content  string
}

func valuePart(name, value string) formPart { return formPart{Name: name, Content: value} }

func filePart(name, fileName, content string) formPart {
	return formPart{Name: name, FileName: &fileName, Content: content}
}

// postMultipart posts parts in the order given, as a browser sends a form
// in document order, with any extra headers.
func (b *browser) postMultipart(path string, header http.Header, parts ...formPart) *page {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		var err error
		var dst interface{ Write([]byte) (int, error) }
		if p.FileName != nil {
			dst, err = w.CreateFormFile(p.Name, *p.FileName)
		} else {
			dst, err = w.CreateFormField(p.Name)
		}
		if err == nil {
			_, err = dst.Write([]byte(p.Content))
		}
		if err != nil {
			b.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.env.URL+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// usernames lists the store's users.
func (e *consoleEnv) usernames() []string {
	e.t.Helper()
	page, err := e.Store.Users(context.Background(), portal.ListOptions{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, u := range page.Items {
		names = append(names, u.Username)
	}
	slices.Sort(names)
	return names
}

const importCSV = "username,email,display_name,groups\n" +
	"alice,alice@example.com,Alice Liddell,Sales\n" +
	"bob,bob@example.com,Bob,\n" +
	"carol,not-an-email,Carol,\n"

func TestImportCreatesGoodRowsAndReportsTheBadOne(t *testing.T) {
	env := newConsole(t)
	sales := portal.Group{Name: "Sales"}
	if err := env.Store.CreateGroup(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &sales); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.signIn("root")
	b.get("/admin/users").want(t, http.StatusOK).wantText(t, `href="/admin/users/import"`)
	form := b.get("/admin/users/import").want(t, http.StatusOK).
		wantText(t, `enctype="multipart/form-data"`, `accept=".csv,text/csv"`, `<label for="f-file">`, `<label for="f-dry_run">`,
			"Check only, change nothing", "display_name", `separated by “;”`)

	p := b.postMultipart("/admin/users/import", nil, valuePart("csrf_token", form.csrf(t)), filePart("file", "people.csv", importCSV)).
		want(t, http.StatusOK)
	p.wantText(t, "Imported people.csv", "2 created, 0 updated, 1 refused.",
		`<tr class="import-refused">`, "carol", "<code>email</code>: Must be a plain e-mail address such as alice@example.com").
		wantNoText(t, "email: must") // the column is shown once, beside the message
	if got, want := env.usernames(), []string{"alice", "bob"}; !slices.Equal(got, want) {
		t.Fatalf("users after the import: %v, want %v", got, want)
	}
	alice, err := env.Store.UserByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(alice.Groups, []string{sales.ID}) || alice.DisplayName != "Alice Liddell" {
		t.Fatalf("alice = %+v, want in Sales and named Alice Liddell", alice)
	}
	wantAudit(t, env, "user", alice.ID, "create", "root")

	// The same file again updates the two users and still refuses carol.
	b.postMultipart("/admin/users/import", nil, valuePart("csrf_token", form.csrf(t)), filePart("file", "people.csv", importCSV)).
		want(t, http.StatusOK).wantText(t, "0 created, 2 updated, 1 refused.")
}

func TestImportDryRunChangesNothing(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	csv := "username,email\nalice,alice@example.com\nbob,bob@\n"
	b.postMultipart("/admin/users/import", nil, valuePart("csrf_token", tok), valuePart("dry_run", "true"), filePart("file", "people.csv", csv)).
		want(t, http.StatusOK).
		wantText(t, "Check of people.csv: nothing was changed", "1 would be created, 0 would be updated, 1 would be refused.",
			"Would be created", "Would be refused", `name="dry_run" value="true" aria-describedby="f-dry_run-hint" checked`)
	if got := env.usernames(); len(got) != 0 {
		t.Fatalf("users after a dry run: %v, want none", got)
	}
}

func TestImportRefusesAWholeFileBesideTheInput(t *testing.T) {
	tests := []struct {
		name string
		file formPart
		want string
	}{
		{"bad_header", filePart("file", "people.csv", "nmae,email\nalice,alice@example.com\n"), `Unknown column "nmae"; the columns are username, email`},
		{"no_username_column", filePart("file", "people.csv", "email\nalice@example.com\n"), "The username column is required"},
		{"empty_file", filePart("file", "people.csv", ""), "The file is empty"},
		{"not_csv", filePart("file", "people.csv", "username,email\n\"alice,a@example.com\n"), "The file is not valid CSV"},
		{"no_file_chosen", filePart("file", "", ""), "Choose the CSV file to import."},
		{"no_file_input", valuePart("other", "x"), "Choose the CSV file to import."},
	}
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.postMultipart("/admin/users/import", nil, valuePart("csrf_token", tok), tt.file).
				want(t, http.StatusUnprocessableEntity).
				wantText(t, `<p class="field-error" id="f-file-error">`+tt.want, `aria-invalid="true"`, `href="#f-file"`).
				wantNoText(t, "Imported ")
			if got := env.usernames(); len(got) != 0 {
				t.Fatalf("users after a refused file: %v, want none", got)
			}
		})
	}
}

func TestImportNeedsItsCSRFToken(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	other := env.browser()
	otherToken := other.signIn("root")
	file := filePart("file", "people.csv", "username\nalice\n")
	tests := []struct {
		name   string
		header http.Header
		parts  []formPart
	}{
		{"missing", nil, []formPart{file}},
		{"empty", nil, []formPart{valuePart("csrf_token", ""), file}},
		{"forged", nil, []formPart{valuePart("csrf_token", "bm90LWEtdG9rZW4"), file}},
		{"another_session", nil, []formPart{valuePart("csrf_token", otherToken), file}},
		{"after_another_field", nil, []formPart{valuePart("dry_run", "true"), valuePart("csrf_token", tok), file}},
		{"after_the_file", nil, []formPart{file, valuePart("csrf_token", tok)}},
		{"forged_header", http.Header{"X-Csrf-Token": {"bm90LWEtdG9rZW4"}}, []formPart{valuePart("csrf_token", tok), file}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.postMultipart("/admin/users/import", tt.header, tt.parts...).
				want(t, http.StatusForbidden).wantText(t, "nothing was changed")
			if got := env.usernames(); len(got) != 0 {
				t.Fatalf("users after a refused import: %v, want none", got)
			}
		})
	}

	// The upload script sends the token in a header instead.
	b.postMultipart("/admin/users/import", http.Header{"X-Csrf-Token": {tok}}, file).
		want(t, http.StatusOK).wantText(t, "1 created")
	if got := env.usernames(); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("users after the import: %v, want [alice]", got)
	}
}

// TestOrdinaryFormsRefuseMultipart: a form that takes no file must not be
// reachable by sending it as multipart, where checkCSRF does not look.
func TestOrdinaryFormsRefuseMultipart(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	tok := b.signIn("root")
	for name, header := range map[string]http.Header{"token_in_form": nil, "token_in_header": {"X-Csrf-Token": {tok}}} {
		t.Run(name, func(t *testing.T) {
			b.postMultipart("/admin/groups", header, valuePart("csrf_token", tok), valuePart("name", "Sales")).
				want(t, http.StatusUnsupportedMediaType).wantText(t, "does not take files, so nothing was changed")
			if n := env.countGroups(); n != 0 {
				t.Fatalf("%d groups after a multipart POST, want 0", n)
			}
		})
	}
	// The same form, URL-encoded, is taken.
	b.post("/admin/groups", url.Values{"csrf_token": {tok}, "name": {"Sales"}}).wantRedirect(t, "/admin/groups")
}

func TestHelpdeskCannotImportOrUpload(t *testing.T) {
	env := newConsole(t)
	app := portal.App{Name: "Mail", Version: "1.0.0"}
	if err := env.Store.CreateApp(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &app); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	tok := b.signIn("help")
	b.get("/admin/users").want(t, http.StatusOK).wantNoText(t, `href="/admin/users/import"`)
	b.get("/admin/users/import").want(t, http.StatusForbidden).wantText(t, "Not allowed")
	b.postMultipart("/admin/users/import", nil, valuePart("csrf_token", tok), filePart("file", "people.csv", "username\nalice\n")).
		want(t, http.StatusForbidden)
	if got := env.usernames(); len(got) != 0 {
		t.Fatalf("users after the helpdesk's import: %v, want none", got)
	}

	b.get("/admin/apps/"+app.ID).want(t, http.StatusOK).wantText(t, "Mail", "No files yet").
		wantNoText(t, "Upload a file", "upload.js", `href="/admin/apps/`+app.ID+`/edit"`)
	b.get("/admin/apps/new").want(t, http.StatusForbidden)
	b.postMultipart("/admin/apps/"+app.ID+"/artifacts", nil, valuePart("csrf_token", tok), valuePart("platform", "linux-amd64"),
		filePart("file", "mail.tar.gz", "bytes")).want(t, http.StatusForbidden)
	b.postMultipart("/admin/apps/"+app.ID+"/artifacts", http.Header{"X-Csrf-Token": {tok}, "Accept": {"application/json"}},
		valuePart("platform", "linux-amd64"), filePart("file", "mail.tar.gz", "bytes")).want(t, http.StatusForbidden)
	got, err := env.Store.App(context.Background(), app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Artifacts) != 0 {
		t.Fatalf("artifacts after the helpdesk's upload: %+v, want none", got.Artifacts)
	}
}
