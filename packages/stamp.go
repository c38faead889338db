package packages

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// BootConfig is what a bootloader needs to find and trust its portal. The
// portal appends it to a bootloader's executable at download time, so one
// build serves every invitation without rebuilding; loaders of ELF, PE and
// Mach-O files ignore bytes after the image.
type BootConfig struct {
	PortalURL   string `json:"portal_url,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Invitation  string `json:"invitation,omitempty"`
	Alias       string `json:"alias,omitempty"`
	Relay       string `json:"relay,omitempty"`
	// Migration is the enrolment secret of a migration package, sent at logon.
	Migration string `json:"migration,omitempty"`
	// Legacy is the client a migration package replaces, removed once the
	// new package is installed and reported.
	Legacy *LegacyClient `json:"legacy,omitempty"`
}

// stampMagic ends a stamped executable: JSON, its length (uint32, little
// endian), then these eight bytes.
var stampMagic = []byte("PPSTAMP1")

const maxStamp = 64 << 10

// StampTrailer returns the bytes to append to a bootloader to stamp cfg into it.
func StampTrailer(cfg BootConfig) ([]byte, error) {
	j, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if len(j) > maxStamp {
		return nil, errors.New("stamp: configuration too large")
	}
	var b bytes.Buffer
	b.Write(j)
	binary.Write(&b, binary.LittleEndian, uint32(len(j)))
	b.Write(stampMagic)
	return b.Bytes(), nil
}

// ErrNoStamp says an executable carries no stamped configuration.
var ErrNoStamp = errors.New("no stamped configuration")

// ReadStamp reads the configuration stamped at the end of an executable of the given size.
func ReadStamp(r io.ReaderAt, size int64) (*BootConfig, error) {
	tail := int64(4 + len(stampMagic))
	if size < tail {
		return nil, ErrNoStamp
	}
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil {
		return nil, fmt.Errorf("read stamp: %w", err)
	}
	if !bytes.Equal(buf[4:], stampMagic) {
		return nil, ErrNoStamp
	}
	n := int64(binary.LittleEndian.Uint32(buf[:4]))
	if n > maxStamp || n > size-tail {
		return nil, errors.New("read stamp: corrupt length")
	}
	j := make([]byte, n)
	if _, err := r.ReadAt(j, size-tail-n); err != nil {
		return nil, fmt.Errorf("read stamp: %w", err)
	}
	var cfg BootConfig
	if err := json.Unmarshal(j, &cfg); err != nil {
		return nil, fmt.Errorf("read stamp: %w", err)
	}
	return &cfg, nil
}
