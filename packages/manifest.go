package packages

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ManifestVersion is the manifest format this code writes and reads.
const ManifestVersion = 1

// Manifest is what one user's device on one platform must have installed:
// apps by content hash, the merged IT policy and the service books.
type Manifest struct {
	Version      int           `json:"version"`
	DeviceID     string        `json:"device_id"`
	Platform     string        `json:"platform"`
	User         ManifestUser  `json:"user"`
	GeneratedAt  time.Time     `json:"generated_at"`
	Apps         []ManifestApp `json:"apps"`
	Policy       Policy        `json:"policy"`
	ServiceBooks []ServiceBook `json:"service_books"`
}

// ManifestUser names the user a manifest was built for.
type ManifestUser struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// ManifestApp is one app to install: its bytes are the blob with this SHA-256.
type ManifestApp struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Filename string `json:"filename,omitempty"`
	// URL downloads the bytes; relative URLs are resolved against the portal's URL.
	URL string `json:"url"`
}

// Policy is the IT policy a device must enforce, merged from every policy
// assigned to the user and their groups.
type Policy struct {
	Rules   map[string]any `json:"rules"`
	Sources []string       `json:"sources"` // names of the policies merged, in precedence order
}

// ServiceBook configures one service on the device (e-mail, calendar, sync, browser).
type ServiceBook struct {
	Type   string            `json:"type"`
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields"`
}

// Fingerprint names an Ed25519 public key: "sha256:" and the hex SHA-256 of its 32 bytes.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "sha256:" + hex.EncodeToString(sum[:])
}

type manifestClaims struct {
	jwt.RegisteredClaims
	Manifest Manifest `json:"manifest"`
}

const manifestAudience = "device"

// SignManifest makes a compact JWS (EdDSA) of m. The header carries the
// public key (jwk) so a device can check it against the fingerprint it pins.
func SignManifest(m Manifest, key ed25519.PrivateKey, ttl time.Duration) (string, error) {
	now := m.GeneratedAt
	if now.IsZero() {
		now = time.Now()
	}
	c := manifestClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "provportal", Audience: jwt.ClaimStrings{manifestAudience}, Subject: m.DeviceID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Manifest: m,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	pub := key.Public().(ed25519.PublicKey)
	tok.Header["jwk"] = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}
	tok.Header["kid"] = Fingerprint(pub)
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign manifest: %w", err)
	}
	return s, nil
}

// ErrUntrustedKey says a manifest was signed by a key other than the pinned one.
var ErrUntrustedKey = errors.New("the manifest is signed by a key this device does not trust")

// VerifyManifest checks a signed manifest: EdDSA only, signed by the key
// whose fingerprint is pinned, not expired, for a device. Nothing in the
// manifest may be used before this returns without error.
func VerifyManifest(jws, pinnedFingerprint string) (*Manifest, error) {
	var c manifestClaims
	_, err := jwt.ParseWithClaims(jws, &c, func(t *jwt.Token) (any, error) {
		pub, err := headerKey(t.Header)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(Fingerprint(pub), pinnedFingerprint) {
			return nil, ErrUntrustedKey
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithAudience(manifestAudience),
		jwt.WithExpirationRequired())
	if err != nil {
		if errors.Is(err, ErrUntrustedKey) {
			return nil, ErrUntrustedKey
		}
		return nil, fmt.Errorf("verify manifest: %w", err)
	}
	if c.Manifest.Version != ManifestVersion {
		return nil, fmt.Errorf("verify manifest: format version %d, this bootloader reads %d", c.Manifest.Version, ManifestVersion)
	}
	return &c.Manifest, nil
}

func headerKey(h map[string]any) (ed25519.PublicKey, error) {
	jwk, ok := h["jwk"].(map[string]any)
	if !ok || jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
		return nil, errors.New("the manifest carries no Ed25519 key")
	}
	x, _ := jwk["x"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("the manifest's key is malformed")
	}
	return ed25519.PublicKey(raw), nil
}
