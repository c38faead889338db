package activation

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// An enterprise activation leaves the device and the portal one long-lived
// secret besides its session: the device's collaboration key, with which the
// device seals its messaging credentials for the collaboration service, so
// that the password stays hidden from whatever sits between the two (a DMZ
// proxy where TLS ends, a LAN without it).
//
//	key = HKDF-SHA256(secret = ISK, salt = none,
//	                  info = "provportal collaboration key v1" || lv_cat(device ID, portal key fingerprint))
//
// Both sides derive it once the peer's key confirmation has been verified,
// so only a device that knew the activation password and the portal that
// created it hold it. It is bound to one device and one portal key; no
// other key of the package is derived with this label or hash.
//
// A logon seals the credentials with AES-256-GCM and a random 96-bit nonce
// (cipher.NewGCMWithRandomNonce: nonce || ciphertext || tag), the
// associated data being
//
//	"provportal collaboration logon v1" || lv_cat(device ID, challenge)
//
// where the challenge is fresh random bytes the portal sent on this very
// connection: a recorded logon does not open on another connection, nor for
// another device, nor for another purpose.

const (
	// CollaborationKeySize is the size of a device's collaboration key: an AES-256 key.
	CollaborationKeySize = 32
	// LogonChallengeSize is the size of the challenge the portal sends for each logon.
	LogonChallengeSize = 32

	collaborationKeyLabel = "provportal collaboration key v1"
	logonPurpose          = "provportal collaboration logon v1"
)

// ErrNoChallenge is returned when a logon is sealed or opened without a
// challenge of LogonChallengeSize bytes.
var ErrNoChallenge = fmt.Errorf("activation: a logon challenge of %d bytes is required", LogonChallengeSize)

// CollaborationKey derives the device's collaboration key from this
// activation, for the device (Initiator) or the portal (Responder). Like
// NewChannel, it requires the peer's confirmation to have been verified.
func (k *Keys) CollaborationKey(r Role, deviceID, portalFingerprint string) ([]byte, error) {
	switch {
	case r == Initiator && !k.responderConfirmed, r == Responder && !k.initiatorConfirmed:
		return nil, ErrUnconfirmed
	case r != Initiator && r != Responder:
		return nil, fmt.Errorf("activation: unknown role %d", r)
	case deviceID == "" || portalFingerprint == "":
		return nil, errors.New("activation: a collaboration key needs the device ID and the portal key's fingerprint")
	}
	info := collaborationKeyLabel + string(lvCat([]byte(deviceID), []byte(portalFingerprint)))
	key, err := hkdf.Key(sha256.New, k.isk, nil, info, CollaborationKeySize)
	if err != nil {
		return nil, fmt.Errorf("derive collaboration key: %w", err)
	}
	return key, nil
}

// NewLogonChallenge returns fresh random bytes for one logon.
func NewLogonChallenge() []byte {
	c := make([]byte, LogonChallengeSize)
	rand.Read(c) // never fails: it panics rather than return short
	return c
}

// SealLogon seals a device's messaging credentials for one logon with its
// collaboration key, bound to the device and the challenge the portal sent.
func SealLogon(key []byte, deviceID string, challenge, credentials []byte) ([]byte, error) {
	if len(challenge) != LogonChallengeSize {
		return nil, ErrNoChallenge
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, err
	}
	return s.Seal(credentials, logonAAD(deviceID, challenge)), nil
}

// OpenLogon opens what SealLogon sealed; anything sealed with another key,
// for another device or challenge, or altered, is ErrTampered.
func OpenLogon(key []byte, deviceID string, challenge, sealed []byte) ([]byte, error) {
	if len(challenge) != LogonChallengeSize {
		return nil, ErrNoChallenge
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, err
	}
	return s.Open(sealed, logonAAD(deviceID, challenge))
}

func logonAAD(deviceID string, challenge []byte) []byte {
	return append([]byte(logonPurpose), lvCat([]byte(deviceID), challenge)...)
}

// Sealer seals single messages with AES-256-GCM under a long-lived key, each
// with a random 96-bit nonce carried in front of the ciphertext. Unlike a
// Channel it keeps no sequence numbers: freshness, where it matters, comes
// from the associated data. Random nonces keep a key safe for far more than
// the 2^32 messages such a key will ever seal. A Sealer is safe for
// concurrent use.
type Sealer struct{ aead cipher.AEAD }

// NewSealer makes a Sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("activation: sealing key has %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("activation sealer: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("activation sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates aad with it: nonce || ciphertext || tag.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	return s.aead.Seal(nil, nil, plaintext, aad)
}

// Open decrypts what Seal returned, given the same aad; anything else is ErrTampered.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	pt, err := s.aead.Open(nil, nil, sealed, aad)
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// String keeps key material out of logs.
func (s *Sealer) String() string { return "activation.Sealer{AES-256-GCM, random nonces}" }
