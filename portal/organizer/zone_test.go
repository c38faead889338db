package organizer

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

const newYorkZone = `BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
DTSTART:19870405T020000
RRULE:FREQ=YEARLY;UNTIL=20060402T070000Z;BYMONTH=4;BYDAY=1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
DTSTART:19671029T020000
RRULE:FREQ=YEARLY;UNTIL=20061029T060000Z;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
`

// outlookBerlinZone starts its rules in 1601, past what rrule-go can count
// in one time.Duration.
const outlookBerlinZone = `BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
`

const rdateZone = `BEGIN:VTIMEZONE
TZID:Test/RDATE
BEGIN:DAYLIGHT
DTSTART:20240601T000000
RDATE:20250601T000000
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20240901T000000
RDATE:20250901T010000,20260901T010000
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
END:STANDARD
END:VTIMEZONE
`

func mustVTimezone(t *testing.T, src string) *vtimezone {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader("BEGIN:VCALENDAR\r\n" + src + "END:VCALENDAR\r\n")).Decode()
	if err != nil {
		t.Fatal(err)
	}
	z, err := buildVTimezone(cal.Children[0])
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestVTimezoneMatchesIANA(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		iana     string
		from, to int // years compared, hour by hour
	}{
		{"new_york_two_rule_eras_with_until", newYorkZone, "America/New_York", 1988, 2040},
		{"outlook_rules_from_1601", outlookBerlinZone, "Europe/Berlin", 1996, vtimezoneHorizon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := mustVTimezone(t, tt.src)
			loc, err := time.LoadLocation(tt.iana)
			if err != nil {
				t.Fatal(err)
			}
			iana := ianaZone{loc}
			end := time.Date(tt.to, 1, 1, 0, 0, 0, 0, time.UTC)
			bad := 0
			for u := time.Date(tt.from, 1, 1, 0, 0, 0, 0, time.UTC); u.Before(end); u = u.Add(time.Hour) {
				if got, want := z.offsetAt(u), iana.offsetAt(u); got != want && bad < 5 {
					bad++
					t.Errorf("offset at %s = %d, want %d", u.Format(time.RFC3339), got, want)
				}
			}
		})
	}
}

func TestVTimezoneRDATE(t *testing.T) {
	z := mustVTimezone(t, rdateZone)
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{"before_the_first_onset", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"first_summer", time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), 3600},
		{"first_winter", time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), 0},
		{"rdate_summer", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 3600},
		{"rdate_list_winter", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := z.offsetAt(tt.at); got != tt.want {
				t.Errorf("offset = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestResolveWall(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]zone{"iana": ianaZone{ny}, "vtimezone": mustVTimezone(t, newYorkZone)}
	tests := []struct {
		name string
		wall time.Time
		want string
	}{
		{"winter", time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC), "2024-01-15T14:00:00Z"},
		{"summer", time.Date(2024, 7, 15, 9, 0, 0, 0, time.UTC), "2024-07-15T13:00:00Z"},
		{"just_before_the_gap", time.Date(2024, 3, 10, 1, 59, 0, 0, time.UTC), "2024-03-10T06:59:00Z"},
		{"in_the_gap_uses_the_offset_before", time.Date(2024, 3, 10, 2, 30, 0, 0, time.UTC), "2024-03-10T07:30:00Z"},
		{"just_after_the_gap", time.Date(2024, 3, 10, 3, 0, 0, 0, time.UTC), "2024-03-10T07:00:00Z"},
		{"repeated_hour_is_the_first", time.Date(2024, 11, 3, 1, 30, 0, 0, time.UTC), "2024-11-03T05:30:00Z"},
		{"after_the_repeated_hour", time.Date(2024, 11, 3, 2, 0, 0, 0, time.UTC), "2024-11-03T07:00:00Z"},
		{"old_rules_april", time.Date(2005, 4, 3, 12, 0, 0, 0, time.UTC), "2005-04-03T16:00:00Z"},
	}
	for zname, z := range zones {
		for _, tt := range tests {
			t.Run(zname+"/"+tt.name, func(t *testing.T) {
				if got := resolveWall(tt.wall, z).Format(time.RFC3339); got != tt.want {
					t.Errorf("resolveWall(%s) = %s, want %s", tt.wall.Format("2006-01-02 15:04"), got, tt.want)
				}
			})
		}
	}
}

func TestBuildVTimezoneRefuses(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"no_observance", "BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n", "no STANDARD or DAYLIGHT"},
		{"no_offset_to", "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n", "no TZOFFSETTO"},
		{"bad_offset", strings.Replace(rdateZone, "TZOFFSETTO:+0100", "TZOFFSETTO:+01", 1), `"+01" is not a UTC offset`},
		{"monthly_rule", strings.Replace(newYorkZone, "FREQ=YEARLY;BYMONTH=3", "FREQ=MONTHLY;BYMONTH=3", 1), "only yearly rules"},
		{"no_dtstart", strings.Replace(rdateZone, "DTSTART:20240601T000000\n", "", 1), "no DTSTART"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, err := ical.NewDecoder(strings.NewReader("BEGIN:VCALENDAR\r\n" + tt.src + "END:VCALENDAR\r\n")).Decode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := buildVTimezone(cal.Children[0]); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one with %q", err, tt.want)
			}
		})
	}
}
