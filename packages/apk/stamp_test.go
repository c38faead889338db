package apk_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"provportal/packages"
	"provportal/packages/apk"
)

func TestStampRoundTrip(t *testing.T) {
	want := packages.BootConfig{
		PortalURL:   "https://portal.example.com",
		Fingerprint: "sha256:" + strings.Repeat("ab", 32),
		Invitation:  "inv-123",
	}
	orig := signedAPK(t)
	r, n, err := apk.Stamp(bytes.NewReader(orig), int64(len(orig)), want)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	got, err := apk.ReadStamp(bytes.NewReader(b), n)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	if _, err := packages.ReadStamp(bytes.NewReader(b), n); !errors.Is(err, packages.ErrNoStamp) {
		t.Errorf("the APK also reads as a stamped executable (%v): the two stamps must not be confused", err)
	}

	// A generic download stamped again for an invitation: the last stamp counts.
	r, n, err = apk.Stamp(bytes.NewReader(b), n, packages.BootConfig{PortalURL: "https://other.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r)
	if got, err := apk.ReadStamp(bytes.NewReader(b), n); err != nil || got.PortalURL != "https://other.example.com" || got.Invitation != "" {
		t.Errorf("restamped: %+v, %v", got, err)
	}
}

func TestStampRefusesOversizedConfiguration(t *testing.T) {
	orig := signedAPK(t)
	if _, _, err := apk.Stamp(bytes.NewReader(orig), int64(len(orig)), packages.BootConfig{Invitation: strings.Repeat("x", 70<<10)}); err == nil {
		t.Error("a 70 KiB configuration was stamped; want it refused")
	}
}

func TestReadStampRefusesDamagedJSON(t *testing.T) {
	b := withValue(t, signedAPK(t), apk.StampID, []byte(`{"portal_url":`))
	_, err := apk.ReadStamp(bytes.NewReader(b), int64(len(b)))
	if err == nil || errors.Is(err, packages.ErrNoStamp) {
		t.Errorf("damaged stamp: %v; want an error other than ErrNoStamp", err)
	}
}
