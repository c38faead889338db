package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"provportal/portal/auth"
	"provportal/portal/collab"
)

// newCollaboration makes the collaboration service. With an XMPP CA file,
// the messaging server's certificate is checked against it instead of the
// system roots, for an organisation's own certificate authority.
func newCollaboration(cfg Config, store Store, deviceTokens *auth.Tokens, keys *collab.DeviceKeys, reg prometheus.Registerer, log *slog.Logger) (*collab.Service, error) {
	var tc *tls.Config
	if cfg.XMPPCAFile != "" {
		pem, err := os.ReadFile(cfg.XMPPCAFile)
		if err != nil {
			return nil, fmt.Errorf("messaging server CA (--xmpp-ca-file): %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("messaging server CA (--xmpp-ca-file): %s holds no PEM certificate", cfg.XMPPCAFile)
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return collab.New(collab.Config{Store: store, Tokens: deviceTokens, DeviceKeys: keys, TLSConfig: tc, Metrics: reg, Log: log})
}
