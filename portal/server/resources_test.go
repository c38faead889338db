package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provportal/portal"
	"provportal/portal/gormstore"
)

func TestGroupsAPI(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		g := e.as("POST", "/api/v1/groups", map[string]string{"name": "Field Sales", "description": "on the road"}).want(http.StatusCreated).id()
		e.as("POST", "/api/v1/groups", map[string]string{"name": "field sales"}).wantError(http.StatusConflict, portal.CodeConflict)
		e.as("POST", "/api/v1/groups", map[string]string{"name": " "}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("POST", "/api/v1/users", map[string]any{"username": "alice", "groups": []string{g}}).want(http.StatusCreated)

		var got portal.Group
		e.as("GET", "/api/v1/groups/"+g, nil).want(http.StatusOK).decode(&got)
		if got.Members != 1 || got.Description != "on the road" {
			t.Errorf("group = %+v, want 1 member and its description", got)
		}
		e.as("PATCH", "/api/v1/groups/"+g, map[string]string{"name": "Sales"}).want(http.StatusOK).decode(&got)
		if got.Name != "Sales" || got.Description != "on the road" {
			t.Errorf("renamed group = %+v", got)
		}
		e.as("DELETE", "/api/v1/groups/"+g, nil).want(http.StatusNoContent)
		var users portal.Page[portal.User]
		e.as("GET", "/api/v1/users", nil).want(http.StatusOK).decode(&users)
		if len(users.Items[0].Groups) != 0 {
			t.Errorf("user still in deleted group: %v", users.Items[0].Groups)
		}
	})
}

func TestAppsAndArtifacts(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t), func(c *Config) { c.MaxArtifactSize = 64 << 10 })
		app := e.as("POST", "/api/v1/apps", map[string]string{"name": "field-notes", "version": "1.0.0"}).want(http.StatusCreated).id()
		e.as("POST", "/api/v1/apps", map[string]string{"name": "Field-Notes", "version": "2"}).wantError(http.StatusConflict, portal.CodeConflict)
		e.as("POST", "/api/v1/apps", map[string]string{"name": "x"}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("POST", "/api/v1/apps", map[string]string{"name": "../../evil", "version": "1"}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		for _, reserved := range []string{"CON", "nul", "com1", "LPT9.txt", "aux.d"} {
			e.as("POST", "/api/v1/apps", map[string]string{"name": reserved, "version": "1"}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		}
		e.as("POST", "/api/v1/apps", map[string]string{"name": "console", "version": "1"}).want(http.StatusCreated)

		content := bytes.Repeat([]byte("field notes build "), 1000)
		sum := sha256.Sum256(content)
		var got portal.App
		e.as("PUT", "/api/v1/apps/"+app+"/artifacts/linux-amd64?filename=notes.tar.gz", content).want(http.StatusCreated).decode(&got)
		if len(got.Artifacts) != 1 || got.Artifacts[0].SHA256 != hex.EncodeToString(sum[:]) || got.Artifacts[0].Size != int64(len(content)) || got.Artifacts[0].Filename != "notes.tar.gz" {
			t.Fatalf("artifacts = %+v, want one with the content's SHA-256 and size", got.Artifacts)
		}
		blobPath := filepath.Join(e.cfg.DataDir, "blobs", "sha256", hex.EncodeToString(sum[:1]), hex.EncodeToString(sum[:]))
		if onDisk, err := os.ReadFile(blobPath); err != nil || !bytes.Equal(onDisk, content) {
			t.Errorf("blob at %s: %v; want the uploaded bytes", blobPath, err)
		}

		t.Run("download_with_range", func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.URL+"/api/v1/apps/"+app+"/artifacts/linux-amd64", nil)
			req.Header.Set("Authorization", "Bearer "+e.Token)
			req.Header.Set("Range", "bytes=6-11")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusPartialContent || string(body) != "notes " {
				t.Errorf("range answer %d %q, want 206 %q", res.StatusCode, body, "notes ")
			}
		})

		t.Run("replace_keeps_one_per_platform", func(t *testing.T) {
			e.as("PUT", "/api/v1/apps/"+app+"/artifacts/linux-amd64", []byte("v2 bytes")).want(http.StatusCreated).decode(&got)
			e.as("PUT", "/api/v1/apps/"+app+"/artifacts/windows-amd64", []byte("win bytes")).want(http.StatusCreated).decode(&got)
			if len(got.Artifacts) != 2 || got.Artifacts[0].Size != 8 {
				t.Errorf("artifacts = %+v, want linux (8 bytes) and windows", got.Artifacts)
			}
		})

		t.Run("unknown_platform", func(t *testing.T) {
			if f := e.as("PUT", "/api/v1/apps/"+app+"/artifacts/plan9-mips", []byte("x")).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid).field(); f != "platform" {
				t.Errorf("field = %q, want platform", f)
			}
		})
		t.Run("unknown_app", func(t *testing.T) {
			e.as("PUT", "/api/v1/apps/nope/artifacts/linux-amd64", []byte("x")).wantError(http.StatusNotFound, portal.CodeNotFound)
		})
		t.Run("empty_artifact", func(t *testing.T) {
			e.as("PUT", "/api/v1/apps/"+app+"/artifacts/darwin-arm64", []byte{}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		})
		t.Run("too_large_changes_nothing", func(t *testing.T) {
			var before portal.App
			e.as("GET", "/api/v1/apps/"+app, nil).want(http.StatusOK).decode(&before)
			big := bytes.Repeat([]byte{7}, 64<<10+1)
			e.as("PUT", "/api/v1/apps/"+app+"/artifacts/linux-amd64", big).wantError(http.StatusRequestEntityTooLarge, portal.CodeTooLarge)
			// Chunked, so the size is only found out while streaming.
			req, _ := http.NewRequest("PUT", e.URL+"/api/v1/apps/"+app+"/artifacts/linux-amd64", io.MultiReader(bytes.NewReader(big)))
			req.Header.Set("Authorization", "Bearer "+e.Token)
			req.ContentLength = -1
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("chunked oversize upload: status %d, want 413", res.StatusCode)
			}
			var after portal.App
			e.as("GET", "/api/v1/apps/"+app, nil).want(http.StatusOK).decode(&after)
			a, _ := json.Marshal(after.Artifacts)
			b, _ := json.Marshal(before.Artifacts)
			if !bytes.Equal(a, b) {
				t.Errorf("artifacts changed by refused upload:\n got %s\nwant %s", a, b)
			}
			tmp, _ := os.ReadDir(filepath.Join(e.cfg.DataDir, "blobs", "tmp"))
			if len(tmp) != 0 {
				t.Errorf("%d temp files left behind", len(tmp))
			}
		})
		t.Run("delete_artifact_and_app", func(t *testing.T) {
			e.as("DELETE", "/api/v1/apps/"+app+"/artifacts/windows-amd64", nil).want(http.StatusOK).decode(&got)
			if len(got.Artifacts) != 1 {
				t.Errorf("artifacts after delete = %d, want 1", len(got.Artifacts))
			}
			e.as("DELETE", "/api/v1/apps/"+app+"/artifacts/windows-amd64", nil).wantError(http.StatusNotFound, portal.CodeNotFound)
			e.as("DELETE", "/api/v1/apps/"+app, nil).want(http.StatusNoContent)
			e.as("GET", "/api/v1/apps/"+app, nil).wantError(http.StatusNotFound, portal.CodeNotFound)
		})
	})
}

func TestPoliciesAPI(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		var p portal.Policy
		e.as("POST", "/api/v1/policies", `{"name":"baseline","rules":{"password_required":true,"password_min_length":8,"min_os_version":"14.2"}}`).
			want(http.StatusCreated).decode(&p)
		if p.Rules["password_min_length"] != int64(8) || p.Rules["password_required"] != true || p.Rules["min_os_version"] != "14.2" {
			t.Errorf("rules = %#v", p.Rules)
		}
		res := e.as("POST", "/api/v1/policies", `{"name":"p2","rules":{"warp_drive":true}}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		if f := res.field(); f != "rules.warp_drive" || !strings.Contains(string(res.Body), "camera_disabled") {
			t.Errorf("unknown rule: field %q, body %s; want the field and the known rules", f, res.Body)
		}
		e.as("POST", "/api/v1/policies", `{"name":"p3","rules":{"password_min_length":"eight"}}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("POST", "/api/v1/policies", `{"name":"baseline"}`).wantError(http.StatusConflict, portal.CodeConflict)

		e.as("PATCH", "/api/v1/policies/"+p.ID, `{"rules":{"camera_disabled":true}}`).want(http.StatusOK).decode(&p)
		if len(p.Rules) != 1 || p.Rules["camera_disabled"] != true {
			t.Errorf("rules after patch = %v, want only camera_disabled", p.Rules)
		}
		e.as("PATCH", "/api/v1/policies/"+p.ID, `{"rules":{"screen_lock_timeout_s":1}}`).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("GET", "/api/v1/policies/"+p.ID, nil).want(http.StatusOK).decode(&p)
		if len(p.Rules) != 1 {
			t.Errorf("refused patch changed rules to %v", p.Rules)
		}
		var cat struct{ Items []portal.RuleSpec }
		e.as("GET", "/api/v1/policies/rules", nil).want(http.StatusOK).decode(&cat)
		if len(cat.Items) != len(portal.RuleCatalogue) {
			t.Errorf("rule catalogue lists %d rules, want %d", len(cat.Items), len(portal.RuleCatalogue))
		}
	})
}

func TestAssignmentsAPI(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		g := e.as("POST", "/api/v1/groups", map[string]string{"name": "sales"}).want(http.StatusCreated).id()
		u := e.as("POST", "/api/v1/users", map[string]any{"username": "alice"}).want(http.StatusCreated).id()
		app := e.as("POST", "/api/v1/apps", map[string]string{"name": "notes", "version": "1"}).want(http.StatusCreated).id()
		pol := e.as("POST", "/api/v1/policies", map[string]any{"name": "base", "rules": map[string]any{"camera_disabled": true}}).want(http.StatusCreated).id()

		a1 := e.as("POST", "/api/v1/assignments", map[string]string{"app_id": app, "group_id": g}).want(http.StatusCreated).id()
		e.as("POST", "/api/v1/assignments", map[string]string{"policy_id": pol, "user_id": u}).want(http.StatusCreated)
		e.as("POST", "/api/v1/assignments", map[string]string{"app_id": app, "group_id": g}).wantError(http.StatusConflict, portal.CodeConflict)

		bad := []struct {
			name  string
			body  map[string]string
			field string
		}{
			{"both_app_and_policy", map[string]string{"app_id": app, "policy_id": pol, "group_id": g}, "app_id"},
			{"neither_app_nor_policy", map[string]string{"group_id": g}, "app_id"},
			{"both_group_and_user", map[string]string{"app_id": app, "group_id": g, "user_id": u}, "group_id"},
			{"no_target", map[string]string{"app_id": app}, "group_id"},
			{"unknown_app", map[string]string{"app_id": "nope", "user_id": u}, "app_id"},
			{"unknown_group", map[string]string{"policy_id": pol, "group_id": "nope"}, "group_id"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				if f := e.as("POST", "/api/v1/assignments", tt.body).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid).field(); f != tt.field {
					t.Errorf("field = %q, want %q", f, tt.field)
				}
			})
		}
		if n := e.count("/api/v1/assignments"); n != 2 {
			t.Errorf("assignments = %d, want 2", n)
		}
		if n := e.count("/api/v1/assignments?user_id=" + u); n != 1 {
			t.Errorf("assignments for the user = %d, want 1", n)
		}
		e.as("DELETE", "/api/v1/assignments/"+a1, nil).want(http.StatusNoContent)
		e.as("DELETE", "/api/v1/policies/"+pol, nil).want(http.StatusNoContent)
		if n := e.count("/api/v1/assignments"); n != 0 {
			t.Errorf("assignments after withdrawing one and deleting the policy = %d, want 0", n)
		}
	})
}

func TestAuditLog(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		u := e.as("POST", "/api/v1/users", map[string]any{"username": "alice", "password": "Alice-pass-1234"}).want(http.StatusCreated).id()
		e.as("PATCH", "/api/v1/users/"+u, map[string]any{"display_name": "Alice A.", "password": "Another-pass-5678"}).want(http.StatusOK)
		e.as("DELETE", "/api/v1/users/"+u, nil).want(http.StatusNoContent)

		var page portal.Page[portal.AuditEntry]
		res := e.as("GET", "/api/v1/audit?kind=user&object_id="+u, nil).want(http.StatusOK)
		res.decode(&page)
		if page.Total != 3 {
			t.Fatalf("audit entries for the user = %d, want 3: %s", page.Total, res.Body)
		}
		for i, want := range []string{"delete", "update", "create"} {
			en := page.Items[i]
			if en.Action != want || en.Actor != "root" || en.ActorID == "" || en.RemoteAddr != "127.0.0.1" {
				t.Errorf("entry %d = %s by %q (%q) from %q, want %s by root from 127.0.0.1", i, en.Action, en.Actor, en.ActorID, en.RemoteAddr, want)
			}
		}
		upd := page.Items[1]
		if !strings.Contains(string(upd.Before), `"display_name":""`) || !strings.Contains(string(upd.After), `"display_name":"Alice A."`) {
			t.Errorf("update entry before %s after %s; want the old and new display name", upd.Before, upd.After)
		}
		for _, secret := range []string{"Alice-pass-1234", "Another-pass-5678", "argon2id"} {
			if strings.Contains(string(res.Body), secret) {
				t.Errorf("audit log contains %q", secret)
			}
		}
		if n := e.count("/api/v1/audit?actor=nobody"); n != 0 {
			t.Errorf("entries by nobody = %d", n)
		}
		e.as("GET", "/api/v1/audit?limit=1000", nil).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
	})
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		e.as("GET", "/api/v1/nothing-here", nil).wantError(http.StatusNotFound, portal.CodeNotFound)
		e.as("PUT", "/api/v1/users", nil).wantError(http.StatusMethodNotAllowed, portal.CodeMethodNotAllowed)
		e.as("GET", "/api/v1/devices/no-such-device", nil).wantError(http.StatusNotFound, portal.CodeNotFound)
	})
}
