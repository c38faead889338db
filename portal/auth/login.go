package auth

import (
	"context"
	"fmt"
	"math"
	"time"

	"provportal/portal"
)

type adminLoginStore interface {
	AdminByUsername(ctx context.Context, username string) (*portal.Admin, error)
	portal.LoginThrottle
}

// Login logs administrators on.
type Login struct {
	store  adminLoginStore
	tokens *Tokens
	now    func() time.Time
}

// NewLogin makes a Login.
func NewLogin(store adminLoginStore, tokens *Tokens) *Login {
	return &Login{store: store, tokens: tokens, now: time.Now}
}

// Session is a successful logon.
type Session struct {
	Token     string        `json:"token"`
	ExpiresAt time.Time     `json:"expires_at"`
	Admin     *portal.Admin `json:"admin"`
}

// Admin checks an administrator's username and password, refusing while the
// account or the address is throttled, and returns a signed token.
func (l *Login) Admin(ctx context.Context, username, password, addr string) (*Session, error) {
	keys := []string{portal.AccountKey("admin", username), portal.AddressKey(addr)}
	now := l.now()
	until, err := l.store.BlockedUntil(ctx, now, keys...)
	if err != nil {
		return nil, fmt.Errorf("read logon throttle: %w", err)
	}
	if !until.IsZero() {
		return nil, Throttled(until.Sub(now))
	}
	a, err := l.store.AdminByUsername(ctx, username)
	if err != nil && !portal.IsNotFound(err) {
		return nil, err
	}
	hash := dummyHash
	if a != nil {
		hash = a.PasswordHash
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil || a == nil || !ok {
		if _, err := l.store.RecordFailure(ctx, now, keys...); err != nil {
			return nil, fmt.Errorf("record failed logon: %w", err)
		}
		return nil, portal.Errorf(portal.CodeBadCredentials, "username or password is incorrect")
	}
	// Only the account is forgiven: an address that guesses across many
	// accounts stays slowed down by its earlier failures.
	if err := l.store.Reset(ctx, keys[0]); err != nil {
		return nil, fmt.Errorf("reset logon throttle: %w", err)
	}
	token, exp, err := l.tokens.Issue(a)
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, ExpiresAt: exp, Admin: a}, nil
}

// Throttled is the error for a logon refused while its counters are blocked.
func Throttled(wait time.Duration) *portal.Error {
	secs := int(math.Ceil(wait.Seconds()))
	return &portal.Error{
		Code:       portal.CodeTooManyAttempts,
		Msg:        fmt.Sprintf("too many failed logons; try again in %d seconds", secs),
		RetryAfter: time.Duration(secs) * time.Second,
	}
}
