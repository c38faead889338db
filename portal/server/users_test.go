package server

import (
	"net/http"
	"strings"
	"testing"

	"provportal/portal"
	"provportal/portal/gormstore"
)

func TestUsersAPI(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		g := e.as("POST", "/api/v1/groups", map[string]string{"name": "field-sales"}).want(http.StatusCreated).id()

		alice := map[string]any{"username": "alice", "email": "alice@example.com", "phone": "+1 (415) 555-0132",
			"display_name": "Alice Example", "password": "Alice-pass-1234", "groups": []string{g}}
		res := e.as("POST", "/api/v1/users", alice).want(http.StatusCreated)
		var u portal.User
		res.decode(&u)
		if u.Phone != "+14155550132" || !u.HasPassword || len(u.Groups) != 1 || u.Groups[0] != g {
			t.Errorf("created user = %+v, want E.164 phone, has_password, group %s", u, g)
		}
		if strings.Contains(string(res.Body), "Alice-pass-1234") || strings.Contains(string(res.Body), "argon2") {
			t.Errorf("user response reveals the password or its hash: %s", res.Body)
		}

		t.Run("duplicate_username_any_case", func(t *testing.T) {
			dup := map[string]any{"username": "ALICE", "email": "other@example.com"}
			if f := e.as("POST", "/api/v1/users", dup).wantError(http.StatusConflict, portal.CodeConflict).field(); f != "username" {
				t.Errorf("conflict field = %q, want username", f)
			}
		})
		t.Run("duplicate_email", func(t *testing.T) {
			dup := map[string]any{"username": "alice2", "email": "Alice@Example.com"}
			e.as("POST", "/api/v1/users", dup).wantError(http.StatusConflict, portal.CodeConflict)
		})

		bad := []struct {
			name, body string
			status     int
			code       portal.Code
			field      string
		}{
			{"malformed_json", `{"username":`, 400, portal.CodeMalformed, ""},
			{"empty_body", ``, 400, portal.CodeMalformed, ""},
			{"two_values", `{"username":"x"}{"username":"y"}`, 400, portal.CodeMalformed, ""},
			{"not_an_object", `["alice"]`, 400, portal.CodeMalformed, ""},
			{"missing_username", `{"email":"bob@example.com"}`, 422, portal.CodeInvalid, "username"},
			{"bad_username", `{"username":"../etc"}`, 422, portal.CodeInvalid, "username"},
			{"bad_email", `{"username":"bob","email":"not-an-email"}`, 422, portal.CodeInvalid, "email"},
			{"email_with_name", `{"username":"bob","email":"Bob <bob@example.com>"}`, 422, portal.CodeInvalid, "email"},
			{"short_phone", `{"username":"bob","phone":"12"}`, 422, portal.CodeInvalid, "phone"},
			{"short_password", `{"username":"bob","password":"short"}`, 422, portal.CodeInvalid, "password"},
			{"wrong_type", `{"username":42}`, 422, portal.CodeInvalid, "username"},
			{"unknown_field", `{"username":"bob","is_root":true}`, 422, portal.CodeInvalid, "is_root"},
			{"unknown_group", `{"username":"bob","groups":["no-such-group"]}`, 422, portal.CodeInvalid, "groups"},
			{"control_chars_in_name", `{"username":"bob","display_name":"Bob\u0007"}`, 422, portal.CodeInvalid, "display_name"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				before := e.count("/api/v1/audit")
				res := e.call("POST", "/api/v1/users", e.Token, tt.body).wantError(tt.status, tt.code)
				if f := res.field(); f != tt.field {
					t.Errorf("field = %q, want %q", f, tt.field)
				}
				if n := e.count("/api/v1/users"); n != 1 {
					t.Errorf("users after refused request = %d, want 1", n)
				}
				if n := e.count("/api/v1/audit"); n != before {
					t.Errorf("audit entries after refused request = %d, want %d", n, before)
				}
			})
		}

		t.Run("form_body_is_415", func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+"/api/v1/users", strings.NewReader("username=bob"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+e.Token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("status %d, want 415", res.StatusCode)
			}
		})

		t.Run("body_over_limit_is_413", func(t *testing.T) {
			huge := `{"username":"bob","display_name":"` + strings.Repeat("x", 2<<20) + `"}`
			e.call("POST", "/api/v1/users", e.Token, huge).wantError(http.StatusRequestEntityTooLarge, portal.CodeTooLarge)
		})

		t.Run("patch_changes_only_given_fields", func(t *testing.T) {
			var got portal.User
			e.as("PATCH", "/api/v1/users/"+u.ID, map[string]any{"email": "alice@corp.example.com", "groups": []string{}}).
				want(http.StatusOK).decode(&got)
			if got.Email != "alice@corp.example.com" || got.Phone != "+14155550132" || got.DisplayName != "Alice Example" || len(got.Groups) != 0 || !got.HasPassword {
				t.Errorf("after patch = %+v", got)
			}
		})

		t.Run("refused_patch_changes_nothing", func(t *testing.T) {
			e.as("POST", "/api/v1/users", map[string]any{"username": "carol"}).want(http.StatusCreated)
			e.as("PATCH", "/api/v1/users/"+u.ID, map[string]any{"username": "carol", "display_name": "Changed"}).
				wantError(http.StatusConflict, portal.CodeConflict)
			var got portal.User
			e.as("GET", "/api/v1/users/"+u.ID, nil).want(http.StatusOK).decode(&got)
			if got.Username != "alice" || got.DisplayName != "Alice Example" {
				t.Errorf("user after refused patch = %+v, want unchanged", got)
			}
		})

		t.Run("list_pages_and_filters", func(t *testing.T) {
			for _, n := range []string{"dave", "erin", "frank"} {
				e.as("POST", "/api/v1/users", map[string]any{"username": n}).want(http.StatusCreated)
			}
			var page portal.Page[portal.User]
			e.as("GET", "/api/v1/users?limit=2&offset=1", nil).want(http.StatusOK).decode(&page)
			if page.Total != 5 || len(page.Items) != 2 || page.Items[0].Username != "carol" {
				t.Errorf("page = total %d, %d items, first %q; want 5, 2, carol", page.Total, len(page.Items), page.Items[0].Username)
			}
			e.as("GET", "/api/v1/users?name=RI", nil).want(http.StatusOK).decode(&page)
			if page.Total != 1 || page.Items[0].Username != "erin" {
				t.Errorf("name=RI matched %d users, want erin only", page.Total)
			}
			e.as("GET", "/api/v1/users?limit=-1", nil).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
			e.as("GET", "/api/v1/users?offset=abc", nil).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		})

		t.Run("delete_then_gone", func(t *testing.T) {
			e.as("DELETE", "/api/v1/users/"+u.ID, nil).want(http.StatusNoContent)
			e.as("GET", "/api/v1/users/"+u.ID, nil).wantError(http.StatusNotFound, portal.CodeNotFound)
			e.as("DELETE", "/api/v1/users/"+u.ID, nil).wantError(http.StatusNotFound, portal.CodeNotFound)
			e.as("PATCH", "/api/v1/users/"+u.ID, map[string]any{"display_name": "x"}).wantError(http.StatusNotFound, portal.CodeNotFound)
		})
	})
}
