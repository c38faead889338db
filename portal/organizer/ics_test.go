package organizer

import (
	"errors"
	"strings"
	"testing"
)

func TestParseICSGoogleCalendar(t *testing.T) {
	items := mustParse(t)(parseFile(t, "google.ics", ics))
	got := byUID(t, items)
	if len(items) != 9 {
		t.Errorf("got %d items, want 9", len(items))
	}
	tests := []struct {
		name    string
		key     string // kind and UID
		summary string
		check   func(t *testing.T, it Item)
	}{
		{
			name:    "recurring_event_in_winter_time",
			key:     "calendar 7kukuqrfedlm2f9t0vr42q1gfo@google.com",
			summary: "Weekly sync",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Event{
					Summary:     "Weekly sync",
					Description: "Agenda:\n- status\n- blockers, risks\n\nJoin with Google Meet: https://meet.google.com/abc-defg-hij",
					Location:    "Room 4, Building B",
					Start:       "2024-03-11T08:30:00Z", // 09:30 CET
					End:         "2024-03-11T09:00:00Z",
					TimeZone:    "Europe/Berlin",
					RRule:       "FREQ=WEEKLY;BYDAY=MO",
					ExDates:     []string{"2024-04-01T07:30:00Z", "2024-04-08T07:30:00Z"}, // 09:30 CEST
					Organizer:   "Alice Example <alice@example.com>",
					Attendees:   []string{"Alice Example <alice@example.com>", "Builder, Bob <bob@example.com>"},
				})
			},
		},
		{
			name:    "moved_occurrence_gets_its_own_uid",
			key:     "calendar 7kukuqrfedlm2f9t0vr42q1gfo@google.com#2024-03-18T08:30:00Z",
			summary: "Weekly sync (moved)",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Event{
					Summary:      "Weekly sync (moved)",
					Start:        "2024-03-18T10:00:00Z",
					End:          "2024-03-18T10:30:00Z",
					TimeZone:     "Europe/Berlin",
					RecurrenceID: "2024-03-18T08:30:00Z",
					Organizer:    "Alice Example <alice@example.com>",
					Attendees:    []string{},
				})
			},
		},
		{
			name:    "all_day_event",
			key:     "calendar 0b1oe2mmv8lkgg3f9mh9h7r3tq@google.com",
			summary: "Company holiday",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Event{Summary: "Company holiday", Start: "2024-03-15", End: "2024-03-16", AllDay: true, Attendees: []string{}})
			},
		},
		{
			name:    "summer_time_from_the_vtimezone",
			key:     "calendar 5n0v1f3tq7s4e2kt4a9v8r0m1c@google.com",
			summary: "Summer planning",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Event{Summary: "Summer planning", Location: "Café Müller",
					Start: "2024-07-04T12:00:00Z", End: "2024-07-04T13:30:00Z", TimeZone: "Europe/Berlin", Attendees: []string{}})
			},
		},
		{
			name:    "utc_start_with_duration",
			key:     "calendar 3q2w1e4r5t6y7u8i9o0p@google.com",
			summary: "Call with <Contoso> & partners",
			check: func(t *testing.T, it Item) {
				if !strings.Contains(string(it.Data), `"Call with <Contoso> & partners"`) {
					t.Errorf("data %s: want the summary without HTML escapes", it.Data)
				}
				checkData(t, it, Event{Summary: "Call with <Contoso> & partners",
					Start: "2024-03-20T16:00:00Z", End: "2024-03-20T16:45:00Z", Attendees: []string{}})
			},
		},
		{
			name:    "iana_tzid_without_vtimezone_at_the_repeated_hour",
			key:     "calendar ny-fall-back@example.com",
			summary: "Night shift handover",
			check: func(t *testing.T, it Item) {
				// 01:30 happens twice on 3 November 2024 in New York: the
				// first, in EDT, is meant. 02:30 is EST.
				checkData(t, it, Event{Summary: "Night shift handover",
					Start: "2024-11-03T05:30:00Z", End: "2024-11-03T07:30:00Z", TimeZone: "America/New_York", Attendees: []string{}})
			},
		},
		{
			name:    "task_due_on_a_day",
			key:     "tasks task-report@example.com",
			summary: "Send the quarterly report",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Task{Summary: "Send the quarterly report", Due: "2024-03-29", Priority: 1})
			},
		},
		{
			name:    "completed_task_due_at_a_time",
			key:     "tasks task-badge@example.com",
			summary: "Collect the new badge",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Task{Summary: "Collect the new badge", Due: "2024-03-05T16:00:00Z", Completed: true})
			},
		},
		{
			name:    "journal_as_memo",
			key:     "memos memo-parking@example.com",
			summary: "Parking",
			check: func(t *testing.T, it Item) {
				checkData(t, it, Memo{Title: "Parking", Body: "Level 3, space 42.\nThe gate code is 1234."})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := got[tt.key]
			if !ok {
				t.Fatalf("no item %q", tt.key)
			}
			if it.Summary != tt.summary {
				t.Errorf("summary = %q, want %q", it.Summary, tt.summary)
			}
			tt.check(t, it)
		})
	}
}

func TestParseICSOutlookTimeZone(t *testing.T) {
	// "W. Europe Standard Time" is no IANA name: only the file's VTIMEZONE,
	// whose rules start in 1601, says when summer time applies.
	items := mustParse(t)(parseFile(t, "outlook.ics", ics))
	got := byUID(t, items)
	tests := []struct {
		name       string
		uid        string
		start, end string
	}{
		{"summer", "040000008200E00074C5B7101A82E00800000000D0B4C1A1E3C3DA010000000000000000100000004C1A0B4F1F0F9A4B8D0C3E0B5F6A7B8C",
			"2024-07-01T08:00:00Z", "2024-07-01T09:30:00Z"},
		{"winter", "outlook-winter@example.com", "2024-12-02T07:00:00Z", "2024-12-02T07:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := got["calendar "+tt.uid]
			if !ok {
				t.Fatalf("no event %q", tt.uid)
			}
			var e Event
			decode(t, it, &e)
			if e.Start != tt.start || e.End != tt.end {
				t.Errorf("start, end = %s, %s; want %s, %s", e.Start, e.End, tt.start, tt.end)
			}
			if e.TimeZone != "" {
				t.Errorf("timezone = %q, want none for a Windows zone name", e.TimeZone)
			}
		})
	}
}

func TestParseICSBadComponentsAreReportedAndGoodOnesKept(t *testing.T) {
	items, ie, err := parseFile(t, "bad.ics", ics)
	if err != nil {
		t.Fatalf("err = %v, want the good components and *ImportErrors", err)
	}
	var uids []string
	for _, it := range items {
		uids = append(uids, it.UID)
	}
	if want := "good-first@example.com good-second@example.com task-good@example.com"; strings.Join(uids, " ") != want {
		t.Errorf("imported %v, want %s", uids, want)
	}
	checkRefusals(t, ie, map[int][]string{
		1:  {"VEVENT at line 10", "no DTSTART"},
		2:  {"VEVENT at line 15", "DTEND (line 18)", "is before DTSTART (line 17)"},
		3:  {"VEVENT at line 21", "line 23", "no colon"},
		4:  {"DTSTART (line 28)", `"Mars/Olympus_Mons"`, "not an IANA time zone"},
		5:  {"VEVENT at line 31", "no END:VEVENT before the BEGIN:VEVENT at line 35"},
		7:  {"VFREEBUSY", "not imported"},
		8:  {"VTODO at line 45", "no SUMMARY"},
		10: {"VEVENT at line 54", "same UID as #0"},
	})
	if e := reasons(ie)[2]; e.UID != "end-before-start@example.com" {
		t.Errorf("#2 UID = %q, want end-before-start@example.com", e.UID)
	}
	if e := reasons(ie)[5]; e.UID != "no-end@example.com" {
		t.Errorf("#5 UID = %q, want no-end@example.com (a broken component keeps its UID)", e.UID)
	}
	if msg := ie.Error(); !strings.Contains(msg, "8 items refused") {
		t.Errorf("Error() = %q, want the count", msg)
	}
}

// calendar wraps components in a VCALENDAR.
func calendar(header string, body ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + header + strings.Join(body, "") + "END:VCALENDAR\r\n"
}

func vevent(lines ...string) string {
	return "BEGIN:VEVENT\r\nUID:e@example.com\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\n"
}

const berlinZone = "BEGIN:VTIMEZONE\r\nTZID:Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" +
	"TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"

func TestParseICSEventTimes(t *testing.T) {
	tests := []struct {
		name       string
		ics        string
		start, end string
		allDay     bool
		zone       string
		refused    string // words of the reason, when the event is refused
	}{
		{name: "floating_time_in_x_wr_timezone",
			ics:   calendar("X-WR-TIMEZONE:Asia/Tokyo\r\n", vevent("DTSTART:20240105T090000", "DTEND:20240105T100000")),
			start: "2024-01-05T00:00:00Z", end: "2024-01-05T01:00:00Z", zone: "Asia/Tokyo"},
		{name: "floating_time_without_calendar_zone_is_utc",
			ics:   calendar("", vevent("DTSTART:20240105T090000")),
			start: "2024-01-05T09:00:00Z", end: "2024-01-05T09:00:00Z"},
		{name: "skipped_hour_read_with_the_offset_before_the_gap",
			ics:   calendar("", berlinZone, vevent("DTSTART;TZID=Berlin:20240331T023000", "DURATION:PT1H")),
			start: "2024-03-31T01:30:00Z", end: "2024-03-31T02:30:00Z"},
		{name: "repeated_hour_is_the_first",
			ics:   calendar("", berlinZone, vevent("DTSTART;TZID=Berlin:20241027T023000")),
			start: "2024-10-27T00:30:00Z", end: "2024-10-27T00:30:00Z"},
		{name: "vtimezone_wins_over_the_iana_name",
			ics: calendar("", strings.ReplaceAll(strings.ReplaceAll(berlinZone, "TZID:Berlin", "TZID:Asia/Tokyo"), "+0200", "+0100"),
				vevent("DTSTART;TZID=Asia/Tokyo:20240105T090000")),
			start: "2024-01-05T08:00:00Z", end: "2024-01-05T08:00:00Z", zone: "Asia/Tokyo"},
		{name: "all_day_without_end_lasts_a_day",
			ics:   calendar("", vevent("DTSTART;VALUE=DATE:20240229")),
			start: "2024-02-29", end: "2024-03-01", allDay: true},
		{name: "all_day_with_duration_in_days",
			ics:   calendar("", vevent("DTSTART;VALUE=DATE:20240101", "DURATION:P3D")),
			start: "2024-01-01", end: "2024-01-04", allDay: true},
		{name: "end_before_start", refused: "is before DTSTART",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "DTEND:20240105T080000Z"))},
		{name: "date_end_for_date_time_start", refused: "DTEND (line 6) is a date but DTSTART (line 5) a date-time",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "DTEND;VALUE=DATE:20240106"))},
		{name: "dtend_and_duration", refused: "both DTEND",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "DTEND:20240105T100000Z", "DURATION:PT1H"))},
		{name: "negative_duration", refused: "negative",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "DURATION:-PT1H"))},
		{name: "invalid_date", refused: `"20241305T090000Z" is not an iCalendar date-time`,
			ics: calendar("", vevent("DTSTART:20241305T090000Z"))},
		{name: "two_dtstarts", refused: "more than one DTSTART",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "DTSTART:20240106T090000Z"))},
		{name: "invalid_rrule", refused: "RRULE (line 6)",
			ics: calendar("", vevent("DTSTART:20240105T090000Z", "RRULE:FREQ=FORTNIGHTLY"))},
		{name: "vtimezone_with_a_secondly_rule", refused: "only yearly rules",
			ics: calendar("", strings.Replace(berlinZone, "FREQ=YEARLY;BYMONTH=10", "FREQ=SECONDLY;BYMONTH=10", 1),
				vevent("DTSTART;TZID=Berlin:20240105T090000"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseICS(strings.NewReader(tt.ics))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.refused != "" {
				var found bool
				for _, e := range reasons(ie) {
					found = found || strings.Contains(e.Reason, tt.refused)
				}
				if len(items) != 0 || !found {
					t.Fatalf("items %v, refusals %v; want the event refused with %q", items, ie, tt.refused)
				}
				return
			}
			if ie != nil || len(items) != 1 {
				t.Fatalf("items %v, refusals %v; want one event", items, ie)
			}
			var e Event
			decode(t, items[0], &e)
			if e.Start != tt.start || e.End != tt.end || e.AllDay != tt.allDay || e.TimeZone != tt.zone {
				t.Errorf("start, end, all_day, timezone = %s, %s, %v, %q; want %s, %s, %v, %q",
					e.Start, e.End, e.AllDay, e.TimeZone, tt.start, tt.end, tt.allDay, tt.zone)
			}
		})
	}
}

func TestParseICSRefusesWholeFile(t *testing.T) {
	google := readTestdata(t, "google.ics")
	tests := []struct {
		name      string
		input     string
		line      int
		msg       string
		truncated bool
	}{
		{name: "garbage", input: readTestdata(t, "garbage.txt"), line: 1, msg: "UTF-8"},
		{name: "truncated_file", input: readTestdata(t, "truncated.ics"), line: 77, msg: "VEVENT begun at line 73 has no END", truncated: true},
		{name: "cut_after_last_component", input: google[:strings.LastIndex(google, "END:VCALENDAR")], line: 118, msg: "VCALENDAR begun at line 1", truncated: true},
		{name: "empty", input: "", msg: "no VCALENDAR"},
		{name: "vcard_instead", input: readTestdata(t, "outlook.vcf"), line: 1, msg: `expected BEGIN:VCALENDAR, found "BEGIN:VCARD"`},
		{name: "text_after_the_calendar", input: calendar("") + "hello\r\n", line: 4, msg: "no colon"},
		{name: "end_without_begin", input: "BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", line: 2, msg: "END:VEVENT without its BEGIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseICS(strings.NewReader(tt.input))
			if items != nil || ie != nil {
				t.Errorf("items %v, refusals %v; want none with a whole-file error", items, ie)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FormatError", err)
			}
			if fe.Line != tt.line || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("line %d, msg %q; want line %d, msg with %q", fe.Line, fe.Msg, tt.line, tt.msg)
			}
			if got := errors.Is(err, ErrTruncated); got != tt.truncated {
				t.Errorf("errors.Is(err, ErrTruncated) = %v, want %v", got, tt.truncated)
			}
		})
	}
}
