package activation_test

import (
	"bytes"
	"errors"
	"testing"

	"provportal/packages/activation"
)

const (
	testDevice      = "device-1234"
	testFingerprint = "SHA256:portal-key"
)

// collaborationKeys runs an activation and derives the collaboration key on both sides.
func collaborationKeys(t *testing.T) (device, portal []byte) {
	t.Helper()
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	device, err = dev.keys.CollaborationKey(activation.Initiator, testDevice, testFingerprint)
	if err != nil {
		t.Fatalf("device CollaborationKey: %v", err)
	}
	portal, err = ptl.keys.CollaborationKey(activation.Responder, testDevice, testFingerprint)
	if err != nil {
		t.Fatalf("portal CollaborationKey: %v", err)
	}
	return device, portal
}

func TestCollaborationKeyAgrees(t *testing.T) {
	dev, ptl, err := run(t, newParty("pw"), newParty("pw"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := dev.keys.CollaborationKey(activation.Initiator, testDevice, testFingerprint)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ptl.keys.CollaborationKey(activation.Responder, testDevice, testFingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != activation.CollaborationKeySize || !bytes.Equal(d, p) {
		t.Fatalf("device key %x, portal key %x: want the same %d bytes", d, p, activation.CollaborationKeySize)
	}
	for name, other := range map[string][2]string{
		"other_device":      {"device-9999", testFingerprint},
		"other_portal_key":  {testDevice, "SHA256:another-portal"},
		"fields_run_across": {testDevice + "S", "HA256:portal-key"},
	} {
		k, err := dev.keys.CollaborationKey(activation.Initiator, other[0], other[1])
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(k, d) {
			t.Errorf("%s: the same collaboration key", name)
		}
	}
	// Another activation of the same device gives another key.
	again, _ := collaborationKeys(t)
	if bytes.Equal(again, d) {
		t.Error("two activations gave the same collaboration key")
	}
}

func TestCollaborationKeyRefuses(t *testing.T) {
	t.Run("unconfirmed", func(t *testing.T) {
		device, portal := newParty("right"), newParty("wrong")
		dev, ptl, err := run(t, device, portal)
		if err == nil {
			t.Fatal("the activation succeeded with different passwords")
		}
		if _, err := dev.keys.CollaborationKey(activation.Initiator, testDevice, testFingerprint); !errors.Is(err, activation.ErrUnconfirmed) {
			t.Errorf("device: err = %v, want ErrUnconfirmed", err)
		}
		if _, err := ptl.keys.CollaborationKey(activation.Responder, testDevice, testFingerprint); !errors.Is(err, activation.ErrUnconfirmed) {
			t.Errorf("portal: err = %v, want ErrUnconfirmed", err)
		}
	})
	t.Run("missing_binding", func(t *testing.T) {
		dev, _, err := run(t, newParty("pw"), newParty("pw"))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][2]string{{"", testFingerprint}, {testDevice, ""}} {
			if _, err := dev.keys.CollaborationKey(activation.Initiator, in[0], in[1]); err == nil {
				t.Errorf("CollaborationKey(%q, %q) accepted", in[0], in[1])
			}
		}
		if _, err := dev.keys.CollaborationKey(activation.Role(9), testDevice, testFingerprint); err == nil {
			t.Error("CollaborationKey accepted an unknown role")
		}
	})
}

func TestSealLogon(t *testing.T) {
	device, portal := collaborationKeys(t)
	challenge := activation.NewLogonChallenge()
	credentials := []byte(`{"password":"alice-im-secret"}`)
	sealed, err := activation.SealLogon(device, testDevice, challenge, credentials)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("alice-im-secret")) {
		t.Fatal("the sealed logon carries the password in clear")
	}
	got, err := activation.OpenLogon(portal, testDevice, challenge, sealed)
	if err != nil || !bytes.Equal(got, credentials) {
		t.Fatalf("OpenLogon = %q, %v; want the credentials", got, err)
	}
	again, _ := activation.SealLogon(device, testDevice, challenge, credentials)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same credentials are equal: the nonce is not fresh")
	}

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	other, _ := collaborationKeys(t)
	for _, tc := range []struct {
		name      string
		key       []byte
		deviceID  string
		challenge []byte
		sealed    []byte
	}{
		{"wrong_key", other, testDevice, challenge, sealed},
		{"replayed_challenge", portal, testDevice, activation.NewLogonChallenge(), sealed},
		{"other_device", portal, "device-9999", challenge, sealed},
		{"tampered_nonce", portal, testDevice, challenge, flip(0)},
		{"tampered_ciphertext", portal, testDevice, challenge, flip(12)},
		{"tampered_tag", portal, testDevice, challenge, flip(len(sealed) - 1)},
		{"truncated", portal, testDevice, challenge, sealed[:20]},
		{"empty", portal, testDevice, challenge, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := activation.OpenLogon(tc.key, tc.deviceID, tc.challenge, tc.sealed)
			if !errors.Is(err, activation.ErrTampered) || got != nil {
				t.Fatalf("OpenLogon = %q, %v; want ErrTampered", got, err)
			}
		})
	}

	t.Run("no_challenge", func(t *testing.T) {
		if _, err := activation.SealLogon(device, testDevice, nil, credentials); !errors.Is(err, activation.ErrNoChallenge) {
			t.Errorf("SealLogon without a challenge: err = %v, want ErrNoChallenge", err)
		}
		if _, err := activation.OpenLogon(portal, testDevice, challenge[:16], sealed); !errors.Is(err, activation.ErrNoChallenge) {
			t.Errorf("OpenLogon with a short challenge: err = %v, want ErrNoChallenge", err)
		}
	})
	t.Run("bad_key_size", func(t *testing.T) {
		if _, err := activation.SealLogon(device[:16], testDevice, challenge, credentials); err == nil {
			t.Error("SealLogon accepted a 16-byte key")
		}
	})
}

func TestLogonChallengesAreFresh(t *testing.T) {
	a, b := activation.NewLogonChallenge(), activation.NewLogonChallenge()
	if len(a) != activation.LogonChallengeSize || bytes.Equal(a, b) {
		t.Fatalf("challenges %x and %x: want two different %d-byte values", a, b, activation.LogonChallengeSize)
	}
}

func TestSealerRefusesOtherAAD(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := activation.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("secret"), []byte("device-1"))
	if got, err := s.Open(sealed, []byte("device-1")); err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, []byte("device-2")); !errors.Is(err, activation.ErrTampered) {
		t.Fatalf("Open with another aad: err = %v, want ErrTampered", err)
	}
	if s.String() == "" || bytes.Contains([]byte(s.String()), key[:4]) {
		t.Errorf("String() = %q", s.String())
	}
}
