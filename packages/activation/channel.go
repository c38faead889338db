package activation

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Role is which end of an activation a Channel serves.
type Role uint8

const (
	// Initiator is the device: it sends with the device->portal key and
	// receives with the portal->device key.
	Initiator Role = 1
	// Responder is the portal: the other way round.
	Responder Role = 2
)

func (r Role) String() string {
	switch r {
	case Initiator:
		return "initiator"
	case Responder:
		return "responder"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

var (
	// ErrUnconfirmed is returned by NewChannel before the peer's
	// confirmation tag has been verified on the Keys.
	ErrUnconfirmed = errors.New("activation: the peer's key confirmation has not been verified")
	// ErrReplay is returned by Open for a message whose sequence number was
	// already received.
	ErrReplay = errors.New("activation: message replayed")
	// ErrOutOfOrder is returned by Open for a message whose sequence number
	// is ahead of the next one expected: an earlier message was skipped, or
	// the messages arrived reordered. The channel still expects the missing
	// one.
	ErrOutOfOrder = errors.New("activation: message out of order")
	// ErrTampered is returned by Open when a message at the expected
	// sequence number fails authentication: its ciphertext, sequence number
	// or associated data were altered, or it was sealed with another key.
	ErrTampered = errors.New("activation: message failed authentication")
)

// Envelope is one sealed message as it travels, in JSON
// {"seq":N,"ct":"base64"}. Seq is authenticated: it determines the nonce.
type Envelope struct {
	Seq uint64 `json:"seq"`
	CT  []byte `json:"ct"`
}

// Channel seals and opens the messages of one activation for one role, with
// AES-256-GCM and a sequence number per direction, starting at 0. The nonce
// is the direction's nonce base XOR the big-endian sequence number (as in
// TLS 1.3), so a nonce is never used twice under a key, and a message opens
// only at the position it was sealed for. A Channel is safe for concurrent
// use; its state must still be saved after each Seal or Open that is meant
// to count (see MarshalState).
type Channel struct {
	mu         sync.Mutex
	role       Role
	send, recv direction
}

type direction struct {
	directionKey
	seq  uint64 // the next sequence number to seal, or to accept
	aead cipher.AEAD
}

// NewChannel returns the channel of role r, its sequence numbers at 0. The
// peer's confirmation tag must have been verified on k: VerifyResponder by
// the device (Initiator), VerifyInitiator by the portal (Responder).
func NewChannel(k *Keys, r Role) (*Channel, error) {
	var send, recv directionKey
	switch r {
	case Initiator:
		if !k.responderConfirmed {
			return nil, ErrUnconfirmed
		}
		send, recv = k.deviceToPortal, k.portalToDevice
	case Responder:
		if !k.initiatorConfirmed {
			return nil, ErrUnconfirmed
		}
		send, recv = k.portalToDevice, k.deviceToPortal
	default:
		return nil, fmt.Errorf("activation: unknown role %d", r)
	}
	return newChannel(r, send, recv, 0, 0)
}

func newChannel(r Role, send, recv directionKey, sendSeq, recvSeq uint64) (*Channel, error) {
	c := &Channel{role: r}
	var err error
	if c.send, err = newDirection(send, sendSeq); err != nil {
		return nil, err
	}
	if c.recv, err = newDirection(recv, recvSeq); err != nil {
		return nil, err
	}
	return c, nil
}

func newDirection(k directionKey, seq uint64) (direction, error) {
	block, err := aes.NewCipher(k.key[:])
	if err != nil {
		return direction{}, fmt.Errorf("activation channel: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return direction{}, fmt.Errorf("activation channel: %w", err)
	}
	return direction{directionKey: k, seq: seq, aead: aead}, nil
}

func (d *direction) nonce(seq uint64) []byte {
	n := d.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		n[ivSize-8+i] ^= s[i]
	}
	return n[:]
}

// Role returns the role the channel was made for.
func (c *Channel) Role() Role { return c.role }

// Seal encrypts plaintext as the next message of this role's sending
// direction, authenticating aad with it (the receiver must pass the same
// aad to Open), and advances the sending sequence number.
//
// Seal panics once 2^64-1 messages have been sealed, which no activation
// reaches; RestoreChannel refuses a state at that limit.
func (c *Channel) Seal(plaintext, aad []byte) Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.send.seq == math.MaxUint64 {
		panic("activation: channel sequence numbers exhausted")
	}
	seq := c.send.seq
	ct := c.send.aead.Seal(nil, c.send.nonce(seq), plaintext, aad)
	c.send.seq++
	return Envelope{Seq: seq, CT: ct}
}

// Open decrypts the next message of the peer's direction. It accepts only
// the sequence number it expects next: a lower one is ErrReplay, a higher
// one ErrOutOfOrder, and a message that fails authentication ErrTampered.
// A refused message leaves the channel as it was.
func (c *Channel) Open(e Envelope, aad []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case e.Seq < c.recv.seq:
		return nil, fmt.Errorf("%w: got sequence number %d, want %d", ErrReplay, e.Seq, c.recv.seq)
	case e.Seq > c.recv.seq:
		return nil, fmt.Errorf("%w: got sequence number %d, want %d", ErrOutOfOrder, e.Seq, c.recv.seq)
	}
	pt, err := c.recv.aead.Open(nil, c.recv.nonce(e.Seq), e.CT, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: sequence number %d", ErrTampered, e.Seq)
	}
	c.recv.seq++
	return pt, nil
}

// channelState is the serialised Channel. It holds the channel's keys.
type channelState struct {
	Version int            `json:"v"`
	Role    string         `json:"role"`
	Send    directionState `json:"send"`
	Recv    directionState `json:"recv"`
}

type directionState struct {
	Key []byte `json:"key"`
	IV  []byte `json:"iv"`
	Seq uint64 `json:"seq"`
}

const channelStateVersion = 1

// MarshalState returns the channel's state: its role, keys and both
// sequence numbers, as versioned JSON. The portal keeps it between HTTP
// requests and rebuilds the channel with RestoreChannel. The state contains
// the session keys: store it as a secret, and replace it after every Seal
// and Open, or a restored channel would reuse a nonce or accept a replay.
func (c *Channel) MarshalState() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Marshal(channelState{
		Version: channelStateVersion,
		Role:    c.role.String(),
		Send:    directionState{Key: c.send.key[:], IV: c.send.iv[:], Seq: c.send.seq},
		Recv:    directionState{Key: c.recv.key[:], IV: c.recv.iv[:], Seq: c.recv.seq},
	})
}

// RestoreChannel rebuilds a channel from MarshalState's output; it
// continues both sequences where the saved channel stood.
func RestoreChannel(state []byte) (*Channel, error) {
	var s channelState
	if err := json.Unmarshal(state, &s); err != nil {
		return nil, fmt.Errorf("restore activation channel: %w", err)
	}
	if s.Version != channelStateVersion {
		return nil, fmt.Errorf("restore activation channel: state version %d, want %d", s.Version, channelStateVersion)
	}
	var r Role
	switch s.Role {
	case Initiator.String():
		r = Initiator
	case Responder.String():
		r = Responder
	default:
		return nil, fmt.Errorf("restore activation channel: unknown role %q", s.Role)
	}
	send, err := s.Send.key()
	if err != nil {
		return nil, fmt.Errorf("restore activation channel: send: %w", err)
	}
	recv, err := s.Recv.key()
	if err != nil {
		return nil, fmt.Errorf("restore activation channel: recv: %w", err)
	}
	if s.Send.Seq == math.MaxUint64 {
		return nil, errors.New("restore activation channel: sequence numbers exhausted")
	}
	return newChannel(r, send, recv, s.Send.Seq, s.Recv.Seq)
}

func (s directionState) key() (directionKey, error) {
	var k directionKey
	if len(s.Key) != keySize || len(s.IV) != ivSize {
		return k, fmt.Errorf("key of %d bytes and nonce base of %d, want %d and %d", len(s.Key), len(s.IV), keySize, ivSize)
	}
	copy(k.key[:], s.Key)
	copy(k.iv[:], s.IV)
	return k, nil
}

// String keeps key material out of logs.
func (c *Channel) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("activation.Channel{%s, send seq %d, recv seq %d}", c.role, c.send.seq, c.recv.seq)
}
