package server

import (
	"net/http"
	"testing"

	"howett.net/plist"

	"provportal/portal/gormstore"
	"provportal/portal/ios"
	"provportal/portal/testdb"
)

// BenchmarkIOSEnrolment measures an iPhone's whole way on loopback, from its
// first request to the signed configuration profile: the landing page, the
// signed Profile Service profile, the phone signing its attributes (as a
// phone does) and posting them, the portal checking and recording them and
// answering with the user's profile, signed. It reports the profile's size
// for a user with a passcode, a restriction, a Wi-Fi network, an e-mail
// account and a web clip.
func BenchmarkIOSEnrolment(b *testing.B) {
	e := newPortal(b, openStore(b, gormstore.Config{SQLitePath: testdb.SQLitePath(b)}))
	_, token, _ := iosUser(b, e)
	link := e.URL + "/p/" + token
	phone := newTestPhone(b)
	attrs := ios.DeviceAttributes{UDID: "00008110-001A2B3C4D5E6F70", Product: "iPhone15,2", Version: "17.4", Serial: "F2LXK0ABCDEF"}
	size := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if status, _, body := get(b, link, uaIPhone, "text/html"); status != http.StatusOK {
			b.Fatalf("landing: %d %s", status, body)
		}
		status, _, signed := get(b, ios.ProfileURL(e.URL, token), uaIPhone, "")
		if status != http.StatusOK {
			b.Fatalf("profile service: %d %s", status, signed)
		}
		// The phone reads the challenge out of the profile it installs.
		content, _, err := ios.VerifyDeviceResponse(signed)
		if err != nil {
			b.Fatal(err)
		}
		var ps struct {
			PayloadContent struct{ URL, Challenge string }
		}
		if _, err := plist.Unmarshal(content, &ps); err != nil {
			b.Fatal(err)
		}
		attrs.Challenge = ps.PayloadContent.Challenge
		status, _, profile := postProfileAnswer(b, ps.PayloadContent.URL, phone.answer(b, attrs))
		if status != http.StatusOK {
			b.Fatalf("enrol: %d %s", status, profile)
		}
		size = len(profile)
	}
	b.ReportMetric(float64(size), "profile-bytes")
}
