package packages_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"provportal/packages"
)

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func sampleManifest() packages.Manifest {
	return packages.Manifest{
		Version:     packages.ManifestVersion,
		DeviceID:    "dev-1",
		Platform:    "linux-amd64",
		User:        packages.ManifestUser{ID: "u-1", Username: "alice", DisplayName: "Alice"},
		GeneratedAt: time.Now().UTC().Truncate(time.Second),
		Apps: []packages.ManifestApp{{
			Name: "field-notes", Version: "1.0.0", SHA256: strings.Repeat("ab", 32), Size: 2400000,
			Filename: "field-notes.tar.gz", URL: "/device/v1/blobs/" + strings.Repeat("ab", 32),
		}},
		Policy:       packages.Policy{Rules: map[string]any{"camera_allowed": false}, Sources: []string{"Baseline"}},
		ServiceBooks: []packages.ServiceBook{{Type: "email", Name: "Work mail", Fields: map[string]string{"host": "imap.example.com"}}},
	}
}

func TestManifestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := newKey(t)
	m := sampleManifest()
	jws, err := packages.SignManifest(m, priv, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := packages.VerifyManifest(jws, packages.Fingerprint(pub))
	if err != nil {
		t.Fatalf("VerifyManifest: %v", err)
	}
	got.GeneratedAt = got.GeneratedAt.UTC()
	if !reflect.DeepEqual(*got, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, m)
	}
	// The fingerprint is compared without regard to case.
	if _, err := packages.VerifyManifest(jws, strings.ToUpper(packages.Fingerprint(pub))); err != nil {
		t.Errorf("upper-case fingerprint: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	pub := ed25519.PublicKey(make([]byte, ed25519.PublicKeySize))
	// SHA-256 of 32 zero bytes.
	want := "sha256:66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
	if got := packages.Fingerprint(pub); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// forge signs claims with a header of our choosing, as an attacker would.
func forge(t *testing.T, method jwt.SigningMethod, claims jwt.MapClaims, jwk ed25519.PublicKey, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if jwk != nil {
		tok.Header["jwk"] = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(jwk)}
		tok.Header["kid"] = packages.Fingerprint(jwk)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(m packages.Manifest, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": "provportal", "aud": []string{"device"}, "sub": m.DeviceID, "iat": time.Now().Unix(), "exp": exp.Unix(), "manifest": m}
}

func TestVerifyManifestRefuses(t *testing.T) {
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	pinned := packages.Fingerprint(pub)
	m := sampleManifest()
	good, err := packages.SignManifest(m, priv, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	valid := time.Now().Add(time.Hour)

	tests := []struct {
		name string
		jws  string
		want error // the reason, when a sentinel names it
	}{
		{name: "wrong_fingerprint", jws: func() string {
			s, _ := packages.SignManifest(m, otherPriv, time.Hour)
			return s
		}(), want: packages.ErrUntrustedKey},
		{name: "other_key_claiming_pinned_jwk", jws: forge(t, jwt.SigningMethodEdDSA, claims(m, valid), pub, otherPriv), want: jwt.ErrTokenSignatureInvalid},
		{name: "alg_none", jws: forge(t, jwt.SigningMethodNone, claims(m, valid), pub, jwt.UnsafeAllowNoneSignatureType), want: jwt.ErrTokenSignatureInvalid},
		{name: "hs256_with_public_key_bytes", jws: forge(t, jwt.SigningMethodHS256, claims(m, valid), pub, []byte(pub)), want: jwt.ErrTokenSignatureInvalid},
		{name: "hs256_with_fingerprint", jws: forge(t, jwt.SigningMethodHS256, claims(m, valid), pub, []byte(pinned)), want: jwt.ErrTokenSignatureInvalid},
		{name: "expired", jws: func() string {
			old := m
			old.GeneratedAt = time.Now().Add(-2 * time.Hour)
			s, _ := packages.SignManifest(old, priv, time.Hour)
			return s
		}(), want: jwt.ErrTokenExpired},
		{name: "no_expiry", jws: forge(t, jwt.SigningMethodEdDSA, jwt.MapClaims{"aud": "device", "manifest": m}, pub, priv), want: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong_audience", jws: forge(t, jwt.SigningMethodEdDSA, jwt.MapClaims{"aud": "admin", "exp": valid.Unix(), "manifest": m}, pub, priv), want: jwt.ErrTokenInvalidAudience},
		{name: "no_jwk_in_header", jws: forge(t, jwt.SigningMethodEdDSA, claims(m, valid), nil, priv), want: jwt.ErrTokenUnverifiable},
		{name: "tampered_payload", jws: tamperPayload(t, good, func(c map[string]any) {
			c["manifest"].(map[string]any)["apps"].([]any)[0].(map[string]any)["sha256"] = strings.Repeat("cd", 32)
		}), want: jwt.ErrTokenSignatureInvalid},
		{name: "tampered_device", jws: tamperPayload(t, good, func(c map[string]any) {
			c["manifest"].(map[string]any)["device_id"] = "dev-2"
		}), want: jwt.ErrTokenSignatureInvalid},
		{name: "signature_cut", jws: good[:strings.LastIndexByte(good, '.')+1]},
		{name: "garbage", jws: "not.a.jws", want: jwt.ErrTokenMalformed},
		{name: "future_format_version", jws: func() string {
			future := m
			future.Version = packages.ManifestVersion + 1
			s, _ := packages.SignManifest(future, priv, time.Hour)
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := packages.VerifyManifest(tc.jws, pinned)
			if err == nil {
				t.Fatalf("VerifyManifest accepted it: %+v", got)
			}
			if got != nil {
				t.Errorf("a refused manifest came back: %+v", got)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// tamperPayload edits the claims of a signed JWS and keeps the old signature.
func tamperPayload(t *testing.T, jws string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
