package sms

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
		wantErr                 bool
	}{
		{"us_formatted", "+1 (415) 555-0132", "US", "+14155550132", false},
		{"us_national", "(415) 555-0132", "US", "+14155550132", false},
		{"uk_mobile_international", "+44 7700 900123", "US", "+447700900123", false},
		{"uk_national_with_gb_region", "07911 123456", "GB", "+447911123456", false},
		{"too_short", "12", "US", "", true},
		{"letters", "call me", "US", "", true},
		{"empty", "  ", "US", "", true},
		{"too_long", "+1 415 555 0132 9999", "US", "", true},
		{"uk_fictional_range", "+447700900123", "US", "+447700900123", false},
		{"unknown_country_code", "+999 1234 5678", "US", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NormalizePhone(%q) error = %v, want error %v", tt.raw, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("NormalizePhone(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}
