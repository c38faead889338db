package packages_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"provportal/packages"
)

const image = "\x7fELF a stand-in for a bootloader executable"

func stamped(t *testing.T, cfg packages.BootConfig) []byte {
	t.Helper()
	trailer, err := packages.StampTrailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(image), trailer...)
}

func TestStampRoundTrip(t *testing.T) {
	want := packages.BootConfig{
		PortalURL:   "https://portal.example.com",
		Fingerprint: "sha256:" + strings.Repeat("ab", 32),
		Invitation:  "inv-123",
		Alias:       "acme",
		Relay:       "https://relay.example.com",
	}
	b := stamped(t, want)
	got, err := packages.ReadStamp(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	if !bytes.HasPrefix(b, []byte(image)) {
		t.Error("the trailer changed the executable's bytes")
	}

	// Stamping an already stamped file: the last stamp counts.
	again := append(b, mustTrailer(t, packages.BootConfig{PortalURL: "https://other.example.com"})...)
	got, err = packages.ReadStamp(bytes.NewReader(again), int64(len(again)))
	if err != nil || got.PortalURL != "https://other.example.com" {
		t.Errorf("restamped: got %+v, %v; want the last stamp", got, err)
	}
}

func mustTrailer(t *testing.T, cfg packages.BootConfig) []byte {
	t.Helper()
	b, err := packages.StampTrailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadStampRefuses(t *testing.T) {
	good := stamped(t, packages.BootConfig{PortalURL: "https://portal.example.com"})
	withLength := func(n uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[len(b)-12:], n)
		return b
	}
	tests := []struct {
		name    string
		file    []byte
		noStamp bool // want ErrNoStamp rather than a corruption error
	}{
		{"empty_file", nil, true},
		{"shorter_than_a_trailer", []byte("PPSTAMP1"), true},
		{"unstamped_executable", []byte(image), true},
		{"magic_damaged", append(good[:len(good)-1:len(good)-1], '2'), true},
		{"length_past_the_start", withLength(uint32(len(good))), false},
		{"length_over_the_limit", withLength(1 << 20), false},
		{"length_zero", withLength(0), false},
		{"json_damaged", func() []byte {
			b := append([]byte(nil), good...)
			b[len(image)] = '[' // the JSON's opening brace
			return b
		}(), false},
		{"json_cut", append([]byte(image[:5]), good[len(image)+5:]...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := packages.ReadStamp(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil {
				t.Fatalf("ReadStamp accepted it: %+v", got)
			}
			if gotNoStamp := errors.Is(err, packages.ErrNoStamp); gotNoStamp != tc.noStamp {
				t.Errorf("error %v: ErrNoStamp %v, want %v", err, gotNoStamp, tc.noStamp)
			}
		})
	}
}

func TestStampTrailerRefusesOversizedConfiguration(t *testing.T) {
	_, err := packages.StampTrailer(packages.BootConfig{Invitation: strings.Repeat("x", 70<<10)})
	if err == nil {
		t.Error("a 70 KiB configuration was stamped; want it refused")
	}
}
