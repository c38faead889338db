package ios

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/smallstep/pkcs7"
)

// SigningFile is where the profile-signing key and certificate live in the
// portal's data dir: one PEM file holding the private key, the certificate
// and any intermediate certificates after it. The portal makes a
// self-signed one on first start; replace it with a key and a certificate
// devices trust (see README) and restart.
const SigningFile = "profile-signing.pem"

// Signer signs profiles with CMS SignedData. Its key is ECDSA or RSA, never
// the portal's Ed25519 manifest key: iOS does not take Ed25519 signatures.
type Signer struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate // intermediates, sent with every signature
}

// LoadSigner reads the profile-signing key and certificate from the data
// dir, making a self-signed ECDSA P-256 pair named after the portal on
// first start.
func LoadSigner(dataDir, name string) (*Signer, error) {
	path := filepath.Join(dataDir, SigningFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSigner(path, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read profile-signing key: %w", err)
	}
	s, err := parseSigner(b)
	if err != nil {
		return nil, fmt.Errorf("profile-signing file %s: %w", path, err)
	}
	return s, nil
}

func parseSigner(b []byte) (*Signer, error) {
	s := &Signer{}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			if s.key != nil {
				return nil, errors.New("holds more than one private key")
			}
			k, err := parsePrivateKey(blk)
			if err != nil {
				return nil, err
			}
			s.key = k
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			certs = append(certs, c)
		}
	}
	if s.key == nil || len(certs) == 0 {
		return nil, errors.New("must hold a PEM private key and, after it, the certificate (then any intermediates)")
	}
	// The certificate is the one for the key, wherever it is in the file;
	// the others travel with it as its chain.
	for i, c := range certs {
		if samePublicKey(c.PublicKey, s.key.Public()) {
			s.cert = c
			s.chain = append(append([]*x509.Certificate{}, certs[:i]...), certs[i+1:]...)
			return s, nil
		}
	}
	return nil, errors.New("no certificate in it is for its private key")
}

func parsePrivateKey(blk *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch blk.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("the private key is a %T; iOS takes profiles signed with RSA or ECDSA keys only", k)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func createSigner(path, name string) (*Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name + " profile signing"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("make profile-signing certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	// Written whole to a temporary file and linked into place, which fails
	// if the file exists: when two processes share a data dir and start
	// together, one pair wins and both use it.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".profile-signing-*")
	if err != nil {
		return nil, fmt.Errorf("create profile-signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write profile-signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadSigner(filepath.Dir(path), name)
	} else if err != nil {
		return nil, fmt.Errorf("store profile-signing key: %w", err)
	}
	return parseSigner(buf.Bytes())
}

// Certificate is the certificate profiles are signed with.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// SelfSigned reports whether the certificate is its own issuer, as the one
// the portal makes is: devices then show the profile as not verified.
func (s *Signer) SelfSigned() bool {
	c := s.cert
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// Fingerprint is the SHA-256 of the certificate, as people compare it.
func (s *Signer) Fingerprint() string { return certFingerprint(s.cert) }

func certFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Sign wraps content in CMS SignedData (SHA-256), with the certificate and
// its chain included so a device can check it without asking anyone.
func (s *Signer) Sign(content []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.cert, s.key, s.chain, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	return der, nil
}

// VerifyDeviceResponse checks what a device posts back to the profile
// service: CMS SignedData whose signature is valid over its content with
// the certificate it includes. It returns the content and that certificate.
//
// The trust decision: a real device signs with its Apple-issued device
// identity certificate, whose chain the portal does not check (Apple's
// device CAs are not something this portal can verify or keep current).
// The signature proves the attributes were not altered after signing; what
// ties them to an invitation is the invitation's token in the URL and the
// challenge, signed by this portal and time-limited, that the device must
// echo inside the signed content. Anyone holding the link could sign their
// own answer, exactly as anyone holding the link could open it: the link is
// the credential, as it is for every platform.
func VerifyDeviceResponse(der []byte) ([]byte, *x509.Certificate, error) {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, nil, fmt.Errorf("not CMS signed data: %w", err)
	}
	if len(p7.Signers) == 0 || len(p7.Content) == 0 {
		return nil, nil, errors.New("the signed data has no signer or no content")
	}
	if err := p7.Verify(); err != nil {
		return nil, nil, fmt.Errorf("the signature does not verify: %w", err)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, nil, errors.New("the signed data must have exactly one signer")
	}
	return p7.Content, signer, nil
}
