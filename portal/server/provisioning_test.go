package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/gormstore"
	"provportal/portal/landing"
	"provportal/sms/smstest"
)

var linkRE = regexp.MustCompile(`https?://\S+/p/([A-Za-z0-9_-]+)`)

// provisioned sets up a user in a group with a phone, and sends them a
// provisioning message; it returns the user's ID and the link's token.
func provisioned(t testing.TB, e *portalEnv, phone string) (string, string) {
	t.Helper()
	g := e.as("POST", "/api/v1/groups", map[string]string{"name": "couriers"}).want(http.StatusCreated).id()
	uid := e.as("POST", "/api/v1/users", map[string]any{"username": "carol", "display_name": "Carol Courier",
		"phone": phone, "password": "Carol-pass-98765", "groups": []string{g}}).want(http.StatusCreated).id()
	var res struct {
		Queued []struct {
			UserID string `json:"user_id"`
			To     string
		}
	}
	e.as("POST", "/api/v1/provisioning/sms", map[string]any{"user_ids": []string{uid}}).want(http.StatusAccepted).decode(&res)
	if len(res.Queued) != 1 || res.Queued[0].To != "+447700900123" {
		t.Fatalf("queued %+v, want one message to +447700900123", res)
	}
	var page portal.Page[portal.SMSMessage]
	e.as("GET", "/api/v1/sms?user_id="+uid, nil).want(http.StatusOK).decode(&page)
	if page.Total != 1 {
		t.Fatalf("outbox has %d messages for the user, want 1", page.Total)
	}
	m := linkRE.FindStringSubmatch(page.Items[0].Body)
	if m == nil || !strings.HasPrefix(page.Items[0].Body, "IT: ") {
		t.Fatalf("message %q carries no provisioning link", page.Items[0].Body)
	}
	return uid, m[1]
}

func TestProvisioningSMSThroughTwilio(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		tw := smstest.NewTwilio(t)
		e := newPortal(t, open(t), withTwilio(tw), func(c *Config) { c.PhoneRegion = "GB" })
		uid, token := provisioned(t, e, "07700 900123")

		if n, err := e.Srv.SendQueued(context.Background()); err != nil || n != 1 {
			t.Fatalf("SendQueued = %d, %v; want 1 sent", n, err)
		}
		sent := tw.Messages()
		if len(sent) != 1 || sent[0].To != "+447700900123" || sent[0].From != smstest.From || !strings.Contains(sent[0].Body, "/p/"+token) {
			t.Fatalf("Twilio received %+v, want one message to the user's number carrying the link", sent)
		}
		if sent[0].StatusCallback != e.URL+"/api/v1/sms/status" {
			t.Errorf("status callback %q, want %s", sent[0].StatusCallback, e.URL+"/api/v1/sms/status")
		}
		if n, _ := e.Srv.SendQueued(context.Background()); n != 0 || len(tw.Messages()) != 1 {
			t.Errorf("a second run sent %d more, want none", n)
		}
		var page portal.Page[portal.SMSMessage]
		e.as("GET", "/api/v1/sms?user_id="+uid, nil).want(http.StatusOK).decode(&page)
		msg := page.Items[0]
		if msg.Status != portal.SMSSent || msg.SID == "" || msg.Attempts != 1 {
			t.Fatalf("outbox entry %+v, want sent once with a SID", msg)
		}

		callback := func(status, signature string) int {
			form := url.Values{"MessageSid": {msg.SID}, "MessageStatus": {status}, "AccountSid": {smstest.AccountSID}}
			if signature == "" {
				signature = smstest.Signature(smstest.AuthToken, e.URL+"/api/v1/sms/status", form)
			}
			req, _ := http.NewRequest("POST", e.URL+"/api/v1/sms/status", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", signature)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		status := func() string {
			var p portal.Page[portal.SMSMessage]
			e.as("GET", "/api/v1/sms?user_id="+uid, nil).want(http.StatusOK).decode(&p)
			return p.Items[0].Status
		}
		if got := callback("delivered", "bm90IGEgc2lnbmF0dXJl"); got != http.StatusForbidden {
			t.Errorf("badly signed callback: %d, want 403", got)
		}
		if s := status(); s != portal.SMSSent {
			t.Errorf("after a forged callback the status is %s, want sent", s)
		}
		if got := callback("delivered", ""); got != http.StatusNoContent {
			t.Errorf("signed callback: %d, want 204", got)
		}
		if s := status(); s != portal.SMSDelivered {
			t.Errorf("after delivery the status is %s, want delivered", s)
		}
		callback("sent", "") // late and out of order: must not move it back
		if s := status(); s != portal.SMSDelivered {
			t.Errorf("a late 'sent' moved the status back to %s", s)
		}
	})
}

func TestProvisioningRecipients(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		g := e.as("POST", "/api/v1/groups", map[string]string{"name": "field"}).want(http.StatusCreated).id()
		withPhone := e.as("POST", "/api/v1/users", map[string]any{"username": "ann", "phone": "+14155550101", "groups": []string{g}}).want(http.StatusCreated).id()
		noPhone := e.as("POST", "/api/v1/users", map[string]any{"username": "ben", "groups": []string{g}}).want(http.StatusCreated).id()
		e.as("POST", "/api/v1/users", map[string]any{"username": "cat", "phone": "+14155550102"}).want(http.StatusCreated)

		var res struct {
			Queued []struct {
				UserID string `json:"user_id"`
			}
			Skipped []struct {
				UserID string `json:"user_id"`
				Reason string
			}
		}
		e.as("POST", "/api/v1/provisioning/sms", map[string]any{"group_id": g}).want(http.StatusAccepted).decode(&res)
		if len(res.Queued) != 1 || res.Queued[0].UserID != withPhone || len(res.Skipped) != 1 || res.Skipped[0].UserID != noPhone || !strings.Contains(res.Skipped[0].Reason, "phone") {
			t.Errorf("group send = %+v; want ann queued and ben skipped for having no phone", res)
		}
		before := e.count("/api/v1/sms")
		e.as("POST", "/api/v1/provisioning/sms", map[string]any{"user_ids": []string{withPhone, "no-such-user"}}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("POST", "/api/v1/provisioning/sms", map[string]any{"user_ids": []string{withPhone}, "group_id": g}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		e.as("POST", "/api/v1/provisioning/sms", map[string]any{}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		if n := e.count("/api/v1/sms"); n != before {
			t.Errorf("refused sends queued %d messages", n-before)
		}

		// The helpdesk may send provisioning messages.
		e.addAdmin("helen", portal.RoleHelpdesk)
		tok := e.login("helen", adminPassword)
		e.call("POST", "/api/v1/provisioning/sms", tok, map[string]any{"user_ids": []string{withPhone}}).want(http.StatusAccepted)

		// The generic message and a personalised preview, with their segment counts.
		var gen struct {
			Body     string
			Segments struct {
				Encoding string
				Segments int
			}
		}
		e.as("GET", "/api/v1/provisioning/sms-message", nil).want(http.StatusOK).decode(&gen)
		if !strings.Contains(gen.Body, e.URL+"/download") || gen.Segments.Encoding != "GSM-7" || gen.Segments.Segments != 1 {
			t.Errorf("generic message %+v, want the download link in one GSM-7 segment", gen)
		}
		e.as("PUT", "/api/v1/settings/sms", map[string]string{"template": "Hi {{.Name}} – {{.Org}}: {{.Link}}", "org_name": "Acme"}).want(http.StatusOK)
		e.as("GET", "/api/v1/provisioning/sms-message?user_id="+withPhone, nil).want(http.StatusOK).decode(&gen)
		if !strings.HasPrefix(gen.Body, "Hi ann – Acme: "+e.URL+"/p/") || gen.Segments.Encoding != "UCS-2" {
			t.Errorf("personalised preview %+v, want the new template with the user's name, UCS-2 for the dash", gen)
		}
		e.as("PUT", "/api/v1/settings/sms", map[string]string{"template": "no link here", "org_name": "Other"}).wantError(http.StatusUnprocessableEntity, portal.CodeInvalid)
		var set struct {
			Template string
			OrgName  string `json:"org_name"`
		}
		e.as("GET", "/api/v1/settings/sms", nil).want(http.StatusOK).decode(&set)
		if set.OrgName != "Acme" {
			t.Errorf("a refused settings change altered org_name to %q", set.OrgName)
		}
	})
}

// fakeBootloaders puts a small stand-in executable per platform in the portal's bootloader dir.
func fakeBootloaders(t *testing.T, dir string) {
	for _, p := range portal.Platforms {
		name := landing.BootloaderFile(p)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("MZ stand-in for "+string(p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	uaAndroid  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	uaLinux    = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	uaLinuxARM = "Mozilla/5.0 (X11; Linux aarch64; rv:125.0) Gecko/20100101 Firefox/125.0"
)

func get(t testing.TB, u, ua, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", ua)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func TestLandingPage(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		fakeBootloaders(t, e.cfg.BootloaderDir)
		_, token := provisioned(t, e, "+447700900123")
		link := e.URL + "/p/" + token

		for ua, want := range map[string]string{uaAndroid: "android-arm64", uaLinux: "linux-amd64", uaWindows: "windows-amd64",
			uaIPhone: "ios", uaMac: "darwin-amd64", uaLinuxARM: "linux-arm64", "curl/8.0": "unknown"} {
			var got struct {
				Platform  string
				Downloads map[string]string
			}
			status, _, body := get(t, link, ua, "application/json")
			if status != http.StatusOK {
				t.Fatalf("JSON landing: %d %s", status, body)
			}
			(&response{t: t, Body: body}).decode(&got)
			if got.Platform != want || len(got.Downloads) != len(portal.Platforms)+1 || got.Downloads["ios"] == "" {
				t.Errorf("%s: platform %q with %d downloads, want %q with %d and the iPhone profile", ua, got.Platform, len(got.Downloads), want, len(portal.Platforms)+1)
			}
		}

		status, hdr, page := get(t, link, uaLinux, "text/html")
		if status != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("landing page: %d %s", status, hdr.Get("Content-Type"))
		}
		for _, want := range []string{"Carol Courier", "Linux (x86-64)", "/p/" + token + "/download/linux-amd64", "data:image/png;base64,", e.Srv.Fingerprint(), "Other devices"} {
			if !bytes.Contains(page, []byte(want)) {
				t.Errorf("landing page lacks %q", want)
			}
		}

		// The download is the platform's bootloader with this portal and invitation stamped on its end.
		status, hdr, bl := get(t, link+"/download/windows-amd64", uaWindows, "")
		if status != http.StatusOK || !bytes.HasPrefix(bl, []byte("MZ stand-in for windows-amd64")) || !strings.Contains(hdr.Get("Content-Disposition"), "bootloader-windows-amd64.exe") {
			t.Fatalf("download: %d %q %q", status, hdr.Get("Content-Disposition"), bl[:min(len(bl), 40)])
		}
		stamp, err := packages.ReadStamp(bytes.NewReader(bl), int64(len(bl)))
		if err != nil || stamp.Invitation != token || stamp.PortalURL != e.URL || stamp.Fingerprint != e.Srv.Fingerprint() {
			t.Errorf("stamp = %+v, %v; want this portal, its fingerprint and the invitation", stamp, err)
		}
		_, _, generic := get(t, e.URL+"/download/linux-amd64", uaLinux, "")
		if stamp, err := packages.ReadStamp(bytes.NewReader(generic), int64(len(generic))); err != nil || stamp.Invitation != "" || stamp.PortalURL != e.URL {
			t.Errorf("generic download stamp = %+v, %v; want the portal without an invitation", stamp, err)
		}

		// Dead and unknown links get a friendly page with the right status.
		status, _, body := get(t, e.URL+"/p/AAAAAAAAAAAAAAAAAAAAAA", uaLinux, "text/html")
		if status != http.StatusNotFound || !bytes.Contains(body, []byte("not known")) {
			t.Errorf("unknown link: %d %s", status, body)
		}
		var invs portal.Page[portal.Invitation]
		e.as("GET", "/api/v1/invitations", nil).want(http.StatusOK).decode(&invs)
		e.as("DELETE", "/api/v1/invitations/"+invs.Items[0].ID, nil).want(http.StatusOK)
		status, _, body = get(t, link, uaLinux, "text/html")
		if status != http.StatusGone || !bytes.Contains(body, []byte("withdrawn")) {
			t.Errorf("revoked link: %d %s", status, body)
		}
		if status, _, _ := get(t, link+"/download/linux-amd64", uaLinux, ""); status != http.StatusGone {
			t.Errorf("download through a revoked link: %d, want 410", status)
		}
	})
}
