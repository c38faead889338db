package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"

	"provportal/packages"
	"provportal/portal"
	"provportal/portal/deviceapi"
	"provportal/portal/gormstore"
	"provportal/portal/ios"
)

// needOpenSSL finds the openssl tool that checks profiles from outside the
// portal. Without it the test fails in CI and is skipped elsewhere.
func needOpenSSL(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("openssl is not installed (CI=true, so this is a failure): apt-get install -y openssl")
	}
	t.Skip("NOTICE: openssl is not installed, so the iPhone profile test is skipped: apt-get install -y openssl")
	return ""
}

// cmsVerify checks a signed profile as `openssl cms -verify` does (the
// signature, not the certificate's chain) and returns the content signed.
func cmsVerify(t testing.TB, openssl string, der []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "profile.der"), filepath.Join(dir, "profile.plist")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "cms", "-verify", "-noverify", "-inform", "DER", "-in", in, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testPhone plays an iPhone: it signs its attributes with its own
// certificate, as a real one signs with its Apple-issued device identity.
type testPhone struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestPhone(t testing.TB) *testPhone {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test iPhone device identity"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testPhone{key: key, cert: cert}
}

// answer is what the phone posts back to the profile service.
func (p *testPhone) answer(t testing.TB, a ios.DeviceAttributes) []byte {
	t.Helper()
	content, err := plist.Marshal(a, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(p.cert, p.key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func postProfileAnswer(t testing.TB, u string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/pkcs7-signature")
	req.Header.Set("User-Agent", "Profile/1.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, res.Header, b.Bytes()
}

// profileServiceOf fetches a link's Profile Service profile and checks it from outside.
func profileServiceOf(t testing.TB, openssl, profileURL string) (enrollURL, challenge string) {
	t.Helper()
	status, hdr, body := get(t, profileURL, uaIPhone, "")
	if status != http.StatusOK || hdr.Get("Content-Type") != ios.ContentType {
		t.Fatalf("profile service: %d %q %s", status, hdr.Get("Content-Type"), body)
	}
	var ps struct {
		PayloadType    string
		PayloadContent struct {
			URL              string
			DeviceAttributes []string
			Challenge        string
		}
	}
	if _, err := plist.Unmarshal(cmsVerify(t, openssl, body), &ps); err != nil {
		t.Fatalf("the profile service's content is not a plist: %v", err)
	}
	if ps.PayloadType != "Profile Service" || !reflect.DeepEqual(ps.PayloadContent.DeviceAttributes, []string{"UDID", "PRODUCT", "VERSION", "SERIAL", "IMEI"}) ||
		ps.PayloadContent.Challenge == "" {
		t.Fatalf("profile service = %+v", ps)
	}
	return ps.PayloadContent.URL, ps.PayloadContent.Challenge
}

func testIPA(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("Payload/Route.app/Info.plist")
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>CFBundleIdentifier</key><string>com.example.route</string><key>CFBundleShortVersionString</key><string>2.1</string></dict></plist>`))
	w, _ = zw.Create("Payload/Route.app/Route")
	w.Write([]byte("not really an executable"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var phoneRules = map[string]any{
	"password_required": true, "password_min_length": 6, "camera_disabled": true, "screen_lock_timeout_s": 300,
	"wifi_networks":  []map[string]any{{"ssid": "Office", "security": "wpa2", "password": "correct-horse-battery"}},
	"email_accounts": []map[string]any{{"name": "Work mail", "imap_host": "imap.example.com", "smtp_host": "smtp.example.com"}},
	"web_clips":      []map[string]any{{"label": "Intranet", "url": "https://intranet.example.com/"}},
}

// iosUser provisions a user with the phone policy and an in-house iOS app;
// it returns the user's ID, the link's token and the app's ID.
func iosUser(t testing.TB, e *portalEnv) (string, string, string) {
	uid, token := provisioned(t, e, "+447700900123")
	e.as("PATCH", "/api/v1/users/"+uid, map[string]any{"email": "carol@example.com"}).want(http.StatusOK)
	pid := e.as("POST", "/api/v1/policies", map[string]any{"name": "phones", "rules": phoneRules}).want(http.StatusCreated).id()
	e.as("POST", "/api/v1/assignments", map[string]string{"policy_id": pid, "user_id": uid}).want(http.StatusCreated)
	appID := e.as("POST", "/api/v1/apps", map[string]string{"name": "Route planner", "version": "2.1"}).want(http.StatusCreated).id()
	e.call("PUT", "/api/v1/apps/"+appID+"/artifacts/ios?filename=Route.ipa", e.Token, testIPA(t)).want(http.StatusCreated)
	e.as("POST", "/api/v1/assignments", map[string]string{"app_id": appID, "user_id": uid}).want(http.StatusCreated)
	return uid, token, appID
}

func TestIOSProfileFlow(t *testing.T) {
	openssl := needOpenSSL(t)
	backends(t, func(t *testing.T, open func(t *testing.T) *gormstore.Store) {
		e := newPortal(t, open(t))
		uid, token, appID := iosUser(t, e)
		link := e.URL + "/p/" + token

		// The landing page on an iPhone offers the profile flow and the app.
		var landing struct {
			Platform  string
			Downloads map[string]string
		}
		status, _, body := get(t, link, uaIPhone, "application/json")
		(&response{t: t, what: "landing", Status: status, Body: body}).want(http.StatusOK).decode(&landing)
		profileURL := e.URL + "/p/" + token + "/ios/profile"
		if landing.Platform != "ios" || landing.Downloads["ios"] != profileURL {
			t.Fatalf("landing = %+v, want ios with downloads.ios %s", landing, profileURL)
		}
		_, _, page := get(t, link, uaIPhone, "text/html")
		for _, want := range []string{"Install profile", `href="` + profileURL + `"`, "itms-services://?action=download-manifest&amp;url=" + url.QueryEscape(e.URL+"/p/"+token+"/ios/apps/"+appID+"/manifest.plist"),
			"Route planner", "only from a portal served over HTTPS", "does not start with https://"} {
			if !bytes.Contains(page, []byte(want)) {
				t.Errorf("iPhone landing page lacks %q", want)
			}
		}
		if _, _, mac := get(t, link, uaMac, "text/html"); !bytes.Contains(mac, []byte("Setting up an iPad?")) || !bytes.Contains(mac, []byte(profileURL)) {
			t.Error("a Mac's landing page does not offer the profile too, for an iPad that says it is a Mac")
		}

		enrollURL, challenge := profileServiceOf(t, openssl, profileURL)
		if enrollURL != e.URL+"/p/"+token+"/ios/enroll" {
			t.Fatalf("profile service posts to %s", enrollURL)
		}
		phone := newTestPhone(t)
		attrs := ios.DeviceAttributes{UDID: "00008110-001A2B3C4D5E6F70", Product: "iPhone15,2", Version: "17.4",
			Serial: "F2LXK0ABCDEF", IMEI: "35 123456 789012 3", Challenge: challenge}
		answer := phone.answer(t, attrs)

		// Refused answers record nothing.
		refused := func(name, u string, body []byte, wantStatus int, wantCode portal.Code) {
			t.Helper()
			status, _, resp := postProfileAnswer(t, u, body)
			(&response{t: t, what: name, Status: status, Body: resp}).wantError(wantStatus, wantCode)
			if n := e.count("/api/v1/devices"); n != 0 {
				t.Fatalf("%s: %d devices recorded, want none", name, n)
			}
		}
		refused("tampered answer", enrollURL, bytes.Replace(answer, []byte("iPhone15,2"), []byte("iPhone15,3"), 1), http.StatusBadRequest, portal.CodeProfileResponseInvalid)
		refused("unsigned answer", enrollURL, []byte(`<plist version="1.0"><dict><key>UDID</key><string>x</string></dict></plist>`), http.StatusBadRequest, portal.CodeProfileResponseInvalid)
		noChallenge := attrs
		noChallenge.Challenge = ""
		refused("answer without the challenge", enrollURL, phone.answer(t, noChallenge), http.StatusBadRequest, portal.CodeProfileResponseInvalid)

		ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
		deadLink := func(expires time.Time, revoke bool) string {
			tok := strings.Repeat("d", 16) + expires.Format("150405.000000")
			inv := portal.Invitation{UserID: uid, ExpiresAt: expires}
			if err := e.Store.CreateInvitation(ctx, &inv, deviceapi.HashToken(tok), nil); err != nil {
				t.Fatal(err)
			}
			if revoke {
				if _, err := e.Store.RevokeInvitation(ctx, inv.ID); err != nil {
					t.Fatal(err)
				}
			}
			return e.URL + "/p/" + tok + "/ios/enroll"
		}
		refused("expired invitation", deadLink(time.Now().Add(-time.Minute), false), answer, http.StatusGone, portal.CodeInvitationGone)
		refused("revoked invitation", deadLink(time.Now().Add(time.Hour), true), answer, http.StatusGone, portal.CodeInvitationGone)
		refused("challenge of another link", deadLink(time.Now().Add(time.Hour), false), answer, http.StatusBadRequest, portal.CodeProfileResponseInvalid)
		refused("unknown link", e.URL+"/p/"+strings.Repeat("u", 22)+"/ios/enroll", answer, http.StatusNotFound, portal.CodeNotFound)

		// The good answer gets the user's configuration profile, signed.
		status, hdr, signed := postProfileAnswer(t, enrollURL, answer)
		if status != http.StatusOK || hdr.Get("Content-Type") != ios.ContentType {
			t.Fatalf("enrol: %d %q %s", status, hdr.Get("Content-Type"), signed)
		}
		var profile map[string]any
		if _, err := plist.Unmarshal(cmsVerify(t, openssl, signed), &profile); err != nil {
			t.Fatalf("the configuration profile is not a plist: %v", err)
		}
		if profile["PayloadType"] != "Configuration" {
			t.Fatalf("profile type %v", profile["PayloadType"])
		}
		by := map[string]map[string]any{}
		for _, p := range profile["PayloadContent"].([]any) {
			pl := p.(map[string]any)
			by[pl["PayloadType"].(string)] = pl
		}
		if pc := by[ios.TypePasscode]; pc["minLength"] != uint64(6) || pc["forcePIN"] != true || pc["maxInactivity"] != uint64(5) {
			t.Errorf("passcode payload = %v, want minLength 6, forcePIN, maxInactivity 5", pc)
		}
		if r := by[ios.TypeRestrictions]; r["allowCamera"] != false {
			t.Errorf("restrictions payload = %v, want the camera disabled", r)
		}
		if w := by[ios.TypeWiFi]; w["SSID_STR"] != "Office" || w["Password"] != "correct-horse-battery" || w["EncryptionType"] != "WPA2" {
			t.Errorf("Wi-Fi payload = %v", w)
		}
		if m := by[ios.TypeMail]; m["EmailAddress"] != "carol@example.com" || m["IncomingMailServerHostName"] != "imap.example.com" {
			t.Errorf("mail payload = %v", m)
		}
		if c := by[ios.TypeWebClip]; c["URL"] != "https://intranet.example.com/" {
			t.Errorf("web clip payload = %v", c)
		}

		// The admin sees the phone, as far as the portal can see it.
		var devices portal.Page[portal.Device]
		e.as("GET", "/api/v1/devices?status=profile_delivered", nil).want(http.StatusOK).decode(&devices)
		if devices.Total != 1 {
			t.Fatalf("%d devices with profile_delivered, want 1", devices.Total)
		}
		d := devices.Items[0]
		if d.Platform != "ios" || d.OSVersion != "17.4" || d.Name != "iPhone15,2 F2LXK0ABCDEF" || d.UserID != uid || d.Progress != 100 {
			t.Errorf("device = %+v", d)
		}
		var timeline struct{ Items []portal.DeviceEvent }
		e.as("GET", "/api/v1/devices/"+d.ID+"/timeline", nil).want(http.StatusOK).decode(&timeline)
		if n := len(timeline.Items); n == 0 || timeline.Items[n-1].Event != "profile_delivered" || timeline.Items[n-1].Detail["udid"] != attrs.UDID ||
			timeline.Items[n-1].Detail["imei"] != "351234567890123" {
			t.Errorf("timeline = %+v, want profile_delivered with the device's attributes", timeline.Items)
		}

		// The same phone set up again keeps its one record.
		_, challenge = profileServiceOf(t, openssl, profileURL)
		attrs.Challenge, attrs.Version = challenge, "17.5"
		if status, _, body := postProfileAnswer(t, enrollURL, phone.answer(t, attrs)); status != http.StatusOK {
			t.Fatalf("second set-up: %d %s", status, body)
		}
		e.as("GET", "/api/v1/devices?user_id="+uid, nil).want(http.StatusOK).decode(&devices)
		if devices.Total != 1 || devices.Items[0].OSVersion != "17.5" {
			t.Errorf("after a second set-up: %+v, want one device on 17.5", devices.Items)
		}

		// The app installs through the manifest the portal serves.
		status, hdr, body = get(t, e.URL+"/p/"+token+"/ios/apps/"+appID+"/manifest.plist", "itunesstored/1.0", "")
		if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/xml") {
			t.Fatalf("app manifest: %d %s", status, body)
		}
		var manifest struct {
			Items []struct {
				Assets []struct {
					Kind, URL string `plist:"url"`
				} `plist:"assets"`
				Metadata map[string]string `plist:"metadata"`
			} `plist:"items"`
		}
		if _, err := plist.Unmarshal(body, &manifest); err != nil || len(manifest.Items) != 1 {
			t.Fatalf("app manifest %s: %v", body, err)
		}
		item := manifest.Items[0]
		if item.Metadata["bundle-identifier"] != "com.example.route" || item.Metadata["bundle-version"] != "2.1" || item.Metadata["title"] != "Route planner" {
			t.Errorf("manifest metadata = %v", item.Metadata)
		}
		if status, _, ipa := get(t, item.Assets[0].URL, "itunesstored/1.0", ""); status != http.StatusOK || !bytes.Equal(ipa, testIPA(t)) {
			t.Errorf("the app's .ipa: %d, %d bytes", status, len(ipa))
		}

		// The user's laptop gets the same policy without what only a profile carries.
		var logon packages.LogonResponse
		deviceLogon(t, e, "carol", "Carol-pass-98765", token).want(http.StatusOK).decode(&logon)
		res := e.call("GET", "/device/v1/manifest", logon.Token, nil).want(http.StatusOK)
		m, err := packages.VerifyManifest(string(res.Body), e.Srv.Fingerprint())
		if err != nil {
			t.Fatal(err)
		}
		if m.Policy.Rules["camera_disabled"] != true || m.Policy.Rules["wifi_networks"] != nil || m.Policy.Rules["web_clips"] != nil || len(m.Apps) != 0 {
			t.Errorf("a laptop's manifest has rules %v and apps %v; want the camera rule, no list rules and no iOS app", m.Policy.Rules, m.Apps)
		}

		// A phone older than the policy allows is stopped, as a bootloader would be.
		var pols portal.Page[portal.Policy]
		e.as("GET", "/api/v1/policies", nil).want(http.StatusOK).decode(&pols)
		rules := map[string]any{"min_os_version": "18"}
		for k, v := range phoneRules {
			rules[k] = v
		}
		e.as("PATCH", "/api/v1/policies/"+pols.Items[0].ID, map[string]any{"rules": rules}).want(http.StatusOK)
		_, challenge = profileServiceOf(t, openssl, profileURL)
		attrs.Challenge = challenge
		status, _, body = postProfileAnswer(t, enrollURL, phone.answer(t, attrs))
		(&response{t: t, what: "too old", Status: status, Body: body}).wantError(http.StatusForbidden, portal.CodeITPolicyRejected)
		e.as("GET", "/api/v1/devices/"+d.ID, nil).want(http.StatusOK).decode(&d)
		if d.Status != "it_policy_rejected" || d.Error == nil || !strings.Contains(d.Error.Message, "older than the minimum 18") {
			t.Errorf("device too old = %+v", d)
		}
	})
}
