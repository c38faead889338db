package activation

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gtank/ristretto255"
)

// CPace as specified by draft-irtf-cfrg-cpace-21 (April 2026), sections "The
// CPace protocol" and "CPace group objects G_Ristretto255 and G_Decaf448 for
// prime-order group abstractions", with the cipher suite CPACE-RISTR255-SHA512, in the initiator-responder setting.
// The symmetric (ordered concatenation) setting is not offered: activation
// always has a device that speaks first and a portal that answers.

// Suite names the CPace cipher suite; it is also part of every label this
// package feeds to a key derivation.
const Suite = "CPACE-RISTR255-SHA512"

// ShareSize is the length of a CPace share on the wire: a ristretto255
// element in its canonical 32-byte encoding.
const ShareSize = 32

// ISKSize is the length of the intermediate session key: one SHA-512 output.
const ISKSize = sha512.Size

const (
	// dsi is G_Ristretto255.DSI.
	dsi = "CPaceRistretto255"
	// sha512BlockSize is H.s_in_bytes for SHA-512, used to pad the PRS
	// to a full hash block in the generator string.
	sha512BlockSize = 128
)

// ErrInvalidShare is returned when the peer's share does not decode to a
// ristretto255 element, or when the shared point K is the identity (which an
// attacker obtains by sending the identity's encoding). CPace requires the
// receiver to abort the run in both cases.
var ErrInvalidShare = errors.New("activation: the peer's CPace share is invalid")

// ErrFinished is returned by [Party.Finish] when it is called a second time:
// the secret scalar is erased after the first use.
var ErrFinished = errors.New("activation: this CPace run has already finished")

// An empty PRS is always a caller's bug (a password record not loaded), and
// would let two such callers agree.
var errEmptyPRS = errors.New("activation: empty PRS")

// identity is G.I, the encoding of the neutral element: 32 zero bytes.
var identity [ShareSize]byte

// Party is the initiator's state between sending its share and receiving the
// responder's. It holds the secret scalar, never the PRS; it is used once.
type Party struct {
	y     *ristretto255.Scalar
	share []byte
	ad    []byte
	sid   []byte
}

// Start begins a CPace run as the initiator (the device). prs is the
// password-related string, ci the channel identifier (secret, never sent;
// put both parties' identities in it, initiator first), sid the session
// identifier (public, unique per run; both parties must know it before they
// start) and ad the initiator's associated data ADa, sent in clear and
// authenticated by the run.
//
// It returns the share Ya to send to the responder together with ad: the
// draft leaves the framing of (Ya, ADa) to the application, and both values
// enter the transcript separately.
func Start(prs, ci, sid, ad []byte) (*Party, []byte, error) {
	if len(prs) == 0 {
		return nil, nil, errEmptyPRS
	}
	y, err := sampleScalar()
	if err != nil {
		return nil, nil, err
	}
	p := start(prs, ci, sid, ad, y)
	return p, p.Share(), nil
}

// start is Start with the scalar given, so that tests can use the draft's.
func start(prs, ci, sid, ad []byte, y *ristretto255.Scalar) *Party {
	g := calculateGenerator(prs, ci, sid)
	return &Party{
		y:     y,
		share: scalarMult(y, g),
		ad:    clone(ad),
		sid:   clone(sid),
	}
}

// Share returns the initiator's share Ya, as Start returned it.
func (p *Party) Share() []byte { return clone(p.share) }

// Finish completes the run with the responder's share Yb and associated data
// ADb, and returns the intermediate session key ISK. It fails with
// ErrInvalidShare if Yb is invalid, the identity, or Ya sent back.
func (p *Party) Finish(peerShare, peerAD []byte) ([]byte, error) {
	if p.y == nil {
		return nil, ErrFinished
	}
	defer func() { p.y.Zero(); p.y = nil }()
	// A share reflected back at its sender would make both confirmation
	// tags equal (the draft's "Key confirmation" MACs each party's own message).
	if subtle.ConstantTimeCompare(peerShare, p.share) == 1 {
		return nil, fmt.Errorf("%w: it is our own share sent back", ErrInvalidShare)
	}
	k := scalarMultVfy(p.y, peerShare)
	if isIdentity(k) {
		return nil, ErrInvalidShare
	}
	return deriveISK(p.sid, k, transcriptIR(p.share, p.ad, peerShare, peerAD)), nil
}

// Respond answers an initiator's share Ya and associated data ADa as the
// responder (the portal), with the same prs, ci and sid and its own
// associated data ad (ADb). It returns the share Yb to send back with ad,
// and the intermediate session key ISK. It fails with ErrInvalidShare if Ya
// is invalid or the identity; nothing must then be sent back.
func Respond(prs, ci, sid, ad, peerShare, peerAD []byte) (share, isk []byte, err error) {
	if len(prs) == 0 {
		return nil, nil, errEmptyPRS
	}
	y, err := sampleScalar()
	if err != nil {
		return nil, nil, err
	}
	return respond(prs, ci, sid, ad, peerShare, peerAD, y)
}

func respond(prs, ci, sid, ad, peerShare, peerAD []byte, y *ristretto255.Scalar) ([]byte, []byte, error) {
	defer y.Zero()
	g := calculateGenerator(prs, ci, sid)
	share := scalarMult(y, g)
	k := scalarMultVfy(y, peerShare)
	if isIdentity(k) {
		return nil, nil, ErrInvalidShare
	}
	return share, deriveISK(sid, k, transcriptIR(peerShare, peerAD, share, ad)), nil
}

// Transcript returns the draft's transcript_ir(Ya, ADa, Yb, ADb):
// lv_cat(Ya, ADa) || lv_cat(Yb, ADb). Both parties compute it from the
// shares and associated data they sent and received, and hand it to
// [DeriveKeys].
func Transcript(initiatorShare, initiatorAD, responderShare, responderAD []byte) []byte {
	return transcriptIR(initiatorShare, initiatorAD, responderShare, responderAD)
}

// calculateGenerator is G.calculate_generator(H, PRS, CI, sid) for
// ristretto255 and SHA-512, as the draft's ristretto255 group object defines it: hash the generator string to
// 2 * field_size_bytes = 64 bytes and map them with the abstraction's
// element derivation (RFC 9496 section 4.3.4, gtank's FromUniformBytes).
func calculateGenerator(prs, ci, sid []byte) *ristretto255.Element {
	h := sha512.Sum512(generatorString([]byte(dsi), prs, ci, sid, sha512BlockSize))
	return ristretto255.NewElement().FromUniformBytes(h[:])
}

// generatorString is the draft's generator_string (appendix "Definition of generator_string function"): the
// zero padding makes DSI and PRS fill the first hash block on their own.
func generatorString(dsi, prs, ci, sid []byte, sInBytes int) []byte {
	zpad := max(0, sInBytes-1-len(prependLen(prs))-len(prependLen(dsi)))
	return lvCat(dsi, prs, make([]byte, zpad), ci, sid)
}

// sampleScalar is G.sample_scalar() as the draft recommends for
// ristretto255: 32 random bytes with the bits above group_size_bits (252)
// cleared, read little endian. The result is below 2^252, hence below the
// group order, hence canonical. Zero is drawn again.
func sampleScalar() (*ristretto255.Scalar, error) {
	var b [32]byte
	defer clear(b[:])
	s := ristretto255.NewScalar()
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("sample CPace scalar: %w", err)
		}
		b[31] &= 0x0f
		if err := s.Decode(b[:]); err != nil {
			return nil, fmt.Errorf("sample CPace scalar: %w", err)
		}
		if s.Equal(ristretto255.NewScalar()) == 0 {
			return s, nil
		}
	}
}

// scalarMult is G.scalar_mult(y, g): the encoding of y*g.
func scalarMult(y *ristretto255.Scalar, g *ristretto255.Element) []byte {
	return ristretto255.NewElement().ScalarMult(y, g).Encode(nil)
}

// scalarMultVfy is G.scalar_mult_vfy(y, X): G.I if X does not decode,
// otherwise the encoding of y*decode(X) (which is G.I when X is).
func scalarMultVfy(y *ristretto255.Scalar, x []byte) []byte {
	e := ristretto255.NewElement()
	if err := e.Decode(x); err != nil {
		return identity[:]
	}
	return e.ScalarMult(y, e).Encode(nil)
}

func isIdentity(k []byte) bool {
	return subtle.ConstantTimeCompare(k, identity[:]) == 1
}

// deriveISK is H.hash(lv_cat(G.DSI || b"_ISK", sid, K) || transcript).
func deriveISK(sid, k, transcript []byte) []byte {
	h := sha512.New()
	h.Write(lvCat([]byte(dsi+"_ISK"), sid, k))
	h.Write(transcript)
	return h.Sum(nil)
}

// transcriptIR is the initiator-responder transcript: lv_cat(Ya, ADa) ||
// lv_cat(Yb, ADb).
func transcriptIR(ya, ada, yb, adb []byte) []byte {
	return append(lvCat(ya, ada), lvCat(yb, adb)...)
}

// prependLen is the draft's prepend_len: the LEB128 length, then the bytes.
// LEB128 of an unsigned integer is exactly encoding/binary's uvarint.
func prependLen(b []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// lvCat is the draft's lv_cat: each argument with its length prepended.
func lvCat(args ...[]byte) []byte {
	var out []byte
	for _, a := range args {
		out = binary.AppendUvarint(out, uint64(len(a)))
		out = append(out, a...)
	}
	return out
}

// splitLV undoes lvCat for exactly n fields, refusing trailing bytes.
func splitLV(b []byte, n int) ([][]byte, error) {
	fields := make([][]byte, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, errors.New("truncated length-value field")
		}
		fields = append(fields, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errors.New("bytes after the last length-value field")
	}
	return fields, nil
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
