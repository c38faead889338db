package ios

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"

	"provportal/portal"
)

func mustRules(t *testing.T, j string) portal.Rules {
	t.Helper()
	r, err := portal.DecodeRules([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decoded is a profile as a device reads it: the plist, decoded generically.
func decoded(t *testing.T, p *Profile) map[string]any {
	t.Helper()
	b, err := plist.Marshal(p, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if _, err := plist.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func payloadsByType(t *testing.T, m map[string]any) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, p := range m["PayloadContent"].([]any) {
		d := p.(map[string]any)
		out[d["PayloadType"].(string)] = append(out[d["PayloadType"].(string)], d)
	}
	return out
}

func TestConfigurationMirrorsRules(t *testing.T) {
	ns := newNamespace("https://portal.example.com")
	u := &portal.User{ID: "u-1", Username: "carol", Email: "carol@example.com", DisplayName: "Carol Courier"}
	rules := mustRules(t, `{"password_required":true,"password_min_length":20,"password_require_alphanumeric":true,
		"max_failed_unlocks_before_wipe":16,"screen_lock_timeout_s":30,"password_max_age_days":90,"camera_disabled":true,"bluetooth_disabled":true,
		"wifi_networks":[{"ssid":"Office","security":"wpa2","password":"correct-horse"}],
		"vpn_connections":[{"name":"HQ","type":"ikev2","server":"vpn.example.com","remote_id":"vpn.example.com"},{"name":"Legacy","type":"ipsec","server":"192.0.2.7","shared_secret":"psk","local_id":"staff"}],
		"email_accounts":[{"name":"Work","imap_host":"imap.example.com","smtp_host":"smtp.example.com","login":"username"}],
		"web_clips":[{"label":"Intranet","url":"https://intranet.example.com/"}]}`)
	p, unenforced := ns.configuration(u, rules, "Acme")
	m := decoded(t, p)
	if m["PayloadType"] != TypeConfiguration || m["PayloadIdentifier"] != "com.example.portal.provisioning.user.u-1" {
		t.Fatalf("profile %v %v, want a Configuration under the portal's reverse-DNS prefix", m["PayloadType"], m["PayloadIdentifier"])
	}
	by := payloadsByType(t, m)
	pc := by[TypePasscode][0]
	for key, want := range map[string]any{"forcePIN": true, "minLength": uint64(16), "requireAlphanumeric": true,
		"maxFailedAttempts": uint64(11), "maxInactivity": uint64(1), "maxPINAgeInDays": uint64(90)} {
		if pc[key] != want {
			t.Errorf("passcode %s = %#v, want %#v", key, pc[key], want)
		}
	}
	if by[TypeRestrictions][0]["allowCamera"] != false {
		t.Errorf("restrictions = %v, want allowCamera false", by[TypeRestrictions][0])
	}
	if w := by[TypeWiFi][0]; w["SSID_STR"] != "Office" || w["EncryptionType"] != "WPA2" || w["Password"] != "correct-horse" || w["AutoJoin"] != true {
		t.Errorf("Wi-Fi payload = %v", w)
	}
	if len(by[TypeVPN]) != 2 {
		t.Fatalf("%d VPN payloads, want 2", len(by[TypeVPN]))
	}
	ike := by[TypeVPN][0]["IKEv2"].(map[string]any)
	if ike["RemoteAddress"] != "vpn.example.com" || ike["LocalIdentifier"] != "carol" || ike["AuthName"] != "carol" || ike["AuthenticationMethod"] != "None" {
		t.Errorf("IKEv2 = %v, want EAP as the user with their username as local identifier", ike)
	}
	ipsec := by[TypeVPN][1]["IPSec"].(map[string]any)
	if !bytes.Equal(ipsec["SharedSecret"].([]byte), []byte("psk")) || ipsec["XAuthName"] != "carol" {
		t.Errorf("IPSec = %v, want the shared secret as data and XAuth as the user", ipsec)
	}
	if mail := by[TypeMail][0]; mail["EmailAddress"] != "carol@example.com" || mail["IncomingMailServerUsername"] != "carol" || mail["IncomingMailServerPortNumber"] != uint64(993) {
		t.Errorf("mail payload = %v", mail)
	}
	if clip := by[TypeWebClip][0]; clip["URL"] != "https://intranet.example.com/" || clip["Label"] != "Intranet" {
		t.Errorf("web clip = %v", clip)
	}
	got := map[string]bool{}
	for _, u := range unenforced {
		got[u.Rule] = true
	}
	for _, rule := range []string{"password_min_length", "screen_lock_timeout_s", "bluetooth_disabled"} {
		if !got[rule] {
			t.Errorf("unenforced = %v, want %s among them", unenforced, rule)
		}
	}

	// Delivered again, the profile has the same identifiers and UUIDs, so it replaces itself.
	again, _ := ns.configuration(u, rules, "Acme")
	a, b := decoded(t, p), decoded(t, again)
	if a["PayloadUUID"] != b["PayloadUUID"] {
		t.Error("the profile's UUID changed between deliveries")
	}
	seen := map[any]bool{}
	for i, pl := range a["PayloadContent"].([]any) {
		uuid := pl.(map[string]any)["PayloadUUID"]
		if uuid != b["PayloadContent"].([]any)[i].(map[string]any)["PayloadUUID"] || seen[uuid] {
			t.Errorf("payload %d UUID %v is not stable and unique", i, uuid)
		}
		seen[uuid] = true
	}
	other, _ := newNamespace("https://other.example.org").configuration(u, rules, "Acme")
	if decoded(t, other)["PayloadUUID"] == a["PayloadUUID"] {
		t.Error("two portals gave the same user the same profile UUID")
	}
}

func TestConfigurationWithoutRules(t *testing.T) {
	p, unenforced := newNamespace("http://127.0.0.1:8080").configuration(&portal.User{ID: "u", Username: "u"}, portal.Rules{}, "IT")
	if len(p.PayloadContent) != 0 || len(unenforced) != 0 {
		t.Errorf("no rules gave %d payloads and %v", len(p.PayloadContent), unenforced)
	}
	if !strings.HasPrefix(p.PayloadIdentifier, "portal.ip-127-0-0-1.provisioning.") {
		t.Errorf("identifier %q for a portal on an IP address", p.PayloadIdentifier)
	}
}

func TestTooOld(t *testing.T) {
	rules := mustRules(t, `{"min_os_version":"16.4"}`)
	for version, want := range map[string]bool{"17.4": false, "16.4": false, "16.3.1": true, "9": true, "": true} {
		if _, old := tooOld(rules, version); old != want {
			t.Errorf("iOS %q too old for 16.4: %v, want %v", version, old, want)
		}
	}
	if _, old := tooOld(portal.Rules{}, "1.0"); old {
		t.Error("no min_os_version rule, yet a device is too old")
	}
}

func selfSigned(t testing.TB, key crypto.Signer, cn string, parent *x509.Certificate, parentKey crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignerMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSigner(dir, "portal.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !s.SelfSigned() || s.Certificate().Subject.CommonName != "portal.example.com profile signing" {
		t.Errorf("made %v, self-signed %v", s.Certificate().Subject, s.SelfSigned())
	}
	if _, ok := s.key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("made a %T key, want ECDSA", s.key)
	}
	fi, err := os.Stat(filepath.Join(dir, SigningFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing file %v, %v; want mode 0600", fi, err)
	}
	again, err := LoadSigner(dir, "other")
	if err != nil || again.Fingerprint() != s.Fingerprint() {
		t.Errorf("second start: %v, %v; want the same certificate", again, err)
	}
	signed, err := s.Sign([]byte("<plist/>"))
	if err != nil {
		t.Fatal(err)
	}
	content, cert, err := VerifyDeviceResponse(signed)
	if err != nil || string(content) != "<plist/>" || !cert.Equal(s.Certificate()) {
		t.Errorf("own signature: %q %v", content, err)
	}
}

// A certificate an administrator brings: RSA, issued by a CA through an
// intermediate, key and certificates in any order in one file.
func TestSignerReplacedWithIssuedCertificate(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := selfSigned(t, rootKey, "Test Root", nil, nil, true)
	midKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mid := selfSigned(t, midKey, "Test Intermediate", root, rootKey, true)
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf := selfSigned(t, leafKey, "portal.example.com", mid, midKey, false)
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: mid.Raw})
	pem.Encode(&buf, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(leafKey)})
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, SigningFile), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	if s.SelfSigned() || !s.Certificate().Equal(leaf) {
		t.Fatalf("loaded %v", s.Certificate().Subject)
	}
	signed, err := s.Sign([]byte("profile"))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if err := p7.VerifyWithChain(roots); err != nil {
		t.Errorf("the signature does not chain to the CA: %v", err)
	}
}

func TestSignerRefusesUnusableFiles(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	otherCert := selfSigned(t, otherKey, "other", nil, nil, false)
	pemOf := func(blocks ...*pem.Block) []byte {
		var b bytes.Buffer
		for _, blk := range blocks {
			pem.Encode(&b, blk)
		}
		return b.Bytes()
	}
	for name, content := range map[string][]byte{
		"ed25519_key":                 pemOf(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}),
		"no_certificate":              pemOf(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"certificate_for_another_key": pemOf(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}, &pem.Block{Type: "CERTIFICATE", Bytes: otherCert.Raw}),
		"not_pem":                     []byte("hello"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, SigningFile), content, 0o600)
			if _, err := LoadSigner(dir, "x"); err == nil {
				t.Error("loaded an unusable signing file")
			}
		})
	}
}

func TestVerifyDeviceResponseRefusesTampering(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := selfSigned(t, key, "device", nil, nil, false)
	sd, _ := pkcs7.NewSignedData([]byte("<plist>PRODUCT iPhone15,2</plist>"))
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, _ := sd.Finish()
	if _, _, err := VerifyDeviceResponse(der); err != nil {
		t.Fatalf("a good answer: %v", err)
	}
	tampered := bytes.Replace(der, []byte("iPhone15,2"), []byte("iPhone15,3"), 1)
	if _, _, err := VerifyDeviceResponse(tampered); err == nil {
		t.Error("tampered content verified")
	}
	if _, _, err := VerifyDeviceResponse([]byte("<plist/>")); err == nil {
		t.Error("an unsigned plist verified")
	}
}

func ipa(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadBundleInfo(t *testing.T) {
	info := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>CFBundleIdentifier</key><string>com.example.route</string><key>CFBundleShortVersionString</key><string>2.1</string></dict></plist>`
	tests := []struct {
		name   string
		files  map[string]string
		wantID string
	}{
		{"app", map[string]string{"Payload/Route.app/Info.plist": info, "Payload/Route.app/Route": "bin"}, "com.example.route"},
		{"nested_plist_ignored", map[string]string{"Payload/Route.app/Frameworks/X.framework/Info.plist": info}, ""},
		{"no_payload", map[string]string{"Info.plist": info}, ""},
		{"no_identifier", map[string]string{"Payload/Route.app/Info.plist": `<plist version="1.0"><dict/></plist>`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ipa(t, tt.files)
			got, err := readBundleInfo(bytes.NewReader(b), int64(len(b)))
			if tt.wantID == "" {
				if err == nil {
					t.Errorf("read %+v, want an error", got)
				}
				return
			}
			if err != nil || got.ID != tt.wantID || got.Version != "2.1" {
				t.Errorf("read %+v, %v", got, err)
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	now := time.Now()
	c := challenges{key: bytes.Repeat([]byte{7}, 32), now: func() time.Time { return now }}
	ch, err := c.issue("inv-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.check(ch, "inv-1"); err != nil {
		t.Errorf("own challenge: %v", err)
	}
	if err := c.check(ch, "inv-2"); err == nil {
		t.Error("a challenge for another invitation was taken")
	}
	if err := (challenges{key: bytes.Repeat([]byte{8}, 32), now: c.now}).check(ch, "inv-1"); err == nil {
		t.Error("a challenge signed with another key was taken")
	}
	later := challenges{key: c.key, now: func() time.Time { return now.Add(challengeTTL + time.Minute) }}
	if err := later.check(ch, "inv-1"); err == nil {
		t.Error("an expired challenge was taken")
	}
}
