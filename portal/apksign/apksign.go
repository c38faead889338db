// Package apksign signs the Android bootloader with the portal's own key,
// kept in its data dir. `make bootloaders` leaves the APK unsigned; the
// portal signs each build once (v1 and v2 schemes, with Debian's apksigner)
// and keeps the signed copy beside the key. One key for the portal's life
// means every later build installs over the last: Android accepts an update
// only from the key that signed the installed app.
package apksign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The key folder under the signer's dir holds the private key (PKCS #8 DER,
// readable by the portal's user only) and its self-signed certificate.
const (
	keyDir   = "key"
	keyFile  = "key.pk8"
	certFile = "cert.pem"
)

// signTimeout bounds one run of apksigner (a JVM start and a hash of a few MiB).
const signTimeout = 2 * time.Minute

// Signer signs APKs with the key in its dir, creating the key on first use.
type Signer struct {
	dir       string
	apksigner string // the tool's name or path

	mu     sync.Mutex
	signed map[string]signedCopy // unsigned APK's path -> its signed copy
}

type signedCopy struct {
	size int64
	mod  time.Time
	path string
}

// New returns a signer that keeps its key and signed copies in dir
// (<data-dir>/android) and runs apksigner from PATH.
func New(dir string) *Signer {
	return &Signer{dir: dir, apksigner: "apksigner", signed: map[string]signedCopy{}}
}

// Ready says why this signer cannot sign, or nil.
func (s *Signer) Ready() error {
	if _, err := exec.LookPath(s.apksigner); err != nil {
		return fmt.Errorf("%s is not installed (apt-get install apksigner): %w", s.apksigner, err)
	}
	return nil
}

// Signed returns the path of a signed copy of the unsigned APK, signing it
// first when this build has not been signed with this key before.
func (s *Signer) Signed(unsigned string) (string, error) {
	fi, err := os.Stat(unsigned)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.signed[unsigned]; ok && c.size == fi.Size() && c.mod.Equal(fi.ModTime()) {
		if _, err := os.Stat(c.path); err == nil {
			return c.path, nil
		}
	}
	key, cert, certSum, err := s.key()
	if err != nil {
		return "", err
	}
	sum, err := fileSum(unsigned)
	if err != nil {
		return "", err
	}
	// Named by the build and the key, so a restart finds it and a changed
	// build or key never serves a stale copy.
	out := filepath.Join(s.dir, "bootloader-"+sum[:16]+"-"+certSum[:8]+".apk")
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		if err := s.sign(key, cert, unsigned, out); err != nil {
			return "", err
		}
		s.removeOthers(out)
	} else if err != nil {
		return "", err
	}
	s.signed[unsigned] = signedCopy{size: fi.Size(), mod: fi.ModTime(), path: out}
	return out, nil
}

func (s *Signer) sign(key, cert, in, out string) error {
	tmp, err := os.CreateTemp(s.dir, ".signing-*.apk")
	if err != nil {
		return fmt.Errorf("sign the Android bootloader: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.apksigner, "sign", "--key", key, "--cert", cert,
		"--v1-signing-enabled", "true", "--v2-signing-enabled", "true",
		"--v3-signing-enabled", "false", "--v4-signing-enabled", "false",
		"--out", tmp.Name(), in)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sign the Android bootloader with %s: %v: %s", s.apksigner, err, strings.TrimSpace(string(b)))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// removeOthers deletes signed copies of earlier builds. A download still
// reading one keeps its open file.
func (s *Signer) removeOthers(keep string) {
	old, _ := filepath.Glob(filepath.Join(s.dir, "bootloader-*.apk"))
	for _, p := range old {
		if p != keep {
			os.Remove(p)
		}
	}
}

// key returns the paths of the key and certificate, and the certificate's
// SHA-256, creating them on first use.
func (s *Signer) key() (key, cert, certSum string, err error) {
	dir := filepath.Join(s.dir, keyDir)
	key, cert = filepath.Join(dir, keyFile), filepath.Join(dir, certFile)
	if _, err := os.Stat(key); errors.Is(err, os.ErrNotExist) {
		if err := createKey(s.dir, dir); err != nil {
			return "", "", "", fmt.Errorf("create the APK signing key: %w", err)
		}
	}
	certSum, err = fileSum(cert)
	if err != nil {
		return "", "", "", fmt.Errorf("read the APK signing certificate: %w", err)
	}
	return key, cert, certSum, nil
}

// createKey writes a new key and certificate into a fresh folder, then
// renames it into place: when two portals share a data dir and start
// together, one key wins whole and the other portal uses it.
func createKey(parent, dir string) error {
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Provisioning portal bootloader"},
		NotBefore:    now.Add(-time.Hour),
		// Android checks no dates, but recommends a key that outlives the app.
		NotAfter: now.AddDate(30, 0, 0),
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".key-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeFile(filepath.Join(tmp, keyFile), der, 0o600); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(tmp, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, keyFile)); serr == nil {
			return nil // another portal's key won
		}
		return err
	}
	return nil
}

func writeFile(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
