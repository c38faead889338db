package landing

import (
	"context"
	"html/template"
	"strings"

	"provportal/portal"
	"provportal/portal/ios"
)

// iosOffer is what the page offers an iPhone or iPad: the profile flow and
// the in-house apps assigned to the user.
type iosOffer struct {
	ProfileURL string
	Apps       []iosApp
	// Primary: the browser is an iPhone's or iPad's. MaybeIPad: it says it
	// is a Mac, which is also what an iPad's Safari says by default; the
	// server cannot see a touch screen, so the page offers both.
	Primary, MaybeIPad bool
	// HTTPS: the portal's links are https://, without which iOS installs no app.
	HTTPS bool
	// Steps explain the profile flow beside the Mac installer's.
	Steps []string
}

type iosApp struct {
	Name, Version string
	// InstallURL is an itms-services:// link, which html/template would
	// otherwise refuse as an unsafe scheme; the portal builds it itself.
	InstallURL template.URL
}

// offerIOS adds the iPhone and iPad entry to the page and to the downloads:
// the first step of the profile flow, which every link offers.
func (s *Site) offerIOS(ctx context.Context, token string, inv *portal.Invitation, detected string, p *page, downloads map[string]string) error {
	p.IOS = iosOffer{ProfileURL: ios.ProfileURL(s.publicURL, token), Primary: detected == string(portal.PlatformIOS),
		MaybeIPad: strings.HasPrefix(detected, "darwin-"), HTTPS: strings.HasPrefix(s.publicURL, "https://")}
	downloads[string(portal.PlatformIOS)] = p.IOS.ProfileURL
	if !p.IOS.Primary && !p.IOS.MaybeIPad {
		return nil
	}
	if p.IOS.MaybeIPad {
		p.IOS.Steps = iosSteps()
	}
	as, err := s.store.AssignedTo(ctx, inv.UserID)
	if err != nil {
		return err
	}
	for _, a := range ios.Apps(as, s.publicURL, token) {
		p.IOS.Apps = append(p.IOS.Apps, iosApp{Name: a.Name, Version: a.Version, InstallURL: template.URL(a.InstallURL)})
	}
	return nil
}

func iosSteps() []string {
	return []string{
		"Tap Install profile above, then Allow when Safari asks to download a configuration profile.",
		"Open Settings and tap Profile Downloaded (or General → VPN & Device Management), then Install, and enter your passcode. This tells your IT department which iPhone or iPad this is: its model, iOS version, serial number and identifiers.",
		"Settings then shows your organisation's settings profile (passcode, Wi-Fi, e-mail and the like): tap Install once more. Settings may mark it Not Verified if your IT department signs with a certificate of its own.",
	}
}
