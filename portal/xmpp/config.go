package xmpp

import (
	"crypto/tls"
	"errors"
	"net"
	"strconv"
)

// Config says which server to log on to, and as whom.
type Config struct {
	Host     string // address to connect to; empty: Domain (there is no SRV lookup)
	Port     int    // empty: 5222
	Domain   string // the XMPP domain, as in alice@Domain
	Username string // the local part of the JID
	Password string
	Resource string // empty: the server picks one

	// TLSConfig is used for STARTTLS. Empty, the server's certificate is
	// verified against Domain with the system roots; tests set RootCAs to
	// trust a throwaway server's certificate.
	TLSConfig *tls.Config

	// AllowPlaintext lets Dial carry on without TLS when the server does not
	// offer STARTTLS, but only to a loopback address: elsewhere the password
	// and the messages would cross the network in the clear. PLAIN is never
	// used without TLS.
	AllowPlaintext bool
}

// Validate reports the first missing field.
func (c Config) Validate() error {
	switch {
	case c.Domain == "":
		return errors.New("xmpp: Domain is required")
	case c.Username == "":
		return errors.New("xmpp: Username is required")
	case c.Password == "":
		return errors.New("xmpp: Password is required")
	case c.Port < 0 || c.Port > 65535:
		return errors.New("xmpp: Port is out of range")
	}
	return nil
}

func (c Config) addr() string {
	host, port := c.Host, c.Port
	if host == "" {
		host = c.Domain
	}
	if port == 0 {
		port = 5222
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (c Config) tlsConfig() *tls.Config {
	var tc *tls.Config
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = c.Domain
	}
	return tc
}
