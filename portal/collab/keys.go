package collab

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"provportal/packages/activation"
)

// atRestLabel is the HKDF info of the key that seals devices' collaboration
// keys in the database; no other key is derived from the portal's secret
// with it.
const atRestLabel = "provportal collaboration keys at rest v1"

// DeviceKeys seals enterprise-activated devices' collaboration keys for the
// database, and opens them at logon. Its key is derived with HKDF-SHA256
// from the portal's own secret, the Ed25519 signing key's seed, which lives
// in the data dir and not in the database: a copy of the database alone
// does not give the keys away. Each sealed key is bound to its device, so
// one device's key moved onto another's row does not open.
type DeviceKeys struct{ sealer *activation.Sealer }

// NewDeviceKeys derives the at-rest key from the portal's secret (at least 32 bytes).
func NewDeviceKeys(portalSecret []byte) (*DeviceKeys, error) {
	if len(portalSecret) < 32 {
		return nil, errors.New("collaboration: the portal secret for device keys is shorter than 256 bits")
	}
	key, err := hkdf.Key(sha256.New, portalSecret, nil, atRestLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("collaboration: derive the device keys' key: %w", err)
	}
	s, err := activation.NewSealer(key)
	if err != nil {
		return nil, err
	}
	return &DeviceKeys{sealer: s}, nil
}

// Seal seals a device's collaboration key for storage.
func (k *DeviceKeys) Seal(deviceID string, key []byte) ([]byte, error) {
	if len(key) != activation.CollaborationKeySize {
		return nil, fmt.Errorf("collaboration: a device key has %d bytes, want %d", len(key), activation.CollaborationKeySize)
	}
	return k.sealer.Seal(key, atRestAAD(deviceID)), nil
}

// Open opens what Seal sealed for the same device.
func (k *DeviceKeys) Open(deviceID string, sealed []byte) ([]byte, error) {
	key, err := k.sealer.Open(sealed, atRestAAD(deviceID))
	if err != nil {
		return nil, fmt.Errorf("collaboration: the stored key of device %s does not open: %w", deviceID, err)
	}
	return key, nil
}

func atRestAAD(deviceID string) []byte { return []byte(atRestLabel + "\x00device=" + deviceID) }

// String keeps key material out of logs.
func (k *DeviceKeys) String() string { return "collab.DeviceKeys" }
