package packages

import (
	"fmt"
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
