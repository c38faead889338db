package ios

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"

	"provportal/packages"
	"provportal/portal"
)

// namespace names the payloads of one portal. Identifiers sit under a
// reverse-DNS prefix made from the portal's host; UUIDs are UUIDv5 of the
// identifier in a namespace derived from the portal's public URL. So a
// user's profile carries the same identifiers and UUIDs every time it is
// delivered, and a new delivery replaces the old profile on the device
// instead of adding a second one.
type namespace struct {
	prefix string
	space  uuid.UUID
}

var labelJunk = regexp.MustCompile(`[^A-Za-z0-9-]+`)

func newNamespace(publicURL string) namespace {
	host := "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		host = strings.ToLower(u.Hostname())
	}
	var labels []string
	if net.ParseIP(host) != nil {
		labels = []string{"portal", "ip-" + labelJunk.ReplaceAllString(host, "-")}
	} else {
		labels = strings.Split(strings.TrimSuffix(host, "."), ".")
		slices.Reverse(labels)
		for i, l := range labels {
			labels[i] = labelJunk.ReplaceAllString(l, "-")
		}
	}
	return namespace{prefix: strings.Join(labels, ".") + ".provisioning",
		space: uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.TrimRight(publicURL, "/")))}
}

// id is an identifier under the portal's prefix.
func (n namespace) id(parts ...string) string {
	return n.prefix + "." + strings.Join(parts, ".")
}

// header is a payload's header with its identifier and the UUID derived from it.
func (n namespace) header(typ, identifier, name, description, org string) PayloadHeader {
	return PayloadHeader{PayloadType: typ, PayloadVersion: 1, PayloadIdentifier: identifier,
		PayloadUUID:        strings.ToUpper(uuid.NewSHA1(n.space, []byte(identifier)).String()),
		PayloadDisplayName: name, PayloadDescription: description, PayloadOrganization: org}
}

// keyID turns an item's key (an SSID, a URL) into an identifier part.
func keyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

// Unenforced is a rule a configuration profile cannot carry to iOS, with why.
type Unenforced struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Limits of com.apple.mobiledevice.passwordpolicy on iOS.
const (
	iosMaxMinLength         = 16
	iosMaxFailedAttempts    = 11
	iosMaxInactivityMinutes = 15
)

// configuration builds the user's configuration profile from their merged
// rules. It returns the rules iOS cannot be made to enforce, each with the
// reason, for the device's timeline.
func (n namespace) configuration(u *portal.User, rules portal.Rules, org string) (*Profile, []Unenforced) {
	base := n.id("user", u.ID)
	name := org + " settings"
	p := &Profile{PayloadHeader: n.header(TypeConfiguration, base, name,
		fmt.Sprintf("Settings %s deploys to %s's iPhone or iPad, from the IT policies assigned to them.", org, userName(u)), org),
		PayloadContent: []any{}}
	var unenforced []Unenforced
	add := func(v any) { p.PayloadContent = append(p.PayloadContent, v) }

	if pc, un := n.passcode(base, rules, org); pc != nil {
		add(*pc)
		unenforced = append(unenforced, un...)
	}
	if camera, ok := rules["camera_disabled"].(bool); ok && camera {
		allow := false
		add(restrictionsPayload{PayloadHeader: n.header(TypeRestrictions, base+".restrictions", "Restrictions",
			"Features your organisation turns off.", org), AllowCamera: &allow})
	}
	if b, ok := rules["bluetooth_disabled"].(bool); ok && b {
		unenforced = append(unenforced, Unenforced{"bluetooth_disabled", "a configuration profile cannot turn Bluetooth off on iOS"})
	}
	wifi, _ := rules["wifi_networks"].(portal.WiFiNetworks)
	for _, w := range wifi {
		add(wifiPayload{PayloadHeader: n.header(TypeWiFi, base+".wifi."+keyID(w.SSID), "Wi-Fi: "+w.SSID, "", org),
			SSID: w.SSID, HiddenNetwork: w.Hidden, AutoJoin: true, EncryptionType: wifiEncryption(w.Security), Password: w.Password})
	}
	vpns, _ := rules["vpn_connections"].(portal.VPNConnections)
	for _, v := range vpns {
		add(n.vpn(base, u, v, org))
	}
	mails, _ := rules["email_accounts"].(portal.EmailAccounts)
	for _, a := range mails {
		if u.Email == "" {
			unenforced = append(unenforced, Unenforced{"email_accounts", "the user has no e-mail address, so the account " + a.Name + " was left out"})
			continue
		}
		add(n.mail(base, u, a, org))
	}
	clips, _ := rules["web_clips"].(portal.WebClips)
	for _, c := range clips {
		add(webClipPayload{PayloadHeader: n.header(TypeWebClip, base+".webclip."+keyID(c.URL), c.Label, "", org),
			Label: c.Label, URL: c.URL, IsRemovable: true, FullScreen: c.FullScreen})
	}
	return p, unenforced
}

func userName(u *portal.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// passcode maps the passcode rules. Where iOS's range stops short of a
// rule, the profile takes the stricter end of iOS's range if there is one
// (fewer failed attempts, a shorter auto-lock), and otherwise says the rule
// is enforced only as far as iOS goes.
func (n namespace) passcode(base string, rules portal.Rules, org string) (*passcodePayload, []Unenforced) {
	p := passcodePayload{PayloadHeader: n.header(TypePasscode, base+".passcode", "Passcode",
		"The passcode your organisation requires.", org)}
	var un []Unenforced
	set := false
	if v, ok := rules["password_required"].(bool); ok && v {
		p.ForcePIN, set = true, true
	}
	// iOS encrypts its storage with the passcode: requiring encryption is requiring a passcode.
	if v, ok := rules["storage_encryption_required"].(bool); ok && v {
		p.ForcePIN, set = true, true
	}
	if v, ok := rules["password_min_length"].(int64); ok {
		p.MinLength, set = int(min(v, iosMaxMinLength)), true
		if v > iosMaxMinLength {
			un = append(un, Unenforced{"password_min_length", fmt.Sprintf("iOS requires at most %d characters, not %d; the profile asks for %d", iosMaxMinLength, v, iosMaxMinLength)})
		}
	}
	if v, ok := rules["password_require_alphanumeric"].(bool); ok && v {
		p.RequireAlphanumeric, set = true, true
	}
	if v, ok := rules["password_max_age_days"].(int64); ok {
		p.MaxPINAgeInDays, set = int(v), true
	}
	if v, ok := rules["max_failed_unlocks_before_wipe"].(int64); ok {
		p.MaxFailedAttempts, set = int(min(v, iosMaxFailedAttempts)), true
	}
	if v, ok := rules["screen_lock_timeout_s"].(int64); ok {
		// Whole minutes, rounded down so the device never waits longer than the rule.
		p.MaxInactivity, set = int(max(1, min(v/60, iosMaxInactivityMinutes))), true
		if v < 60 {
			un = append(un, Unenforced{"screen_lock_timeout_s", fmt.Sprintf("iOS locks after one minute at the soonest, not %d seconds", v)})
		}
	}
	if !set {
		return nil, nil
	}
	return &p, un
}

func wifiEncryption(security string) string {
	switch security {
	case "none":
		return "None"
	case "wpa2":
		return "WPA2"
	case "wpa3":
		return "WPA3"
	}
	return "Any"
}

func (n namespace) vpn(base string, u *portal.User, v portal.VPNConnection, org string) vpnPayload {
	p := vpnPayload{PayloadHeader: n.header(TypeVPN, base+".vpn."+keyID(v.Name), "VPN: "+v.Name, "", org), UserDefinedName: v.Name}
	switch v.Type {
	case "ikev2":
		local := v.LocalID
		if local == "" {
			local = u.Username
		}
		p.VPNType = "IKEv2"
		p.IKEv2 = &vpnIKEv2{RemoteAddress: v.Server, RemoteIdentifier: v.RemoteID, LocalIdentifier: local,
			AuthenticationMethod: "None", ExtendedAuthEnabled: 1, AuthName: u.Username}
		if v.SharedSecret != "" {
			p.IKEv2.AuthenticationMethod, p.IKEv2.SharedSecret = "SharedSecret", v.SharedSecret
		}
	case "ipsec":
		p.VPNType = "IPSec"
		p.IPSec = &vpnIPSec{RemoteAddress: v.Server, AuthenticationMethod: "SharedSecret", SharedSecret: []byte(v.SharedSecret),
			LocalIdentifier: v.LocalID, LocalIdentifierType: "KeyID", XAuthEnabled: 1, XAuthName: u.Username}
	case "l2tp":
		p.VPNType = "L2TP"
		p.PPP = &vpnPPP{CommRemoteAddress: v.Server, AuthName: u.Username}
		p.IPSec = &vpnIPSec{AuthenticationMethod: "SharedSecret", SharedSecret: []byte(v.SharedSecret), LocalIdentifierType: "KeyID"}
	}
	return p
}

func (n namespace) mail(base string, u *portal.User, a portal.EmailAccount, org string) mailPayload {
	login := u.Email
	if a.Login == "username" {
		login = u.Username
	}
	imapPort, smtpPort := a.IMAPPort, a.SMTPPort
	if imapPort == 0 {
		imapPort = 993
	}
	if smtpPort == 0 {
		smtpPort = 587
	}
	return mailPayload{PayloadHeader: n.header(TypeMail, base+".mail."+keyID(a.Name), "Mail: "+a.Name, "", org),
		EmailAccountDescription: a.Name, EmailAccountName: u.DisplayName, EmailAccountType: "EmailTypeIMAP", EmailAddress: u.Email,
		IncomingMailServerAuthentication: "EmailAuthPassword", IncomingMailServerHostName: a.IMAPHost,
		IncomingMailServerPortNumber: imapPort, IncomingMailServerUseSSL: true, IncomingMailServerUsername: login,
		OutgoingMailServerAuthentication: "EmailAuthPassword", OutgoingMailServerHostName: a.SMTPHost,
		OutgoingMailServerPortNumber: smtpPort, OutgoingMailServerUseSSL: true, OutgoingMailServerUsername: login,
		OutgoingPasswordSameAsIncomingPassword: true}
}

// tooOld reports the min_os_version rule a device's iOS version does not meet.
func tooOld(rules portal.Rules, version string) (string, bool) {
	want, ok := rules["min_os_version"].(string)
	if !ok {
		return "", false
	}
	have := versionNumber.FindString(version)
	if have == "" || packages.CompareVersions(have, want) < 0 {
		return want, true
	}
	return "", false
}

var versionNumber = regexp.MustCompile(`^\d+(\.\d+)*`)
