package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/gormstore"
)

// deviceLogon logs a device on and returns its token and ID.
func deviceLogon(t *testing.T, e *portalEnv, user, password, invitation string) *response {
	t.Helper()
	return e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: user, Password: password, Invitation: invitation,
		Device: packages.DeviceInfo{Name: "carol-laptop", Platform: "linux-amd64", OSVersion: "Debian 12"}})
}

func TestDeviceAPI(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		uid, token := provisioned(t, e, "+447700900123")
		var user portal.User
		e.as("GET", "/api/v1/users/"+uid, nil).want(http.StatusOK).decode(&user)
		gid := user.Groups[0]

		// Two apps for the group, one with a Linux build; a policy for the group and one for the user.
		content := bytes.Repeat([]byte("route planner "), 500)
		sum := sha256.Sum256(content)
		app := e.as("POST", "/api/v1/apps", map[string]string{"name": "route-planner", "version": "2.1.0"}).want(http.StatusCreated).id()
		e.as("PUT", "/api/v1/apps/"+app+"/artifacts/linux-amd64?filename=rp.tar.gz", content).want(http.StatusCreated)
		winOnly := e.as("POST", "/api/v1/apps", map[string]string{"name": "win-only", "version": "1"}).want(http.StatusCreated).id()
		e.as("PUT", "/api/v1/apps/"+winOnly+"/artifacts/windows-amd64", []byte("windows bytes")).want(http.StatusCreated)
		other := e.as("POST", "/api/v1/apps", map[string]string{"name": "not-assigned", "version": "1"}).want(http.StatusCreated).id()
		e.as("PUT", "/api/v1/apps/"+other+"/artifacts/linux-amd64", []byte("secret app bytes")).want(http.StatusCreated)
		pg := e.as("POST", "/api/v1/policies", `{"name":"group-policy","rules":{"password_required":true,"password_min_length":6}}`).want(http.StatusCreated).id()
		pu := e.as("POST", "/api/v1/policies", `{"name":"user-policy","rules":{"password_min_length":10,"camera_disabled":true}}`).want(http.StatusCreated).id()
		for _, a := range []map[string]string{{"app_id": app, "group_id": gid}, {"app_id": winOnly, "group_id": gid}, {"policy_id": pg, "group_id": gid}, {"policy_id": pu, "user_id": uid}} {
			e.as("POST", "/api/v1/assignments", a).want(http.StatusCreated)
		}

		t.Run("wrong_password", func(t *testing.T) {
			deviceLogon(t, e, "carol", "nope-nope-nope", token).wantError(http.StatusUnauthorized, portal.CodeBadCredentials)
		})
		t.Run("invitation_of_another_user", func(t *testing.T) {
			e.as("POST", "/api/v1/users", map[string]any{"username": "dan", "password": "Dan-pass-12345"}).want(http.StatusCreated)
			deviceLogon(t, e, "dan", "Dan-pass-12345", token).wantError(http.StatusForbidden, portal.CodeForbidden)
		})

		var logon packages.LogonResponse
		deviceLogon(t, e, "carol", "Carol-pass-98765", token).want(http.StatusOK).decode(&logon)
		if logon.Token == "" || logon.DeviceID == "" {
			t.Fatalf("logon = %+v", logon)
		}
		dev := func(method, path string, body any) *response { return e.call(method, path, logon.Token, body) }

		t.Run("device_token_does_not_open_admin_api", func(t *testing.T) {
			e.call("GET", "/api/v1/users", logon.Token, nil).wantError(http.StatusUnauthorized, portal.CodeUnauthenticated)
			e.call("GET", "/device/v1/manifest", e.Token, nil).wantError(http.StatusUnauthorized, portal.CodeUnauthenticated)
		})

		res := dev("GET", "/device/v1/manifest", nil).want(http.StatusOK)
		m, err := packages.VerifyManifest(string(res.Body), e.Srv.Fingerprint())
		if err != nil {
			t.Fatalf("manifest does not verify against the portal's fingerprint: %v", err)
		}
		if _, err := packages.VerifyManifest(string(res.Body), "sha256:"+hex.EncodeToString(make([]byte, 32))); err == nil {
			t.Error("manifest verified against another fingerprint")
		}
		if len(m.Apps) != 1 || m.Apps[0].Name != "route-planner" || m.Apps[0].SHA256 != hex.EncodeToString(sum[:]) || m.Apps[0].Size != int64(len(content)) || m.Apps[0].Filename != "rp.tar.gz" {
			t.Errorf("manifest apps = %+v, want route-planner's Linux build only", m.Apps)
		}
		if m.User.Username != "carol" || m.DeviceID != logon.DeviceID || m.Platform != "linux-amd64" {
			t.Errorf("manifest is for %+v on %s/%s", m.User, m.DeviceID, m.Platform)
		}
		want := map[string]any{"password_required": true, "password_min_length": float64(10), "camera_disabled": true}
		for k, v := range want {
			if m.Policy.Rules[k] != v {
				t.Errorf("merged rule %s = %#v, want %#v", k, m.Policy.Rules[k], v)
			}
		}

		t.Run("unchanged_manifest_is_304", func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.URL+"/device/v1/manifest", nil)
			req.Header.Set("Authorization", "Bearer "+logon.Token)
			req.Header.Set("If-None-Match", res.Header.Get("ETag"))
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusNotModified {
				t.Errorf("status %d, want 304", r.StatusCode)
			}
		})

		t.Run("blob_with_range_and_if_range", func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.URL+m.Apps[0].URL, nil)
			req.Header.Set("Authorization", "Bearer "+logon.Token)
			req.Header.Set("Range", "bytes=100-")
			req.Header.Set("If-Range", `"`+m.Apps[0].SHA256+`"`)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			got, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusPartialContent || !bytes.Equal(got, content[100:]) {
				t.Errorf("ranged blob: %d, %d bytes; want 206 with the rest", r.StatusCode, len(got))
			}
		})
		t.Run("blob_not_assigned_is_404", func(t *testing.T) {
			var o portal.App
			e.as("GET", "/api/v1/apps/"+other, nil).want(http.StatusOK).decode(&o)
			dev("GET", "/device/v1/blobs/"+o.Artifacts[0].SHA256, nil).wantError(http.StatusNotFound, portal.CodeNotFound)
			dev("GET", "/device/v1/blobs/../../signing-key.pem", nil).want(http.StatusNotFound)
		})

		t.Run("status_reports_reach_the_admin", func(t *testing.T) {
			dev("POST", "/device/v1/status", packages.StatusReport{Status: "installing", Progress: 40}).want(http.StatusNoContent)
			var d portal.Device
			e.as("GET", "/api/v1/devices/"+logon.DeviceID, nil).want(http.StatusOK).decode(&d)
			if d.Status != "installing" || d.Progress != 40 || d.UserID != uid || d.Platform != "linux-amd64" || d.OSVersion != "Debian 12" || d.LastSeenAt == nil {
				t.Errorf("device = %+v", d)
			}
			dev("POST", "/device/v1/status", packages.StatusReport{Status: "activation_complete", Progress: 100, Installed: map[string]string{"route-planner": "2.1.0"}}).want(http.StatusNoContent)
			e.as("GET", "/api/v1/devices/"+logon.DeviceID, nil).want(http.StatusOK).decode(&d)
			if d.Status != "activation_complete" || d.Installed["route-planner"] != "2.1.0" {
				t.Errorf("device after install = %+v", d)
			}
			dev("POST", "/device/v1/status", packages.StatusReport{Status: "hacked", Progress: 40}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
			dev("POST", "/device/v1/status", packages.StatusReport{Status: "installing", Progress: 101}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		})

		t.Run("same_device_logs_on_again_keeps_its_record", func(t *testing.T) {
			var again packages.LogonResponse
			e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: "carol", Password: "Carol-pass-98765",
				Device: packages.DeviceInfo{ID: logon.DeviceID, Name: "carol-laptop", Platform: "linux-amd64"}}).want(http.StatusOK).decode(&again)
			if again.DeviceID != logon.DeviceID {
				t.Errorf("device ID changed from %s to %s", logon.DeviceID, again.DeviceID)
			}
			// Another user naming carol's device gets a record of their own.
			var dan packages.LogonResponse
			e.call("POST", "/device/v1/logon", "", packages.LogonRequest{Username: "dan", Password: "Dan-pass-12345",
				Device: packages.DeviceInfo{ID: logon.DeviceID, Name: "x", Platform: "linux-amd64"}}).want(http.StatusOK).decode(&dan)
			if dan.DeviceID == logon.DeviceID {
				t.Error("another user took over carol's device record")
			}
		})

		t.Run("deleted_user_device_token_dies", func(t *testing.T) {
			e.as("DELETE", "/api/v1/users/"+uid, nil).want(http.StatusNoContent)
			dev("GET", "/device/v1/manifest", nil).wantError(http.StatusUnauthorized, portal.CodeUnauthenticated)
		})
	})
}
