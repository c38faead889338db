package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RuleList is a rule whose value is a list of objects with the fields its
// spec names, such as the Wi-Fi networks a phone joins. Merging joins the
// lists of every policy; where two policies configure the same item (the
// same key, such as an SSID), the first in precedence order wins.
const RuleList RuleType = "list"

// RuleField describes one field of the items of a list rule.
type RuleField struct {
	Name string `json:"name"`
	// Type is string, secret (a string shown to no one but the device),
	// boolean, integer or url.
	Type        string   `json:"type"`
	Required    bool     `json:"required,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Min         int64    `json:"min,omitempty"`
	Max         int64    `json:"max,omitempty"`
	Description string   `json:"description"`
}

// iosOnly marks rules that only an iPhone's or iPad's configuration profile
// carries; bootloaders never see them.
var iosOnly = []string{string(PlatformIOS)}

// maxListItems bounds every list rule, so one policy cannot make a profile
// no phone would install.
const maxListItems = 50

// listRules are the list rules of the catalogue, appended to it.
var listRules = []RuleSpec{
	{Name: "wifi_networks", Type: RuleList, Stricter: "join", Key: "ssid", Platforms: iosOnly,
		Description: "Wi-Fi networks the device joins by itself.",
		Items: []RuleField{
			{Name: "ssid", Type: "string", Required: true, Description: "The network's name (SSID), 1 to 32 bytes."},
			{Name: "security", Type: "string", Required: true, Enum: wifiSecurities, Description: "none, wpa2, wpa3 (Personal), or any: whatever the network offers."},
			{Name: "password", Type: "secret", Description: "The network's passphrase: 8 to 63 characters, or 64 hex digits; none for an open network."},
			{Name: "hidden", Type: "boolean", Description: "The network does not broadcast its name."},
		}},
	{Name: "vpn_connections", Type: RuleList, Stricter: "join", Key: "name", Platforms: iosOnly,
		Description: "VPN connections set up on the device; the user's username is filled in and the device asks for the password.",
		Items: []RuleField{
			{Name: "name", Type: "string", Required: true, Description: "What the device calls the connection."},
			{Name: "type", Type: "string", Required: true, Enum: vpnTypes, Description: "ikev2, ipsec (Cisco IPsec) or l2tp."},
			{Name: "server", Type: "string", Required: true, Description: "The VPN server's host name or address."},
			{Name: "remote_id", Type: "string", Description: "IKEv2: the server's identifier (required for ikev2)."},
			{Name: "local_id", Type: "string", Description: "IKEv2: the device's identifier (the user's username if unset); IPsec: the group name."},
			{Name: "shared_secret", Type: "secret", Description: "The pre-shared key (required for ipsec and l2tp; for ikev2, without it the server authenticates the user by EAP alone)."},
		}},
	{Name: "email_accounts", Type: RuleList, Stricter: "join", Key: "name", Platforms: iosOnly,
		Description: "IMAP e-mail accounts set up for the user's address; the device asks for the password.",
		Items: []RuleField{
			{Name: "name", Type: "string", Required: true, Description: "What the device calls the account."},
			{Name: "imap_host", Type: "string", Required: true, Description: "The IMAP server's host name."},
			{Name: "imap_port", Type: "integer", Min: 1, Max: 65535, Description: "The IMAP port; 993 if unset."},
			{Name: "smtp_host", Type: "string", Required: true, Description: "The SMTP server's host name."},
			{Name: "smtp_port", Type: "integer", Min: 1, Max: 65535, Description: "The SMTP submission port; 587 if unset."},
			{Name: "login", Type: "string", Enum: emailLogins, Description: "What the user logs on to the mail server with: email (their address, the default) or username."},
		}},
	{Name: "web_clips", Type: RuleList, Stricter: "join", Key: "url", Platforms: iosOnly,
		Description: "Links put on the device's home screen.",
		Items: []RuleField{
			{Name: "label", Type: "string", Required: true, Description: "The name under the icon, up to 64 characters."},
			{Name: "url", Type: "url", Required: true, Description: "An http:// or https:// address."},
			{Name: "full_screen", Type: "boolean", Description: "Open without Safari's address bar."},
		}},
}

var (
	wifiSecurities = []string{"none", "wpa2", "wpa3", "any"}
	vpnTypes       = []string{"ikev2", "ipsec", "l2tp"}
	emailLogins    = []string{"email", "username"}
)

// WiFiNetwork is one network of the wifi_networks rule.
type WiFiNetwork struct {
	SSID     string `json:"ssid"`
	Security string `json:"security"`
	Password string `json:"password,omitempty"`
	Hidden   bool   `json:"hidden,omitempty"`
}

// VPNConnection is one connection of the vpn_connections rule.
type VPNConnection struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	Server       string `json:"server"`
	RemoteID     string `json:"remote_id,omitempty"`
	LocalID      string `json:"local_id,omitempty"`
	SharedSecret string `json:"shared_secret,omitempty"`
}

// EmailAccount is one account of the email_accounts rule.
type EmailAccount struct {
	Name     string `json:"name"`
	IMAPHost string `json:"imap_host"`
	IMAPPort int64  `json:"imap_port,omitempty"`
	SMTPHost string `json:"smtp_host"`
	SMTPPort int64  `json:"smtp_port,omitempty"`
	Login    string `json:"login,omitempty"`
}

// WebClip is one link of the web_clips rule.
type WebClip struct {
	Label      string `json:"label"`
	URL        string `json:"url"`
	FullScreen bool   `json:"full_screen,omitempty"`
}

// The values of the list rules.
type (
	WiFiNetworks   []WiFiNetwork
	VPNConnections []VPNConnection
	EmailAccounts  []EmailAccount
	WebClips       []WebClip
)

func (w *WiFiNetwork) key() string   { return w.SSID }
func (v *VPNConnection) key() string { return v.Name }
func (a *EmailAccount) key() string  { return a.Name }
func (c *WebClip) key() string       { return c.URL }

func (w *WiFiNetwork) check(field string) error {
	if w.SSID == "" || len(w.SSID) > 32 || !printable(w.SSID) {
		return Invalid(field+".ssid", "must be 1 to 32 bytes of printable text")
	}
	if !slices.Contains(wifiSecurities, w.Security) {
		return Invalid(field+".security", "must be one of %s", strings.Join(wifiSecurities, ", "))
	}
	switch {
	case w.Security == "none" && w.Password != "":
		return Invalid(field+".password", "must be empty for an open network (security none)")
	case w.Security != "none" && !wifiPassphrase(w.Password):
		return Invalid(field+".password", "must be 8 to 63 printable ASCII characters, or 64 hex digits")
	}
	return nil
}

func (v *VPNConnection) check(field string) error {
	if err := CheckName(field+".name", v.Name, true, 100); err != nil {
		return err
	}
	if !slices.Contains(vpnTypes, v.Type) {
		return Invalid(field+".type", "must be one of %s", strings.Join(vpnTypes, ", "))
	}
	if !validHost(v.Server) {
		return Invalid(field+".server", "must be a host name or an IP address")
	}
	for _, f := range []struct{ name, value string }{{"remote_id", v.RemoteID}, {"local_id", v.LocalID}, {"shared_secret", v.SharedSecret}} {
		if len(f.value) > 255 || !printable(f.value) {
			return Invalid(field+"."+f.name, "must be at most 255 bytes of printable text")
		}
	}
	switch {
	case v.Type == "ikev2" && v.RemoteID == "":
		return Invalid(field+".remote_id", "is required for an IKEv2 connection")
	case v.Type != "ikev2" && v.SharedSecret == "":
		return Invalid(field+".shared_secret", "is required for an %s connection", v.Type)
	case v.Type == "l2tp" && v.LocalID != "":
		return Invalid(field+".local_id", "is not used by an L2TP connection")
	}
	return nil
}

func (a *EmailAccount) check(field string) error {
	if err := CheckName(field+".name", a.Name, true, 100); err != nil {
		return err
	}
	if !validHost(a.IMAPHost) {
		return Invalid(field+".imap_host", "must be a host name or an IP address")
	}
	if !validHost(a.SMTPHost) {
		return Invalid(field+".smtp_host", "must be a host name or an IP address")
	}
	if a.IMAPPort < 0 || a.IMAPPort > 65535 {
		return Invalid(field+".imap_port", "must be from 1 to 65535")
	}
	if a.SMTPPort < 0 || a.SMTPPort > 65535 {
		return Invalid(field+".smtp_port", "must be from 1 to 65535")
	}
	if a.Login != "" && !slices.Contains(emailLogins, a.Login) {
		return Invalid(field+".login", "must be one of %s", strings.Join(emailLogins, ", "))
	}
	return nil
}

func (c *WebClip) check(field string) error {
	if err := CheckName(field+".label", c.Label, true, 64); err != nil {
		return err
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(c.URL) > 2048 {
		return Invalid(field+".url", "must be an http:// or https:// address")
	}
	return nil
}

// listItem is an item of a list rule: it names itself and checks its fields.
type listItem interface {
	key() string
	check(field string) error
}

// decodeList parses and checks a list rule's value, naming the item and
// field at fault ("rules.wifi_networks[1].password").
func decodeList[T any, P interface {
	*T
	listItem
}](spec RuleSpec, field string, raw json.RawMessage) ([]T, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	var items []T
	if err := d.Decode(&items); err != nil || items == nil {
		return nil, Invalid(field, "must be a list of objects with the fields %s%s", fieldNames(spec.Items), decodeProblem(err))
	}
	if len(items) > maxListItems {
		return nil, Invalid(field, "must have at most %d items, not %d", maxListItems, len(items))
	}
	seen := map[string]bool{}
	for i := range items {
		item := P(&items[i])
		at := fmt.Sprintf("%s[%d]", field, i)
		if err := item.check(at); err != nil {
			return nil, err
		}
		if seen[item.key()] {
			return nil, Invalid(at+"."+spec.Key, "%q is already in the list", item.key())
		}
		seen[item.key()] = true
	}
	return items, nil
}

func fieldNames(fs []RuleField) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// decodeProblem says what JSON refused, when it says something people can act on.
func decodeProblem(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf(" (%s has the wrong type)", te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return " (" + strings.TrimPrefix(err.Error(), "json: ") + ")"
	}
	return ""
}

func decodeListRule(spec RuleSpec, field string, raw json.RawMessage) (any, error) {
	switch spec.Name {
	case "wifi_networks":
		v, err := decodeList[WiFiNetwork](spec, field, raw)
		return WiFiNetworks(v), err
	case "vpn_connections":
		v, err := decodeList[VPNConnection](spec, field, raw)
		return VPNConnections(v), err
	case "email_accounts":
		v, err := decodeList[EmailAccount](spec, field, raw)
		return EmailAccounts(v), err
	case "web_clips":
		v, err := decodeList[WebClip](spec, field, raw)
		return WebClips(v), err
	}
	return nil, fmt.Errorf("rule %s: unhandled list", spec.Name)
}

// joinItems keeps every item of a and adds those of b whose keys a lacks.
func joinItems[T any, P interface {
	*T
	listItem
}](a, b []T) []T {
	out := slices.Clone(a)
	for i := range b {
		k := P(&b[i]).key()
		if !slices.ContainsFunc(a, func(x T) bool { return P(&x).key() == k }) {
			out = append(out, b[i])
		}
	}
	return out
}

// joinLists joins two values of one list rule; ok is false for anything else.
func joinLists(a, b any) (any, bool) {
	switch av := a.(type) {
	case WiFiNetworks:
		bv, _ := b.(WiFiNetworks)
		return WiFiNetworks(joinItems(av, bv)), true
	case VPNConnections:
		bv, _ := b.(VPNConnections)
		return VPNConnections(joinItems(av, bv)), true
	case EmailAccounts:
		bv, _ := b.(EmailAccounts)
		return EmailAccounts(joinItems(av, bv)), true
	case WebClips:
		bv, _ := b.(WebClips)
		return WebClips(joinItems(av, bv)), true
	}
	return nil, false
}

// String names the networks, never their passwords, for lists people read.
func (l WiFiNetworks) String() string {
	return listSummary(len(l), "network", func(i int) string { return l[i].SSID })
}

func (l VPNConnections) String() string {
	return listSummary(len(l), "connection", func(i int) string { return l[i].Name + " (" + l[i].Type + ", " + l[i].Server + ")" })
}

func (l EmailAccounts) String() string {
	return listSummary(len(l), "account", func(i int) string { return l[i].Name + " (" + l[i].IMAPHost + ")" })
}

func (l WebClips) String() string {
	return listSummary(len(l), "link", func(i int) string { return l[i].Label + " (" + l[i].URL + ")" })
}

func listSummary(n int, noun string, name func(int) string) string {
	if n == 0 {
		return "no " + noun + "s"
	}
	names := make([]string, n)
	for i := range names {
		names[i] = name(i)
	}
	if n == 1 {
		return "1 " + noun + ": " + names[0]
	}
	return fmt.Sprintf("%d %ss: %s", n, noun, strings.Join(names, ", "))
}

var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return h != "" && len(h) <= 253 && hostnameRE.MatchString(h)
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

var hex64RE = regexp.MustCompile(`^[0-9A-Fa-f]{64}$`)

// wifiPassphrase accepts what WPA accepts: 8 to 63 printable ASCII
// characters, or a 64-hex-digit key.
func wifiPassphrase(p string) bool {
	if hex64RE.MatchString(p) {
		return true
	}
	if len(p) < 8 || len(p) > 63 {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}
