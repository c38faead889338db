package ios

// The property lists Apple's configuration profiles are made of, as
// howett.net/plist encodes them. Keys are Apple's, spelt as in Apple's
// device management reference; see README for the mapping from rules.

// PayloadHeader is what every payload, and every profile, starts with.
type PayloadHeader struct {
	PayloadType         string `plist:"PayloadType"`
	PayloadVersion      int    `plist:"PayloadVersion"`
	PayloadIdentifier   string `plist:"PayloadIdentifier"`
	PayloadUUID         string `plist:"PayloadUUID"`
	PayloadDisplayName  string `plist:"PayloadDisplayName"`
	PayloadDescription  string `plist:"PayloadDescription,omitempty"`
	PayloadOrganization string `plist:"PayloadOrganization,omitempty"`
}

// Payload types.
const (
	TypeConfiguration  = "Configuration"
	TypeProfileService = "Profile Service"
	TypePasscode       = "com.apple.mobiledevice.passwordpolicy"
	TypeRestrictions   = "com.apple.applicationaccess"
	TypeWiFi           = "com.apple.wifi.managed"
	TypeVPN            = "com.apple.vpn.managed"
	TypeMail           = "com.apple.mail.managed"
	TypeWebClip        = "com.apple.webClip.managed"
)

// Profile is a configuration profile: the payloads installed together.
type Profile struct {
	PayloadHeader
	PayloadContent           []any `plist:"PayloadContent"`
	PayloadRemovalDisallowed bool  `plist:"PayloadRemovalDisallowed"`
}

// profileService asks the device for its attributes, to be posted signed to URL.
type profileService struct {
	PayloadHeader
	PayloadContent profileServiceContent `plist:"PayloadContent"`
}

type profileServiceContent struct {
	URL              string   `plist:"URL"`
	DeviceAttributes []string `plist:"DeviceAttributes"`
	Challenge        string   `plist:"Challenge,omitempty"`
}

type passcodePayload struct {
	PayloadHeader
	ForcePIN            bool `plist:"forcePIN,omitempty"`
	MinLength           int  `plist:"minLength,omitempty"`
	RequireAlphanumeric bool `plist:"requireAlphanumeric,omitempty"`
	MaxPINAgeInDays     int  `plist:"maxPINAgeInDays,omitempty"`
	MaxFailedAttempts   int  `plist:"maxFailedAttempts,omitempty"`
	MaxInactivity       int  `plist:"maxInactivity,omitempty"` // minutes
}

type restrictionsPayload struct {
	PayloadHeader
	AllowCamera *bool `plist:"allowCamera,omitempty"`
}

type wifiPayload struct {
	PayloadHeader
	SSID           string `plist:"SSID_STR"`
	HiddenNetwork  bool   `plist:"HIDDEN_NETWORK"`
	AutoJoin       bool   `plist:"AutoJoin"`
	EncryptionType string `plist:"EncryptionType"`
	Password       string `plist:"Password,omitempty"`
}

type vpnPayload struct {
	PayloadHeader
	UserDefinedName string    `plist:"UserDefinedName"`
	VPNType         string    `plist:"VPNType"`
	IKEv2           *vpnIKEv2 `plist:"IKEv2,omitempty"`
	IPSec           *vpnIPSec `plist:"IPSec,omitempty"`
	PPP             *vpnPPP   `plist:"PPP,omitempty"`
}

type vpnIKEv2 struct {
	RemoteAddress        string `plist:"RemoteAddress"`
	RemoteIdentifier     string `plist:"RemoteIdentifier"`
	LocalIdentifier      string `plist:"LocalIdentifier"`
	AuthenticationMethod string `plist:"AuthenticationMethod"`
	SharedSecret         string `plist:"SharedSecret,omitempty"`
	ExtendedAuthEnabled  int    `plist:"ExtendedAuthEnabled"`
	AuthName             string `plist:"AuthName"`
}

type vpnIPSec struct {
	RemoteAddress        string `plist:"RemoteAddress,omitempty"`
	AuthenticationMethod string `plist:"AuthenticationMethod"`
	SharedSecret         []byte `plist:"SharedSecret"`
	LocalIdentifier      string `plist:"LocalIdentifier,omitempty"`
	LocalIdentifierType  string `plist:"LocalIdentifierType"`
	XAuthEnabled         int    `plist:"XAuthEnabled,omitempty"`
	XAuthName            string `plist:"XAuthName,omitempty"`
}

type vpnPPP struct {
	CommRemoteAddress string `plist:"CommRemoteAddress"`
	AuthName          string `plist:"AuthName"`
}

type mailPayload struct {
	PayloadHeader
	EmailAccountDescription                string `plist:"EmailAccountDescription"`
	EmailAccountName                       string `plist:"EmailAccountName,omitempty"`
	EmailAccountType                       string `plist:"EmailAccountType"`
	EmailAddress                           string `plist:"EmailAddress"`
	IncomingMailServerAuthentication       string `plist:"IncomingMailServerAuthentication"`
	IncomingMailServerHostName             string `plist:"IncomingMailServerHostName"`
	IncomingMailServerPortNumber           int64  `plist:"IncomingMailServerPortNumber"`
	IncomingMailServerUseSSL               bool   `plist:"IncomingMailServerUseSSL"`
	IncomingMailServerUsername             string `plist:"IncomingMailServerUsername"`
	OutgoingMailServerAuthentication       string `plist:"OutgoingMailServerAuthentication"`
	OutgoingMailServerHostName             string `plist:"OutgoingMailServerHostName"`
	OutgoingMailServerPortNumber           int64  `plist:"OutgoingMailServerPortNumber"`
	OutgoingMailServerUseSSL               bool   `plist:"OutgoingMailServerUseSSL"`
	OutgoingMailServerUsername             string `plist:"OutgoingMailServerUsername"`
	OutgoingPasswordSameAsIncomingPassword bool   `plist:"OutgoingPasswordSameAsIncomingPassword"`
}

type webClipPayload struct {
	PayloadHeader
	Label       string `plist:"Label"`
	URL         string `plist:"URL"`
	IsRemovable bool   `plist:"IsRemovable"`
	FullScreen  bool   `plist:"FullScreen"`
}

// DeviceAttributes is what a device posts back to the profile service,
// signed: the attributes the Profile Service profile asked for, those it
// has, and the challenge.
type DeviceAttributes struct {
	UDID      string `plist:"UDID"`
	Product   string `plist:"PRODUCT"`
	Version   string `plist:"VERSION"`
	Serial    string `plist:"SERIAL,omitempty"`
	IMEI      string `plist:"IMEI,omitempty"`
	Challenge string `plist:"CHALLENGE,omitempty"`
}

// appManifest is what itms-services://?action=download-manifest reads.
type appManifest struct {
	Items []appManifestItem `plist:"items"`
}

type appManifestItem struct {
	Assets   []appAsset  `plist:"assets"`
	Metadata appMetadata `plist:"metadata"`
}

type appAsset struct {
	Kind string `plist:"kind"`
	URL  string `plist:"url"`
}

type appMetadata struct {
	BundleIdentifier string `plist:"bundle-identifier"`
	BundleVersion    string `plist:"bundle-version"`
	Kind             string `plist:"kind"`
	Title            string `plist:"title"`
}
