package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"provportal/portal"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h1, err := HashPassword("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse", fast)
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h1, "correct horse") {
		t.Errorf("hash %q is not a PHC argon2id string, or holds the password", h1)
	}
	tests := []struct {
		name, hash, password string
		want                 bool
		wantErr              bool
	}{
		{"right_password", h1, "correct horse", true, false},
		{"wrong_password", h1, "correct horsE", false, false},
		{"empty_password", h1, "", false, false},
		{"other_scheme", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{"truncated", h1[:len(h1)-10], "correct horse", false, true},
		{"garbage", "nonsense", "x", false, true},
		{"bad_params", "$argon2id$v=19$m=x,t=1,p=1$c2FsdA$aGFzaA", "x", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.hash, tt.password)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("VerifyPassword = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p, err := GeneratePassword(20)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 20 || strings.ContainsAny(p, "0O1lI") || seen[p] {
			t.Fatalf("GeneratePassword = %q: wrong length, ambiguous characters or a repeat", p)
		}
		seen[p] = true
	}
}

func TestTokens(t *testing.T) {
	key, _ := NewSigningKey()
	tokens, err := NewTokens(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin := &portal.Admin{ID: "a1", Username: "root", Role: portal.RoleHelpdesk}
	tok, exp, err := tokens.Issue(admin)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expires in %v, want an hour", d)
	}
	c, err := tokens.Parse(tok)
	if err != nil || c.Subject != "a1" || c.Role != portal.RoleHelpdesk || c.Username != "root" {
		t.Fatalf("Parse = %+v, %v", c, err)
	}

	// Two hours later the token is dead.
	tokens.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := tokens.Parse(tok); portal.CodeOf(err) != portal.CodeUnauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v, want unauthenticated saying expired", err)
	}
	tokens.now = time.Now

	// A token for another audience, even with our key, is refused.
	other, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "provportal", "aud": "device-api", "sub": "a1",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
	if _, err := tokens.Parse(other); err == nil {
		t.Error("a token for another audience was accepted")
	}
	if _, err := NewTokens([]byte("short"), time.Hour); err == nil {
		t.Error("a short signing key was accepted")
	}
}

// memThrottle is the smallest LoginThrottle and admin lookup there is, so the
// logon rules can be checked on their own; the stores' own throttle is tested
// against real databases in storetest.
type memThrottle struct {
	admins   map[string]*portal.Admin
	failures map[string]int
	blocked  map[string]time.Time
}

func (m *memThrottle) AdminByUsername(_ context.Context, u string) (*portal.Admin, error) {
	if a, ok := m.admins[strings.ToLower(u)]; ok {
		return a, nil
	}
	return nil, portal.Errorf(portal.CodeNotFound, "no admin %s", u)
}

func (m *memThrottle) BlockedUntil(_ context.Context, now time.Time, keys ...string) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		if b := m.blocked[k]; b.After(now) && b.After(until) {
			until = b
		}
	}
	return until, nil
}

func (m *memThrottle) RecordFailure(_ context.Context, now time.Time, keys ...string) (time.Time, error) {
	for _, k := range keys {
		m.failures[k]++
		m.blocked[k] = now.Add(portal.ThrottleDelay(k, m.failures[k]))
	}
	return time.Time{}, nil
}

func (m *memThrottle) Reset(_ context.Context, keys ...string) error {
	for _, k := range keys {
		delete(m.failures, k)
		delete(m.blocked, k)
	}
	return nil
}

func TestLoginThrottlesPerAccountAndAddress(t *testing.T) {
	hash, _ := HashPassword("right-password", fast)
	store := &memThrottle{admins: map[string]*portal.Admin{
		"root": {ID: "1", Username: "root", Role: portal.RoleAdmin, PasswordHash: hash},
		"ops":  {ID: "2", Username: "ops", Role: portal.RoleAdmin, PasswordHash: hash},
	}, failures: map[string]int{}, blocked: map[string]time.Time{}}
	key, _ := NewSigningKey()
	tokens, _ := NewTokens(key, time.Hour)
	l := NewLogin(store, tokens)
	ctx := context.Background()

	for i := range portal.FreeAccountFailures {
		if _, err := l.Admin(ctx, "root", "wrong", "10.0.0.1"); portal.CodeOf(err) != portal.CodeBadCredentials {
			t.Fatalf("failure %d: %v, want bad credentials", i+1, err)
		}
	}
	_, err := l.Admin(ctx, "ROOT", "right-password", "10.0.0.2")
	var pe *portal.Error
	if portal.CodeOf(err) != portal.CodeTooManyAttempts {
		t.Fatalf("right password on a throttled account from another address: %v, want too_many_attempts", err)
	}
	if pe = err.(*portal.Error); pe.RetryAfter < time.Second {
		t.Errorf("RetryAfter = %v, want at least a second", pe.RetryAfter)
	}
	if _, err := l.Admin(ctx, "ops", "right-password", "10.0.0.1"); err != nil {
		t.Errorf("another account from the same address: %v, want logged on", err)
	}
	// An address guessing across accounts is slowed down too.
	for i := range portal.FreeAddressFailures {
		l.Admin(ctx, "user"+string(rune('a'+i)), "wrong", "10.9.9.9")
	}
	if _, err := l.Admin(ctx, "ops", "right-password", "10.9.9.9"); portal.CodeOf(err) != portal.CodeTooManyAttempts {
		t.Errorf("guessing address: %v, want too_many_attempts", err)
	}
}
