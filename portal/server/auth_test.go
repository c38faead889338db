package server

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/gormstore"
)

func TestAuthentication(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		key, err := e.Store.Secret(context.Background(), auth.SigningKeyName, auth.NewSigningKey)
		if err != nil {
			t.Fatal(err)
		}
		forge := func(key any, method jwt.SigningMethod, claims jwt.MapClaims) string {
			tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		me := e.as("GET", "/api/v1/auth/me", nil).want(http.StatusOK)
		var root portal.Admin
		me.decode(&root)
		valid := jwt.MapClaims{"iss": "provportal", "aud": "admin-api", "sub": root.ID, "role": "admin",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		expired := jwt.MapClaims{"iss": "provportal", "aud": "admin-api", "sub": root.ID, "role": "admin",
			"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}
		noExpiry := jwt.MapClaims{"iss": "provportal", "aud": "admin-api", "sub": root.ID, "role": "admin"}

		tests := []struct {
			name, header string
			want         int
		}{
			{"no_header", "", http.StatusUnauthorized},
			{"not_bearer", "Basic cm9vdDpwYXNz", http.StatusUnauthorized},
			{"garbage", "Bearer not.a.token", http.StatusUnauthorized},
			{"forged_with_our_key_is_accepted", "Bearer " + forge(key, jwt.SigningMethodHS256, valid), http.StatusOK},
			{"other_key", "Bearer " + forge([]byte("0123456789abcdef0123456789abcdef"), jwt.SigningMethodHS256, valid), http.StatusUnauthorized},
			{"expired", "Bearer " + forge(key, jwt.SigningMethodHS256, expired), http.StatusUnauthorized},
			{"no_expiry", "Bearer " + forge(key, jwt.SigningMethodHS256, noExpiry), http.StatusUnauthorized},
			{"other_algorithm", "Bearer " + forge(key, jwt.SigningMethodHS512, valid), http.StatusUnauthorized},
			{"alg_none", "Bearer " + forge(jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, valid), http.StatusUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", e.URL+"/api/v1/users", nil)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tt.want {
					t.Errorf("status %d, want %d", res.StatusCode, tt.want)
				}
			})
		}

		t.Run("wrong_password", func(t *testing.T) {
			e.call("POST", "/api/v1/auth/login", "", map[string]string{"username": "root", "password": "nope-nope"}).
				wantError(http.StatusUnauthorized, portal.CodeBadCredentials)
		})
		t.Run("unknown_account_same_answer", func(t *testing.T) {
			e.call("POST", "/api/v1/auth/login", "", map[string]string{"username": "ghost", "password": "nope-nope"}).
				wantError(http.StatusUnauthorized, portal.CodeBadCredentials)
		})
		t.Run("deleted_admin_token_dies", func(t *testing.T) {
			other := e.addAdmin("temp", portal.RoleAdmin)
			tok := e.login("temp", adminPassword)
			e.call("GET", "/api/v1/users", tok, nil).want(http.StatusOK)
			e.as("DELETE", "/api/v1/admins/"+other.ID, nil).want(http.StatusNoContent)
			e.call("GET", "/api/v1/users", tok, nil).wantError(http.StatusUnauthorized, portal.CodeUnauthenticated)
		})
		t.Run("cannot_delete_self", func(t *testing.T) {
			e.as("DELETE", "/api/v1/admins/"+root.ID, nil).wantError(http.StatusConflict, portal.CodeConflict)
		})
	})
}

func TestHelpdeskRole(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		uid := e.as("POST", "/api/v1/users", map[string]any{"username": "alice"}).want(http.StatusCreated).id()
		e.addAdmin("helen", portal.RoleHelpdesk)
		tok := e.login("helen", adminPassword)

		for _, path := range []string{"/api/v1/users", "/api/v1/users/" + uid, "/api/v1/groups", "/api/v1/apps", "/api/v1/policies", "/api/v1/assignments", "/api/v1/devices", "/api/v1/audit", "/api/v1/admins"} {
			e.call("GET", path, tok, nil).want(http.StatusOK)
		}
		writes := []struct{ method, path, body string }{
			{"POST", "/api/v1/users", `{"username":"mallory"}`},
			{"PATCH", "/api/v1/users/" + uid, `{"display_name":"x"}`},
			{"DELETE", "/api/v1/users/" + uid, ``},
			{"POST", "/api/v1/groups", `{"name":"g"}`},
			{"POST", "/api/v1/admins", `{"username":"eve","password":"long-enough-1","role":"admin"}`},
			{"PUT", "/api/v1/apps/x/artifacts/linux-amd64", `x`},
		}
		for _, w := range writes {
			e.call(w.method, w.path, tok, w.body).wantError(http.StatusForbidden, portal.CodeForbidden)
		}
		if n := e.count("/api/v1/users"); n != 1 {
			t.Errorf("users after helpdesk writes = %d, want 1", n)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		e.addAdmin("victim", portal.RoleAdmin)
		wrong := map[string]string{"username": "victim", "password": "guess-guess"}
		for i := 1; i < portal.FreeAccountFailures; i++ {
			e.call("POST", "/api/v1/auth/login", "", wrong).wantError(http.StatusUnauthorized, portal.CodeBadCredentials)
		}
		// The last free failure arms the block.
		e.call("POST", "/api/v1/auth/login", "", wrong).wantError(http.StatusUnauthorized, portal.CodeBadCredentials)

		right := map[string]string{"username": "VICTIM", "password": adminPassword}
		res := e.call("POST", "/api/v1/auth/login", "", right).wantError(http.StatusTooManyRequests, portal.CodeTooManyAttempts)
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want a positive number of seconds", res.Header.Get("Retry-After"))
		}
		// Another account from the same address is not blocked by this one's failures.
		e.login("root", adminPassword)

		// Once the wait is over, the right password works and clears the account's count.
		if err := e.Store.Reset(context.Background(), portal.AccountKey("admin", "victim")); err != nil {
			t.Fatal(err)
		}
		e.login("victim", adminPassword)
	})
}
