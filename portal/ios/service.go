package ios

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"howett.net/plist"

	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/deviceapi"
)

type store interface {
	InvitationByTokenHash(ctx context.Context, tokenHash string) (*portal.Invitation, error)
	MarkInvitationUsed(ctx context.Context, id string) error
	User(ctx context.Context, id string) (*portal.User, error)
	AssignedTo(ctx context.Context, userID string) (*portal.Assigned, error)
	Devices(ctx context.Context, f portal.DeviceFilter) (portal.Page[portal.Device], error)
	RegisterDevice(ctx context.Context, d *portal.Device) error
	ReportDevice(ctx context.Context, id string, status string, progress int, installed map[string]string, derr *portal.DeviceError) error
	AddDeviceEvent(ctx context.Context, deviceID, stage, event string, detail map[string]any) error
	Setting(ctx context.Context, name string) (string, bool, error)
}

// Config is what the iOS provisioning service needs.
type Config struct {
	Store  store
	Blobs  *blob.Store
	Signer *Signer
	// ChallengeKey signs profile service challenges (ChallengeKeyName among the portal's secrets).
	ChallengeKey []byte
	PublicURL    string
	OrgName      string // unless the administrator set another in the console
	Log          *slog.Logger
}

// Service serves iPhones and iPads.
type Service struct {
	store      store
	blobs      *blob.Store
	signer     *Signer
	challenges challenges
	ns         namespace
	public     string
	org        string
	log        *slog.Logger
	now        func() time.Time
	bundles    sync.Map // artifact SHA-256 -> bundleInfo; blobs never change
}

// New makes the service.
func New(cfg Config) *Service {
	return &Service{store: cfg.Store, blobs: cfg.Blobs, signer: cfg.Signer, challenges: challenges{key: cfg.ChallengeKey, now: time.Now},
		ns: newNamespace(cfg.PublicURL), public: strings.TrimRight(cfg.PublicURL, "/"), org: cfg.OrgName, log: cfg.Log, now: time.Now}
}

// Register mounts the service's routes, all under a provisioning link.
func (s *Service) Register(e *echo.Echo) {
	e.GET("/p/:token/ios/profile", s.profileService)
	e.POST("/p/:token/ios/enroll", s.enroll)
	e.GET("/p/:token/ios/apps/:app/manifest.plist", s.appManifest)
	e.GET("/p/:token/ios/apps/:app/app.ipa", s.appPackage)
}

// ProfileURL is the first step of the profile flow for a provisioning link:
// the Profile Service profile.
func ProfileURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/p/" + token + "/ios/profile"
}

func enrollURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/p/" + token + "/ios/enroll"
}

func appManifestURL(publicURL, token, appID string) string {
	return strings.TrimRight(publicURL, "/") + "/p/" + token + "/ios/apps/" + url.PathEscape(appID) + "/manifest.plist"
}

func appPackageURL(publicURL, token, appID string) string {
	return strings.TrimRight(publicURL, "/") + "/p/" + token + "/ios/apps/" + url.PathEscape(appID) + "/app.ipa"
}

// AppInstallURL is the link that makes iOS install an in-house app. iOS
// follows it only when the manifest and the app are served over HTTPS with
// a certificate the device trusts.
func AppInstallURL(publicURL, token, appID string) string {
	return "itms-services://?action=download-manifest&url=" + url.QueryEscape(appManifestURL(publicURL, token, appID))
}

// ContentType is how iOS recognises a configuration profile.
const ContentType = "application/x-apple-aspen-config"

// DeviceAttributeNames are the attributes the Profile Service profile asks for.
var DeviceAttributeNames = []string{"UDID", "PRODUCT", "VERSION", "SERIAL", "IMEI"}

// maxResponse bounds what a device may post: its attributes and its certificates.
const maxResponse = 64 << 10

// settingOrgName is where the console keeps the organisation's name.
const settingOrgName = "org.name"

func (s *Service) orgName(ctx context.Context) (string, error) {
	org, ok, err := s.store.Setting(ctx, settingOrgName)
	if err != nil {
		return "", err
	}
	if !ok || org == "" {
		return s.org, nil
	}
	return org, nil
}

// invitation finds the live invitation of the link in the path.
func (s *Service) invitation(c echo.Context) (*portal.Invitation, error) {
	token := c.Param("token")
	if len(token) < 16 || len(token) > 128 {
		return nil, portal.Errorf(portal.CodeNotFound, "this link is not known; open it again from the message you received")
	}
	inv, err := s.store.InvitationByTokenHash(c.Request().Context(), deviceapi.HashToken(token))
	if portal.IsNotFound(err) {
		return nil, portal.Errorf(portal.CodeNotFound, "this link is not known; open it again from the message you received")
	}
	if err != nil {
		return nil, err
	}
	switch inv.State(s.now()) {
	case portal.InvitationExpired:
		return nil, portal.Errorf(portal.CodeInvitationGone, "this link has expired; ask your IT department for a new one")
	case portal.InvitationRevoked:
		return nil, portal.Errorf(portal.CodeInvitationGone, "this link was withdrawn; ask your IT department for a new one")
	}
	return inv, nil
}

func (s *Service) sendProfile(c echo.Context, filename string, v any) error {
	body, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		return fmt.Errorf("encode profile: %w", err)
	}
	signed, err := s.signer.Sign(body)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ContentType, signed)
}

// profileService answers the first step: a signed Profile Service profile
// that has the device post its attributes to the link's enrol URL.
func (s *Service) profileService(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	org, err := s.orgName(ctx)
	if err != nil {
		return err
	}
	challenge, err := s.challenges.issue(inv.ID)
	if err != nil {
		return fmt.Errorf("issue challenge: %w", err)
	}
	p := profileService{
		PayloadHeader: s.ns.header(TypeProfileService, s.ns.id("enrolment"), org+" device set-up",
			"Tells "+org+" which iPhone or iPad this is, so it can send the settings your IT policies ask for.", org),
		PayloadContent: profileServiceContent{URL: enrollURL(s.public, c.Param("token")), DeviceAttributes: DeviceAttributeNames, Challenge: challenge},
	}
	return s.sendProfile(c, "enrolment.mobileconfig", p)
}

var (
	udidRE    = regexp.MustCompile(`^[0-9A-Fa-f-]{24,64}$`)
	productRE = regexp.MustCompile(`^[A-Za-z]+[0-9]+,[0-9]+$`)
	attrRE    = regexp.MustCompile(`^[A-Za-z0-9 .,_-]{0,64}$`)
)

// attributes checks what the device says of itself. All of it ends up in
// the admin's views, so it must look like what a device sends.
func (a *DeviceAttributes) check() error {
	a.IMEI = strings.ReplaceAll(a.IMEI, " ", "")
	switch {
	case !udidRE.MatchString(a.UDID):
		return portal.Errorf(portal.CodeProfileResponseInvalid, "the device's answer carries no valid UDID")
	case !productRE.MatchString(a.Product):
		return portal.Errorf(portal.CodeProfileResponseInvalid, "the device's answer carries no valid PRODUCT")
	case !versionNumber.MatchString(a.Version) || len(a.Version) > 32:
		return portal.Errorf(portal.CodeProfileResponseInvalid, "the device's answer carries no valid VERSION")
	case !attrRE.MatchString(a.Serial) || !attrRE.MatchString(a.IMEI):
		return portal.Errorf(portal.CodeProfileResponseInvalid, "the device's answer carries a malformed SERIAL or IMEI")
	}
	return nil
}

// enroll takes the device's signed attributes and answers with the user's
// configuration profile. Everything is checked before anything is
// recorded: a refused answer leaves no device behind.
func (s *Service) enroll(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxResponse+1))
	if err != nil {
		return portal.Errorf(portal.CodeMalformed, "the request body could not be read")
	}
	if len(body) > maxResponse {
		return portal.Errorf(portal.CodeTooLarge, "the device's answer is larger than %d bytes", maxResponse)
	}
	content, signer, err := VerifyDeviceResponse(body)
	if err != nil {
		return &portal.Error{Code: portal.CodeProfileResponseInvalid, Msg: "the device's answer is not validly signed CMS data; install the set-up profile again from the link", Err: err}
	}
	var attrs DeviceAttributes
	if _, err := plist.Unmarshal(content, &attrs); err != nil {
		return &portal.Error{Code: portal.CodeProfileResponseInvalid, Msg: "the device's signed answer is not a property list of device attributes", Err: err}
	}
	if err := attrs.check(); err != nil {
		return err
	}
	if err := s.challenges.check(attrs.Challenge, inv.ID); err != nil {
		return &portal.Error{Code: portal.CodeProfileResponseInvalid, Msg: "the set-up profile on the device has expired or is for another link; open the link again and install the profile again", Err: err}
	}
	u, err := s.store.User(ctx, inv.UserID)
	if err != nil {
		return err
	}
	as, err := s.store.AssignedTo(ctx, u.ID)
	if err != nil {
		return err
	}
	rules := portal.MergeRules(as.Policies).For(string(portal.PlatformIOS))
	sources := make([]string, len(as.Policies))
	for i, p := range as.Policies {
		sources[i] = p.Name
	}
	detail := map[string]any{"udid": attrs.UDID, "product": attrs.Product, "version": attrs.Version, "serial": attrs.Serial,
		"imei": attrs.IMEI, "signer": signer.Subject.String(), "signer_fingerprint": certFingerprint(signer), "sources": sources,
		"invitation_id": inv.ID}
	if want, old := tooOld(rules, attrs.Version); old {
		return s.rejectTooOld(ctx, u, &attrs, want, detail)
	}
	org, err := s.orgName(ctx)
	if err != nil {
		return err
	}
	profile, unenforced := s.ns.configuration(u, rules, org)
	body, err = plist.MarshalIndent(profile, plist.XMLFormat, "\t")
	if err != nil {
		return fmt.Errorf("encode configuration profile: %w", err)
	}
	signed, err := s.signer.Sign(body)
	if err != nil {
		return err
	}
	d, err := s.recordDevice(ctx, u, &attrs)
	if err != nil {
		return err
	}
	if err := s.store.ReportDevice(ctx, d.ID, portal.StatusProfileDelivered, 100, nil, nil); err != nil {
		return err
	}
	detail["payloads"], detail["profile_bytes"], detail["unenforced"] = len(profile.PayloadContent), len(signed), unenforcedDetail(unenforced)
	if err := s.store.AddDeviceEvent(ctx, d.ID, portal.StatusProfileDelivered, "profile_delivered", detail); err != nil {
		return err
	}
	if err := s.store.MarkInvitationUsed(ctx, inv.ID); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "settings.mobileconfig"}))
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ContentType, signed)
}

func unenforcedDetail(un []Unenforced) []map[string]string {
	out := make([]map[string]string, len(un))
	for i, u := range un {
		out[i] = map[string]string{"rule": u.Rule, "reason": u.Reason}
	}
	return out
}

// recordDevice registers the device, finding it again by its serial number
// (or UDID) among the user's iPhones and iPads, so setting one up twice
// keeps one record.
func (s *Service) recordDevice(ctx context.Context, u *portal.User, a *DeviceAttributes) (*portal.Device, error) {
	ident := a.Serial
	if ident == "" {
		ident = a.UDID
	}
	d := portal.Device{UserID: u.ID, Name: a.Product + " " + ident, Platform: string(portal.PlatformIOS), OSVersion: a.Version,
		Status: portal.StatusProfileDelivered, Progress: 100}
	page, err := s.store.Devices(ctx, portal.DeviceFilter{ListOptions: portal.ListOptions{Limit: 20, Name: ident}, UserID: u.ID})
	if err != nil {
		return nil, err
	}
	for _, known := range page.Items {
		if known.Platform == d.Platform && strings.HasSuffix(known.Name, " "+ident) {
			d.ID = known.ID
			break
		}
	}
	if err := s.store.RegisterDevice(ctx, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// rejectTooOld records a device whose iOS is older than the policy allows,
// stopped with it_policy_rejected as a bootloader would be, and refuses it.
func (s *Service) rejectTooOld(ctx context.Context, u *portal.User, a *DeviceAttributes, want string, detail map[string]any) error {
	msg := fmt.Sprintf("IT policy rejected: this device runs iOS %s, older than the minimum %s; update it in Settings → General → Software Update, then open the link again", a.Version, want)
	d, err := s.recordDevice(ctx, u, a)
	if err != nil {
		return err
	}
	if err := s.store.ReportDevice(ctx, d.ID, deviceapi.StatusITPolicyRejected, 0, nil, &portal.DeviceError{Code: portal.FailITPolicyRejected, Message: msg}); err != nil {
		return err
	}
	detail["rejected"] = []map[string]string{{"rule": "min_os_version", "reason": "the device runs iOS " + a.Version + ", older than " + want}}
	if err := s.store.AddDeviceEvent(ctx, d.ID, deviceapi.StatusITPolicyRejected, "policy_rejected", detail); err != nil {
		return err
	}
	return portal.Errorf(portal.CodeITPolicyRejected, "%s", msg)
}
