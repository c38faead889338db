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
	issuer        = "provportal"
	adminAudience = "admin-api"
	// SigningKeyName is the name of the token signing key among the portal's secrets.
	SigningKeyName = "admin-token-hs256"
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
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewTokens makes a token issuer; ttl is how long a token lives.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: token signing key shorter than 256 bits")
	}
	return &Tokens{key: key, ttl: ttl, now: time.Now}, nil
}

// Claims are what an administrator's token says.
type Claims struct {
	jwt.RegisteredClaims
	Username string      `json:"name"`
	Role     portal.Role `json:"role"`
}

// Issue signs a token for a; it expires after the configured lifetime.
func (t *Tokens) Issue(a *portal.Admin) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Subject: a.ID, Audience: jwt.ClaimStrings{adminAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
			ID: fmt.Sprintf("%x", jti),
		},
		Username: a.Username,
		Role:     a.Role,
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
		jwt.WithIssuer(issuer), jwt.WithAudience(adminAudience),
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
