package server

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"provportal/portal"
	"provportal/portal/gormstore"
)

// importReport is the answer of POST /api/v1/users/import.
type importReport struct {
	Created, Updated, Refused int
	Rows                      []importRow
}

type importRow struct {
	Row      int
	Username string
	Result   string
	Field    string
	Message  string
}

// importCSV posts body as text/csv to /api/v1/users/import with query (e.g. "?dry_run=true").
func (e *portalEnv) importCSV(token, query, body string) *response {
	e.t.Helper()
	return e.send(token, "/api/v1/users/import"+query, "text/csv; charset=utf-8", body)
}

func (e *portalEnv) send(token, path, contentType, body string) *response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{t: e.t, what: "POST " + path, Status: res.StatusCode, Header: res.Header, Body: raw}
}

// storedUsers returns every stored user by username.
func storedUsers(t *testing.T, st *gormstore.Store) map[string]portal.User {
	t.Helper()
	page, err := st.Users(context.Background(), portal.ListOptions{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]portal.User{}
	for _, u := range page.Items {
		users[u.Username] = u
	}
	return users
}

// checkReport compares a report's rows with want, Message only by a substring.
func checkReport(t *testing.T, got importReport, want []importRow) {
	t.Helper()
	var created, updated, refused int
	for _, r := range want {
		switch r.Result {
		case "created":
			created++
		case "updated":
			updated++
		case "refused":
			refused++
		}
	}
	if got.Created != created || got.Updated != updated || got.Refused != refused {
		t.Errorf("counts = %d created, %d updated, %d refused; want %d, %d, %d",
			got.Created, got.Updated, got.Refused, created, updated, refused)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("rows = %+v, want %d rows", got.Rows, len(want))
	}
	for i, w := range want {
		g := got.Rows[i]
		if g.Row != w.Row || g.Username != w.Username || g.Result != w.Result || g.Field != w.Field {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
		if w.Result == "refused" && (g.Message == "" || !strings.Contains(g.Message, w.Message)) {
			t.Errorf("row %d message = %q, want one containing %q", g.Row, g.Message, w.Message)
		}
		if w.Result != "refused" && g.Message != "" {
			t.Errorf("row %d is %s but has message %q", g.Row, g.Result, g.Message)
		}
	}
}

// checkReportSchema checks the report against the schema the portal publishes.
func checkReportSchema(t *testing.T, e *portalEnv, body []byte) {
	t.Helper()
	raw := e.call("GET", "/api/v1/openapi.json", "", nil).want(http.StatusOK).Body
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Components.Schemas["UserImportReport"]
	if ref == nil || ref.Value == nil {
		t.Fatal("openapi.json has no UserImportReport schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("report %s does not match schema UserImportReport: %v", body, err)
	}
}

func TestImportUsers(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		sales := e.as("POST", "/api/v1/groups", map[string]string{"name": "field-sales"}).want(http.StatusCreated).id()
		managers := e.as("POST", "/api/v1/groups", map[string]string{"name": "Managers"}).want(http.StatusCreated).id()
		e.as("POST", "/api/v1/users", map[string]any{"username": "dave", "email": "dave@example.com",
			"phone": "+14155550100", "display_name": "Dave Old", "groups": []string{sales}}).want(http.StatusCreated)
		auditBefore := e.count("/api/v1/audit")

		// Columns in an unusual order; cells quoted where they hold commas.
		csv := "display_name,username,groups,email,phone,password\n" +
			"Alice Example,alice,field-sales; managers,alice@example.com,+1 (415) 555-0132,Alice-pass-1234\n" +
			"\"Builder, Bob\",bob,,bob@example.com,,\n" +
			"Carol,carol,,not-an-email,,\n" +
			"Erin,erin,field-sales;no-such-group,erin@example.com,,\n" +
			"Alice Again,ALICE,,alice2@example.com,,\n" +
			",DAVE,Managers,dave@new.example.com,,\n" +
			"Frank,frank,,alice@example.com,,\n"
		res := e.importCSV(e.Token, "", csv).want(http.StatusOK)
		var rep importReport
		res.decode(&rep)
		checkReport(t, rep, []importRow{
			{Row: 2, Username: "alice", Result: "created"},
			{Row: 3, Username: "bob", Result: "created"},
			{Row: 4, Username: "carol", Result: "refused", Field: "email", Message: "e-mail"},
			{Row: 5, Username: "erin", Result: "refused", Field: "groups", Message: "no-such-group"},
			{Row: 6, Username: "ALICE", Result: "refused", Field: "username", Message: "row 2"},
			{Row: 7, Username: "DAVE", Result: "updated"},
			{Row: 8, Username: "frank", Result: "refused", Field: "email", Message: "alice@example.com"},
		})
		checkReportSchema(t, e, res.Body)
		if strings.Contains(string(res.Body), "Alice-pass-1234") || strings.Contains(string(res.Body), "argon2") {
			t.Errorf("report reveals a password or its hash: %s", res.Body)
		}

		users := storedUsers(t, e.Store)
		if len(users) != 3 {
			t.Errorf("stored users = %v, want alice, bob and dave only (refused rows store nothing)", slices.Sorted(maps.Keys(users)))
		}
		wantGroups := []string{sales, managers}
		slices.Sort(wantGroups)
		alice := users["alice"]
		if alice.Email != "alice@example.com" || alice.Phone != "+14155550132" || alice.DisplayName != "Alice Example" ||
			!alice.HasPassword || !slices.Equal(alice.Groups, wantGroups) {
			t.Errorf("alice = %+v, want her e-mail, E.164 phone, display name, a password and groups %v", alice, wantGroups)
		}
		if bob := users["bob"]; bob.DisplayName != "Builder, Bob" || bob.HasPassword || len(bob.Groups) != 0 {
			t.Errorf("bob = %+v, want display name %q, no password, no groups", bob, "Builder, Bob")
		}
		// DAVE found dave, whose username stays; only the non-empty cells
		// changed him, and his groups were replaced.
		dave := users["dave"]
		if dave.Email != "dave@new.example.com" || dave.DisplayName != "Dave Old" || dave.Phone != "+14155550100" ||
			!slices.Equal(dave.Groups, []string{managers}) {
			t.Errorf("dave = %+v, want new e-mail, old display name and phone, groups [%s]", dave, managers)
		}
		if n := e.count("/api/v1/audit"); n != auditBefore+3 {
			t.Errorf("audit entries = %d, want %d: two creations and one update", n, auditBefore+3)
		}

		t.Run("same_file_again_updates", func(t *testing.T) {
			var again importReport
			e.importCSV(e.Token, "", "username,email\nalice,alice@example.com\nbob,\n").want(http.StatusOK).decode(&again)
			checkReport(t, again, []importRow{
				{Row: 2, Username: "alice", Result: "updated"},
				{Row: 3, Username: "bob", Result: "updated"},
			})
			if n := len(storedUsers(t, e.Store)); n != 3 {
				t.Errorf("stored users = %d, want 3", n)
			}
		})
	})
}

func TestImportUsersDryRun(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		e.as("POST", "/api/v1/users", map[string]any{"username": "dave", "email": "dave@example.com"}).want(http.StatusCreated)
		before := storedUsers(t, e.Store)
		auditBefore := e.count("/api/v1/audit")

		csv := "username,email,password\nalice,alice@example.com,Alice-pass-1234\ndave,dave@new.example.com,\nbob,bob@example.com,short\n"
		var rep importReport
		e.importCSV(e.Token, "?dry_run=true", csv).want(http.StatusOK).decode(&rep)
		checkReport(t, rep, []importRow{
			{Row: 2, Username: "alice", Result: "created"},
			{Row: 3, Username: "dave", Result: "updated"},
			{Row: 4, Username: "bob", Result: "refused", Field: "password", Message: "8"},
		})
		after := storedUsers(t, e.Store)
		if len(after) != 1 || after["dave"].Email != "dave@example.com" || !after["dave"].UpdatedAt.Equal(before["dave"].UpdatedAt) {
			t.Errorf("after a dry run users = %+v, want dave alone and unchanged", after)
		}
		if n := e.count("/api/v1/audit"); n != auditBefore {
			t.Errorf("audit entries after a dry run = %d, want %d", n, auditBefore)
		}
	})
}

func TestImportUsersHelpdeskForbidden(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		e.addAdmin("helen", portal.RoleHelpdesk)
		token := e.login("helen", adminPassword)
		e.importCSV(token, "", "username\nalice\n").wantError(http.StatusForbidden, portal.CodeForbidden)
		e.importCSV(token, "?dry_run=true", "username\nalice\n").wantError(http.StatusForbidden, portal.CodeForbidden)
		if n := len(storedUsers(t, e.Store)); n != 0 {
			t.Errorf("stored users after a refused import = %d, want 0", n)
		}
	})
}

// TestImportUsersRefusedFile covers files refused whole: nothing is written,
// not even their good rows.
func TestImportUsersRefusedFile(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		tooManyRows := "username\n" + strings.Repeat("alice\n", 10001)
		tooLarge := "username,display_name\nalice,\"" + strings.Repeat("x", 10<<20) + "\"\n"
		cases := []struct {
			name, query, ctype, body string
			status                   int
			code                     portal.Code
			field                    string
			message                  []string
		}{
			{"unknown_column", "", "text/csv", "username,emial,shoe_size\nalice,alice@example.com,9\n",
				422, portal.CodeInvalid, "header", []string{"emial", "shoe_size"}},
			{"no_username_column", "", "text/csv", "email\nalice@example.com\n", 422, portal.CodeInvalid, "header", []string{"username"}},
			{"repeated_column", "", "text/csv", "username,Email,email\nalice,a@example.com,b@example.com\n",
				422, portal.CodeInvalid, "header", []string{"email"}},
			{"bare_quote", "", "text/csv", "username,email\nbob,bob@example.com\nalice,al\"ice@example.com\n",
				400, portal.CodeMalformed, "", []string{"line 3"}},
			{"unclosed_quote", "", "text/csv", "username,email\nbob,bob@example.com\n\"alice,alice@example.com\n",
				400, portal.CodeMalformed, "", []string{"line 3"}},
			{"wrong_field_count", "", "text/csv", "username,email\nbob,bob@example.com\nalice\n",
				400, portal.CodeMalformed, "", []string{"line 3"}},
			{"empty_file", "", "text/csv", "", 400, portal.CodeMalformed, "", nil},
			{"too_many_rows", "", "text/csv", tooManyRows, 422, portal.CodeInvalid, "body", []string{"10000"}},
			{"too_large", "", "text/csv", tooLarge, 413, portal.CodeTooLarge, "", []string{"10 MiB"}},
			{"not_csv", "", "application/json", `{"username":"alice"}`, 415, portal.CodeUnsupportedMedia, "", nil},
			{"bad_dry_run", "?dry_run=maybe", "text/csv", "username\nalice\n", 422, portal.CodeInvalid, "dry_run", nil},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				auditBefore := e.count("/api/v1/audit")
				res := e.send(e.Token, "/api/v1/users/import"+tt.query, tt.ctype, tt.body).wantError(tt.status, tt.code)
				var body struct {
					Error struct{ Field, Message string }
				}
				res.decode(&body)
				if body.Error.Field != tt.field {
					t.Errorf("field = %q, want %q", body.Error.Field, tt.field)
				}
				for _, m := range tt.message {
					if !strings.Contains(body.Error.Message, m) {
						t.Errorf("message = %q, want it to name %q", body.Error.Message, m)
					}
				}
				if n := len(storedUsers(t, e.Store)); n != 0 {
					t.Errorf("stored users after a refused file = %d, want 0", n)
				}
				if n := e.count("/api/v1/audit"); n != auditBefore {
					t.Errorf("audit entries after a refused file = %d, want %d", n, auditBefore)
				}
			})
		}
	})
}

// TestImportUsersBOM reads a file as spreadsheets save it: a UTF-8 byte order
// mark, CRLF line ends, quoted fields with commas and doubled quotes.
func TestImportUsersBOM(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		csv := "\uFEFFUsername,Display_Name,Email\r\n" +
			"alice,\"Example, Alice\",alice@example.com\r\n" +
			"\"bob\",\"Bob \"\"the builder\"\"\",\r\n"
		var rep importReport
		e.importCSV(e.Token, "", csv).want(http.StatusOK).decode(&rep)
		checkReport(t, rep, []importRow{
			{Row: 2, Username: "alice", Result: "created"},
			{Row: 3, Username: "bob", Result: "created"},
		})
		users := storedUsers(t, e.Store)
		if u := users["alice"]; u.DisplayName != "Example, Alice" || u.Email != "alice@example.com" {
			t.Errorf("alice = %+v, want display name %q and her e-mail", u, "Example, Alice")
		}
		if u := users["bob"]; u.DisplayName != `Bob "the builder"` || u.Email != "" {
			t.Errorf("bob = %+v, want display name %q and no e-mail", u, `Bob "the builder"`)
		}
	})
}
