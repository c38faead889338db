package collab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"provportal/packages/activation"
	"provportal/portal"
	"provportal/portal/xmpp"
)

// The service's behaviour against a real Prosody is tested in portal/server
// (collaboration_test.go), through the portal and the bootloader's client.

func TestLocalpart(t *testing.T) {
	for in, want := range map[string]string{"alice": "alice", "Alice.Smith": "alice.smith", "bob@example.com": "bob"} {
		if got := localpart(in); got != want {
			t.Errorf("localpart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusInterval(t *testing.T) {
	tests := []struct {
		idle time.Duration
		want time.Duration
	}{
		{0, time.Minute},
		{2 * time.Second, time.Second},
		{30 * time.Second, 10 * time.Second},
		{time.Hour, time.Minute},
	}
	for _, tc := range tests {
		got := time.Duration(statusInterval(portal.CollaborationSettings{IdleTimeout: portal.Duration(tc.idle)}))
		if got != tc.want {
			t.Errorf("idle timeout %v: status interval %v, want %v", tc.idle, got, tc.want)
		}
	}
}

func TestMessagingRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code portal.Code
	}{
		{"wrong_password", &xmpp.SASLError{Mechanism: "SCRAM-SHA-1", Condition: "not-authorized"}, portal.CodeBadCredentials},
		{"account_disabled", &xmpp.SASLError{Mechanism: "SCRAM-SHA-1", Condition: "account-disabled"}, portal.CodeFailed},
		{"server_at_its_limit", fmt.Errorf("%w: %w", xmpp.ErrServerUnavailable, io.EOF), portal.CodeFailed},
		{"no_tls", xmpp.ErrTLSRequired, portal.CodeFailed},
		{"too_slow", context.DeadlineExceeded, portal.CodeFailed},
		{"anything_else", errors.New("dial tcp: connection refused"), portal.CodeFailed},
	}
	for _, tc := range tests {
		r := messagingRefusal(tc.err)
		if r.code != tc.code || r.msg == "" {
			t.Errorf("%s: %v, want %s with a reason", tc.name, r, tc.code)
		}
	}
}

func TestDeviceKeysSealForOneDeviceAndSecret(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, 32)
	keys, err := NewDeviceKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{0x42}, activation.CollaborationKeySize)
	sealed, err := keys.Seal("device-1", key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, key[:8]) {
		t.Fatal("the sealed key carries the key in clear")
	}
	if got, err := keys.Open("device-1", sealed); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Open = %x, %v; want the key", got, err)
	}
	if _, err := keys.Open("device-2", sealed); !errors.Is(err, activation.ErrTampered) {
		t.Errorf("moved onto another device: err = %v, want ErrTampered", err)
	}
	other, err := NewDeviceKeys(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open("device-1", sealed); !errors.Is(err, activation.ErrTampered) {
		t.Errorf("another portal's secret: err = %v, want ErrTampered", err)
	}
	if _, err := keys.Seal("device-1", key[:16]); err == nil {
		t.Error("Seal accepted a 16-byte key")
	}
	if _, err := NewDeviceKeys(secret[:16]); err == nil {
		t.Error("NewDeviceKeys accepted a 128-bit secret")
	}
}
