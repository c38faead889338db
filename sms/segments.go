package sms

import "unicode/utf16"

// Message encodings.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// Segment capacities: a message that fits one segment has it all; a longer
// one is split into parts that each lose room to the concatenation header
// (6 octets: 7 septets, or 3 UTF-16 units).
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// Segments is what a body costs to send as SMS.
type Segments struct {
	Encoding  string `json:"encoding"`  // GSM7 or UCS2
	Units     int    `json:"units"`     // septets (GSM-7) or UTF-16 code units (UCS-2)
	Segments  int    `json:"segments"`  // parts the carrier sends and bills
	Remaining int    `json:"remaining"` // units still free in the last segment
}

// gsm7Basic is the GSM 03.38 default alphabet, in code order (0x00-0x7F),
// without 0x1B, the escape to the extension table.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞ" + /* 0x1B escape */ "ÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNO" +
	"PQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmno" +
	"pqrstuvwxyzäöñüà"

// gsm7Extension is the GSM 03.38 extension table: each character is sent as
// the escape septet and one more, so it counts 2.
const gsm7Extension = "\f^{}\\[~]|€"

var gsm7Septets = func() map[rune]int {
	m := make(map[rune]int, 138)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// Count reports how body is encoded and how many segments it takes. A body
// is sent as GSM-7 when every character is in the GSM 03.38 tables, else as
// UCS-2 (UTF-16, where a character outside the Basic Multilingual Plane,
// such as an emoji, takes two units). Parts are packed the way handsets
// join them: an escape pair or a surrogate pair is never split between two
// parts, so a part can carry one unit less than its capacity.
func Count(body string) Segments {
	sizes, enc := gsm7Sizes(body)
	single, part := gsm7Single, gsm7Part
	if enc != GSM7 {
		sizes, enc = ucs2Sizes(body), UCS2
		single, part = ucs2Single, ucs2Part
	}
	s := Segments{Encoding: enc}
	for _, n := range sizes {
		s.Units += n
	}
	switch {
	case s.Units == 0:
		s.Remaining = single
	case s.Units <= single:
		s.Segments, s.Remaining = 1, single-s.Units
	default:
		used := 0
		s.Segments = 1
		for _, n := range sizes {
			if used+n > part {
				s.Segments++
				used = 0
			}
			used += n
		}
		s.Remaining = part - used
	}
	return s
}

// gsm7Sizes returns each character's septets, or UCS2 when a character is
// not in the GSM 03.38 tables.
func gsm7Sizes(body string) ([]int, string) {
	sizes := make([]int, 0, len(body))
	for _, r := range body {
		n, ok := gsm7Septets[r]
		if !ok {
			return nil, UCS2
		}
		sizes = append(sizes, n)
	}
	return sizes, GSM7
}

func ucs2Sizes(body string) []int {
	sizes := make([]int, 0, len(body))
	for _, r := range body {
		n := utf16.RuneLen(r)
		if n < 0 { // an invalid byte becomes U+FFFD, one unit
			n = 1
		}
		sizes = append(sizes, n)
	}
	return sizes
}
