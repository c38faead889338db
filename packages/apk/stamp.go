package apk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"provportal/packages"
)

// StampID is the ID of the pair that carries a bootloader's configuration
// ("PPST" read as a little-endian number). It is not one of the IDs Android
// or the signing tools use: v2 0x7109871a, v3 0xf05368c0, v3.1 0x1b93ad61,
// verity padding 0x42726577, source stamps 0x6dff800d and 0x2b09189e,
// dependency info 0x504b4453.
const StampID uint32 = 0x54535050

const maxStamp = 64 << 10

// Stamp returns the APK with cfg in its signing block, and the new size.
func Stamp(r io.ReaderAt, size int64, cfg packages.BootConfig) (io.Reader, int64, error) {
	j, err := json.Marshal(cfg)
	if err != nil {
		return nil, 0, err
	}
	if len(j) > maxStamp {
		return nil, 0, errors.New("stamp: configuration too large")
	}
	return WithValue(r, size, StampID, j)
}

// ReadStamp reads the configuration stamped in an APK. A file that is not a
// signed APK, or carries no stamp, gives packages.ErrNoStamp.
func ReadStamp(r io.ReaderAt, size int64) (*packages.BootConfig, error) {
	j, err := Value(r, size, StampID)
	switch {
	case errors.Is(err, ErrNotZip), errors.Is(err, ErrNoSigningBlock), errors.Is(err, ErrNoPair):
		return nil, packages.ErrNoStamp
	case err != nil:
		return nil, fmt.Errorf("read stamp: %w", err)
	case len(j) > maxStamp:
		return nil, errors.New("read stamp: configuration too large")
	}
	var cfg packages.BootConfig
	if err := json.Unmarshal(j, &cfg); err != nil {
		return nil, fmt.Errorf("read stamp: %w", err)
	}
	return &cfg, nil
}
