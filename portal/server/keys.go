package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SigningKeyFile is where the portal's Ed25519 manifest signing key lives in the data dir.
const SigningKeyFile = "signing-key.pem"

// LoadSigningKey reads the portal's signing key from the data dir, creating
// it on first start. Bootloaders pin its fingerprint, so it is kept, not
// rotated, and readable only by the portal's user.
func LoadSigningKey(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not an Ed25519 key", path)
	}
	return key, nil
}

func createSigningKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	// O_EXCL: when two processes share a data dir and start together, one
	// key wins and the other process reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadSigningKey(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return key, f.Sync()
}
