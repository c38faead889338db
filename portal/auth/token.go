package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"provportal/portal"
)

const (
	issuer         = "provportal"
	adminAudience  = "admin-api"
	deviceAudience = "device-api"
	// SigningKeyName is the name of the token signing key among the portal's secrets.
	SigningKeyName = "admin-token-hs256"
	// DeviceKeyName is the name of the device token signing key among the portal's secrets.
	DeviceKeyName = "device-token-hs256"
)

// NewSigningKey makes a 256-bit key for HS256.
func NewSigningKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

// Tokens issues and checks administrators' bearer tokens: HS256 JWTs signed
// with a key every portal process on one database shares.
type Tokens struct {
	key      []byte
	ttl      time.Duration
	audience string
	now      func() time.Time
}

// NewTokens makes a token issuer; ttl is how long a token lives.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: token signing key shorter than 256 bits")
	}
	return &Tokens{key: key, ttl: ttl, audience: adminAudience, now: time.Now}, nil
}

// NewDeviceTokens makes an issuer of device tokens. They use their own key
// and audience, so a device token never opens the admin API, nor the reverse.
func NewDeviceTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	t, err := NewTokens(key, ttl)
	if err != nil {
		return nil, err
	}
	t.audience = deviceAudience
	return t, nil
}

// Claims are what an administrator's token says.
type Claims struct {
	jwt.RegisteredClaims
	Username string      `json:"name"`
	Role     portal.Role `json:"role,omitempty"`
	// UserID is the user a device token acts for.
	UserID string `json:"uid,omitempty"`
}

// Issue signs a token for a; it expires after the configured lifetime.
func (t *Tokens) Issue(a *portal.Admin) (string, time.Time, error) {
	return t.issue(Claims{Username: a.Username, Role: a.Role}, a.ID)
}

// IssueDevice signs a token for a device acting for a user.
func (t *Tokens) IssueDevice(deviceID, userID string) (string, time.Time, error) {
	return t.issue(Claims{UserID: userID}, deviceID)
}

func (t *Tokens) issue(c Claims, subject string) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: issuer, Subject: subject, Audience: jwt.ClaimStrings{t.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		ID: fmt.Sprintf("%x", jti),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Parse checks a token's signature, algorithm, audience and expiry.
func (t *Tokens) Parse(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(t.now))
	if err != nil {
		msg := "the token is not valid; log on again"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the token has expired; log on again"
		}
		return nil, &portal.Error{Code: portal.CodeUnauthenticated, Msg: msg, Err: err}
	}
	return &c, nil
}
