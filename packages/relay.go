package packages

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The switching relay's wire, shared by the relay, the portal and the
// bootloader. Portals and bootloaders reach the relay on one port with an
// HTTP/1.1 Upgrade to RelayProtocol:
//
//	GET /v1/portal?alias=NAME    a portal: 101 with a challenge it signs, then
//	                             a multiplexed session the relay opens streams on
//	GET /v1/connect?alias=NAME   a bootloader: 101, then the bytes of one stream
//	                             to the portal holding NAME; the bootloader runs
//	                             TLS to the portal inside it
//
// A refusal before the upgrade is a plain-text line (400 for a malformed
// alias, 503 when no portal holds the alias).
const (
	RelayProtocol    = "provportal-relay"
	RelayPortalPath  = "/v1/portal"
	RelayConnectPath = "/v1/connect"
	// RelayChallengeHeader carries, in the 101 answer to a portal, the random
	// bytes (base64url) it signs to prove it holds its key.
	RelayChallengeHeader = "Provportal-Relay-Challenge"
	// RelayPortalHost is the host name in a relayed portal's URLs and TLS
	// certificate. The relay, not DNS, finds the portal, so it is a name that
	// never resolves (.invalid is reserved for that).
	RelayPortalHost = "portal.relay.invalid"
)

// MaxAliasLength is the longest alias a relay takes.
const MaxAliasLength = 128

// CheckAlias returns an alias in its one spelling (lower case) or says what
// is wrong with it. An alias may look like an e-mail address: letters,
// digits and . _ - + @, starting and ending with a letter or digit.
func CheckAlias(alias string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(alias))
	bad := func(why string) error {
		return fmt.Errorf("alias %q is not valid: %s", alias, why)
	}
	switch {
	case a == "":
		return "", fmt.Errorf("the alias is empty")
	case len(a) > MaxAliasLength:
		return "", bad(fmt.Sprintf("longer than %d characters", MaxAliasLength))
	case !alnum(rune(a[0])) || !alnum(rune(a[len(a)-1])):
		return "", bad("it must start and end with a letter or digit")
	}
	for _, r := range a {
		if !alnum(r) && !strings.ContainsRune("._-+@", r) {
			return "", bad(fmt.Sprintf("%q is not allowed; use letters, digits and . _ - + @", r))
		}
	}
	return a, nil
}

func alnum(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

// DialRelay opens a connection to the relay: TCP, with TLS for https.
func DialRelay(ctx context.Context, relay *url.URL) (net.Conn, error) {
	addr := relay.Host
	if relay.Port() == "" {
		port := "80"
		if relay.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(relay.Hostname(), port)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || relay.Scheme != "https" {
		return conn, err
	}
	tc := tls.Client(conn, &tls.Config{ServerName: relay.Hostname(), MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// RelayUpgradeRequest asks the relay at path (RelayPortalPath or
// RelayConnectPath) to switch to RelayProtocol for an alias.
func RelayUpgradeRequest(relay *url.URL, path, alias, userAgent string) *http.Request {
	u := *relay
	u.Path = relay.Path + path
	u.RawQuery = url.Values{"alias": {alias}}.Encode()
	return &http.Request{
		Method: http.MethodGet, URL: &u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {RelayProtocol}, "User-Agent": {userAgent}},
	}
}

// RelayRefusal is the first line of the relay's refusal of an upgrade, or
// "" when it gave none.
func RelayRefusal(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// WithBuffered keeps br, which read the relay's answer, in front of conn
// when it holds bytes the peer sent right behind that answer, so they are
// not lost; an idle connection does not carry a buffer for its whole life.
func WithBuffered(conn net.Conn, br *bufio.Reader) net.Conn {
	if br.Buffered() == 0 {
		return conn
	}
	return &bufferedConn{Conn: conn, r: br}
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes when the connection underneath can, and closes it
// when it cannot.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
