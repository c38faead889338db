package sms

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCount(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	u := func(n int) string { return strings.Repeat("é", n/2) + strings.Repeat("Ж", n-n/2) } // é is GSM-7, Ж is not
	tests := []struct {
		name      string
		body      string
		enc       string
		units     int
		segments  int
		remaining int
	}{
		{"empty", "", GSM7, 0, 0, 160},
		{"gsm_1", "a", GSM7, 1, 1, 159},
		{"gsm_160", a(160), GSM7, 160, 1, 0},
		{"gsm_161", a(161), GSM7, 161, 2, 145},
		{"gsm_306", a(306), GSM7, 306, 2, 0},
		{"gsm_307", a(307), GSM7, 307, 3, 152},
		{"gsm_459", a(459), GSM7, 459, 3, 0},
		{"gsm_460", a(460), GSM7, 460, 4, 152},
		{"euro_counts_2", "€", GSM7, 2, 1, 158},
		{"brace_counts_2", "{", GSM7, 2, 1, 158},
		{"extension_table", "\f^{}\\[~]|€", GSM7, 20, 1, 140},
		{"gsm_159_plus_euro", a(159) + "€", GSM7, 161, 2, 145},
		{"gsm_158_plus_euro", a(158) + "€", GSM7, 160, 1, 0},
		// 152 septets then an escape pair: the pair moves whole to part 2.
		{"escape_pair_not_split", a(152) + "€" + a(10), GSM7, 164, 2, 141},
		{"gsm_basic_specials", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\r\n", GSM7, 44, 1, 116},
		{"ucs2_one_char", "Ж", UCS2, 1, 1, 69},
		{"ucs2_70", u(70), UCS2, 70, 1, 0},
		{"ucs2_71", u(71), UCS2, 71, 2, 63},
		{"ucs2_134", u(134), UCS2, 134, 2, 0},
		{"ucs2_135", u(135), UCS2, 135, 3, 66},
		{"emoji_forces_ucs2", "hi 😀", UCS2, 5, 1, 65},
		{"emoji_pair_counts_2", a(68) + "😀", UCS2, 70, 1, 0},
		{"emoji_tips_over", a(69) + "😀", UCS2, 71, 2, 63},
		// 66 units then a surrogate pair: the pair moves whole to part 2.
		{"surrogate_pair_not_split", a(66) + "😀" + a(10), UCS2, 78, 2, 55},
		{"ucs2_euro_counts_1", "Ж€", UCS2, 2, 1, 68},
		{"lowercase_c_cedilla_is_not_gsm", "ç", UCS2, 1, 1, 69},
		{"backtick_is_not_gsm", "`", UCS2, 1, 1, 69},
		{"invalid_utf8", "\xff", UCS2, 1, 1, 69},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Count(tt.body)
			want := Segments{Encoding: tt.enc, Units: tt.units, Segments: tt.segments, Remaining: tt.remaining}
			if got != want {
				t.Errorf("Count(%d chars) = %+v, want %+v", utf8.RuneCountInString(tt.body), got, want)
			}
		})
	}
}

func TestGSM7Tables(t *testing.T) {
	if n := utf8.RuneCountInString(gsm7Basic); n != 127 {
		t.Errorf("basic table has %d characters, want 128 less the escape", n)
	}
	if n := utf8.RuneCountInString(gsm7Extension); n != 10 {
		t.Errorf("extension table has %d characters, want 10", n)
	}
	// Greek capitals must be the Greek letters, not look-alikes (Ω is U+03A9, not the ohm sign U+2126).
	for _, r := range []rune{0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E} {
		if gsm7Septets[r] != 1 {
			t.Errorf("U+%04X missing from the basic table", r)
		}
	}
	for _, r := range []rune{0x2126, 0x1B, '`', 'ç', 'Ö' + 1} {
		if _, ok := gsm7Septets[r]; ok {
			t.Errorf("U+%04X must not be GSM-7", r)
		}
	}
}
