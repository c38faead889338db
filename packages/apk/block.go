package apk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

var (
	// ErrNotZip says a file has no ZIP end of central directory record.
	ErrNotZip = errors.New("apk: not a ZIP file")
	// ErrNoSigningBlock says a ZIP file has no APK Signing Block: it is not
	// signed with APK Signature Scheme v2 or later.
	ErrNoSigningBlock = errors.New("apk: no APK Signing Block")
	// ErrNoPair says the signing block has no pair with the ID asked for.
	ErrNoPair = errors.New("apk: no such ID-value pair in the APK Signing Block")
)

const (
	eocdSig      = 0x06054b50
	eocdSize     = 22 // without the comment
	zip64LocSig  = 0x07064b50
	zip64LocSize = 20
	blockMagic   = "APK Sig Block 42"
	// footerSize is the block's trailing size field and magic.
	footerSize = 8 + len(blockMagic)
	// maxBlock bounds what is read into memory: real blocks hold a few
	// certificates and signatures, kilobytes, not megabytes.
	maxBlock = 16 << 20
	// MaxValue bounds one value written with WithValue.
	MaxValue = 1 << 20
)

// Pair is one ID-value pair of the APK Signing Block.
type Pair struct {
	ID    uint32
	Value []byte
}

// layout is where an APK's parts lie.
type layout struct {
	blockStart int64 // the block's first size field
	cdStart    int64
	cdSize     int64
	eocdStart  int64
	size       int64
	eocd       []byte // the end record with its comment
}

// readLayout finds the end record, the central directory and the signing
// block. A ZIP without a block gives ErrNoSigningBlock with the rest filled.
func readLayout(r io.ReaderAt, size int64) (*layout, error) {
	if size < eocdSize {
		return nil, ErrNotZip
	}
	// The record ends the file, followed only by its comment (at most 65535 bytes).
	tailLen := min(size, eocdSize+math.MaxUint16)
	tail := make([]byte, tailLen)
	if _, err := r.ReadAt(tail, size-tailLen); err != nil {
		return nil, fmt.Errorf("apk: read the end of the file: %w", err)
	}
	at := -1
	for i := len(tail) - eocdSize; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) != eocdSig {
			continue
		}
		if int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail)-i-eocdSize {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, ErrNotZip
	}
	l := &layout{size: size, eocdStart: size - tailLen + int64(at)}
	l.eocd = append([]byte(nil), tail[at:]...)
	l.cdSize = int64(binary.LittleEndian.Uint32(l.eocd[12:]))
	l.cdStart = int64(binary.LittleEndian.Uint32(l.eocd[16:]))
	if l.eocdStart >= zip64LocSize {
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], l.eocdStart-zip64LocSize); err == nil && binary.LittleEndian.Uint32(sig[:]) == zip64LocSig {
			return nil, errors.New("apk: ZIP64 files are not APKs")
		}
	}
	if l.cdStart+l.cdSize != l.eocdStart {
		return nil, errors.New("apk: the central directory does not end where the end of central directory record starts")
	}
	if l.cdStart < int64(8+footerSize) {
		return l, ErrNoSigningBlock
	}
	var foot [footerSize]byte
	if _, err := r.ReadAt(foot[:], l.cdStart-int64(footerSize)); err != nil {
		return nil, fmt.Errorf("apk: read the signing block: %w", err)
	}
	if string(foot[8:]) != blockMagic {
		return l, ErrNoSigningBlock
	}
	n := binary.LittleEndian.Uint64(foot[:8])
	if n < uint64(footerSize) || n > maxBlock || int64(n)+8 > l.cdStart {
		return nil, fmt.Errorf("apk: the signing block's size %d does not fit the file", n)
	}
	l.blockStart = l.cdStart - int64(n) - 8
	var head [8]byte
	if _, err := r.ReadAt(head[:], l.blockStart); err != nil {
		return nil, fmt.Errorf("apk: read the signing block: %w", err)
	}
	if binary.LittleEndian.Uint64(head[:]) != n {
		return nil, errors.New("apk: the signing block's two size fields differ")
	}
	return l, nil
}

// pairs reads and parses the block's pairs.
func (l *layout) pairs(r io.ReaderAt) ([]Pair, error) {
	body := make([]byte, l.cdStart-int64(footerSize)-(l.blockStart+8))
	if _, err := r.ReadAt(body, l.blockStart+8); err != nil {
		return nil, fmt.Errorf("apk: read the signing block: %w", err)
	}
	return parsePairs(body)
}

func parsePairs(body []byte) ([]Pair, error) {
	var out []Pair
	for len(body) > 0 {
		if len(body) < 12 {
			return nil, errors.New("apk: a pair in the signing block is cut short")
		}
		n := binary.LittleEndian.Uint64(body)
		if n < 4 || n > uint64(len(body)-8) {
			return nil, fmt.Errorf("apk: a pair in the signing block claims %d bytes", n)
		}
		out = append(out, Pair{ID: binary.LittleEndian.Uint32(body[8:]), Value: body[12 : 8+n]})
		body = body[8+n:]
	}
	return out, nil
}

// Pairs returns every ID-value pair in an APK's signing block.
func Pairs(r io.ReaderAt, size int64) ([]Pair, error) {
	l, err := readLayout(r, size)
	if err != nil {
		return nil, err
	}
	return l.pairs(r)
}

// Value returns the value of the pair with the given ID, or ErrNoPair.
func Value(r io.ReaderAt, size int64, id uint32) ([]byte, error) {
	pairs, err := Pairs(r, size)
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		if p.ID == id {
			return p.Value, nil
		}
	}
	return nil, ErrNoPair
}

// WithValue returns the APK with the pair id set to value, added or in place
// of the one there, and the new file's size. Only the signing block grows and
// the end record's central-directory offset moves, so the APK's signatures
// still verify. The reader reads r while it is read.
func WithValue(r io.ReaderAt, size int64, id uint32, value []byte) (io.Reader, int64, error) {
	if len(value) > MaxValue {
		return nil, 0, fmt.Errorf("apk: a %d-byte value is over the limit of %d", len(value), MaxValue)
	}
	l, err := readLayout(r, size)
	if err != nil {
		return nil, 0, err
	}
	pairs, err := l.pairs(r)
	if err != nil {
		return nil, 0, err
	}
	var body bytes.Buffer
	for _, p := range pairs {
		if p.ID != id {
			writePair(&body, p)
		}
	}
	writePair(&body, Pair{ID: id, Value: value})
	n := uint64(body.Len() + footerSize)
	var block bytes.Buffer
	binary.Write(&block, binary.LittleEndian, n)
	block.Write(body.Bytes())
	binary.Write(&block, binary.LittleEndian, n)
	block.WriteString(blockMagic)

	newCD := l.blockStart + int64(block.Len())
	if newCD > math.MaxUint32 {
		return nil, 0, errors.New("apk: the stamped file would need ZIP64")
	}
	eocd := append([]byte(nil), l.eocd...)
	binary.LittleEndian.PutUint32(eocd[16:], uint32(newCD))
	out := io.MultiReader(
		io.NewSectionReader(r, 0, l.blockStart),
		bytes.NewReader(block.Bytes()),
		io.NewSectionReader(r, l.cdStart, l.cdSize),
		bytes.NewReader(eocd),
	)
	return out, newCD + l.cdSize + int64(len(eocd)), nil
}

func writePair(w *bytes.Buffer, p Pair) {
	binary.Write(w, binary.LittleEndian, uint64(4+len(p.Value)))
	binary.Write(w, binary.LittleEndian, p.ID)
	w.Write(p.Value)
}
