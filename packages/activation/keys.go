package activation

import (
	"crypto/hmac"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

const (
	keySize   = 32 // AES-256
	ivSize    = 12 // the AES-GCM standard nonce
	labelBase = Suite + " provportal activation v1 "
)

// What the draft's section "Key confirmation" uses to derive the confirmation key.
const macKeyLabel = "CPaceMac"

// Keys is what both parties derive from one CPace run: the key-confirmation
// tags and the AES-256-GCM key and nonce base of each direction.
//
// Key confirmation follows draft-irtf-cfrg-cpace-21, section "Key confirmation"
// (under "Security Considerations"), with MAC = HMAC-SHA512:
//
//	mac_key = SHA-512(b"CPaceMac" || sid || ISK)
//	Ta      = HMAC-SHA512(mac_key, lv_cat(Ya, ADa))   // the initiator's tag
//	Tb      = HMAC-SHA512(mac_key, lv_cat(Yb, ADb))   // the responder's tag
//
// Each party MACs the message it sent; the direction is fixed by which
// message is MACed, and a share reflected back at its sender is refused so
// the two tags can never coincide.
//
// Channel keys come from HKDF-SHA512 with ISK as the secret, no salt (ISK
// is already uniform) and the info "CPACE-RISTR255-SHA512 provportal
// activation v1 device->portal" or "... portal->device"; each yields 44
// bytes: an AES-256 key, then a 12-byte nonce base.
//
// A Keys is not safe for concurrent use.
type Keys struct {
	tagInitiator, tagResponder []byte
	// Set by a successful Verify*; NewChannel requires the peer's.
	initiatorConfirmed, responderConfirmed bool

	deviceToPortal, portalToDevice directionKey
	// isk stays for CollaborationKey, which binds values not yet known here.
	isk []byte
}

type directionKey struct {
	key [keySize]byte
	iv  [ivSize]byte
}

// DeriveKeys derives the confirmation tags and channel keys from the ISK of
// one CPace run, its sid, and its transcript as [Transcript] returns it.
//
// The portal may keep isk, sid and transcript between the request that
// answered the device's share and the one that brings the device's tag, and
// call DeriveKeys again then: it is cheap and deterministic.
func DeriveKeys(isk, sid, transcript []byte) (*Keys, error) {
	if len(isk) != ISKSize {
		return nil, fmt.Errorf("derive activation keys: ISK has %d bytes, want %d", len(isk), ISKSize)
	}
	f, err := splitLV(transcript, 4)
	if err != nil {
		return nil, fmt.Errorf("derive activation keys: transcript: %w", err)
	}
	ya, ada, yb, adb := f[0], f[1], f[2], f[3]
	if len(ya) != ShareSize || len(yb) != ShareSize {
		return nil, errors.New("derive activation keys: transcript shares are not 32 bytes")
	}
	if hmac.Equal(ya, yb) {
		return nil, fmt.Errorf("derive activation keys: %w: both shares are equal", ErrInvalidShare)
	}

	macKey := confirmationKey(isk, sid)
	k := &Keys{
		tagInitiator: confirmationTag(macKey, ya, ada),
		tagResponder: confirmationTag(macKey, yb, adb),
		isk:          clone(isk),
	}
	clear(macKey)
	if err := k.deviceToPortal.derive(isk, "device->portal"); err != nil {
		return nil, err
	}
	if err := k.portalToDevice.derive(isk, "portal->device"); err != nil {
		return nil, err
	}
	return k, nil
}

// confirmationKey is mac_key = H.hash(b"CPaceMac" || sid || ISK).
func confirmationKey(isk, sid []byte) []byte {
	h := sha512.New()
	h.Write([]byte(macKeyLabel))
	h.Write(sid)
	h.Write(isk)
	return h.Sum(nil)
}

// confirmationTag is MAC(mac_key, lv_cat(Y, AD)) with MAC = HMAC-SHA512.
func confirmationTag(macKey, share, ad []byte) []byte {
	m := hmac.New(sha512.New, macKey)
	m.Write(lvCat(share, ad))
	return m.Sum(nil)
}

func (d *directionKey) derive(isk []byte, direction string) error {
	r := hkdf.New(sha512.New, isk, nil, []byte(labelBase+direction))
	var b [keySize + ivSize]byte
	defer clear(b[:])
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("derive %s key: %w", direction, err)
	}
	copy(d.key[:], b[:keySize])
	copy(d.iv[:], b[keySize:])
	return nil
}

// ConfirmInitiator returns the initiator's (the device's) confirmation tag
// Ta, for the device to send.
func (k *Keys) ConfirmInitiator() []byte { return clone(k.tagInitiator) }

// ConfirmResponder returns the responder's (the portal's) confirmation tag
// Tb, for the portal to send.
func (k *Keys) ConfirmResponder() []byte { return clone(k.tagResponder) }

// VerifyInitiator reports, in constant time, whether tag is the initiator's
// confirmation tag. The portal calls it; a false result means the device did
// not use the same password (or inputs), and the activation must stop.
func (k *Keys) VerifyInitiator(tag []byte) bool {
	ok := hmac.Equal(tag, k.tagInitiator)
	k.initiatorConfirmed = k.initiatorConfirmed || ok
	return ok
}

// VerifyResponder reports, in constant time, whether tag is the responder's
// confirmation tag. The device calls it before sending its own tag.
func (k *Keys) VerifyResponder(tag []byte) bool {
	ok := hmac.Equal(tag, k.tagResponder)
	k.responderConfirmed = k.responderConfirmed || ok
	return ok
}

// String keeps key material out of logs.
func (k *Keys) String() string {
	return fmt.Sprintf("activation.Keys{initiator confirmed: %t, responder confirmed: %t}",
		k.initiatorConfirmed, k.responderConfirmed)
}
