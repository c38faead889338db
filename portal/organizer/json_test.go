package organizer

import (
	"errors"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		input   string
		summary string
		want    any
	}{
		{
			name: "event_at_an_offset_stored_in_utc", kind: KindCalendar, summary: "Kick-off",
			input: `[{"summary": "Kick-off", "start": "2024-04-02T09:00:00+02:00", "end": "2024-04-02T10:00:00+02:00",
				"attendees": ["bob@example.com", " "]}]`,
			want: Event{Summary: "Kick-off", Start: "2024-04-02T07:00:00Z", End: "2024-04-02T08:00:00Z", Attendees: []string{"bob@example.com"}},
		},
		{
			name: "all_day_event_without_end", kind: KindCalendar, summary: "Conference",
			input: `[{"summary": "Conference", "start": "2024-05-13", "all_day": true}]`,
			want:  Event{Summary: "Conference", Start: "2024-05-13", End: "2024-05-14", AllDay: true, Attendees: []string{}},
		},
		{
			name: "contact_from_given_and_family", kind: KindContacts, summary: "Ada Lovelace",
			input: `[{"given": "Ada", "family": "Lovelace", "emails": ["ada@example.com"]}]`,
			want:  Contact{FullName: "Ada Lovelace", Given: "Ada", Family: "Lovelace", Emails: []string{"ada@example.com"}, Phones: []string{}},
		},
		{
			name: "task_with_due_time", kind: KindTasks, summary: "File taxes",
			input: `[{"summary": "File taxes", "due": "2024-04-15T23:59:00-04:00", "priority": 2}]`,
			want:  Task{Summary: "File taxes", Due: "2024-04-16T03:59:00Z", Priority: 2},
		},
		{
			name: "memo_titled_by_its_body", kind: KindMemos, summary: "Wi-Fi: guest / hunter2",
			input: `[{"body": "\n  Wi-Fi: guest / hunter2\nSecond line"}]`,
			want:  Memo{Body: "\n  Wi-Fi: guest / hunter2\nSecond line"},
		},
		{
			name: "message", kind: KindMessages, summary: "Welcome",
			input: `[{"from": "IT <it@example.com>", "to": ["alice@example.com"], "subject": "Welcome",
				"date": "2024-03-01T10:00:00+01:00", "body": "Your device is ready."}]`,
			want: Message{From: "IT <it@example.com>", To: []string{"alice@example.com"}, Subject: "Welcome",
				Date: "2024-03-01T09:00:00Z", Body: "Your device is ready."},
		},
		{
			name: "option", kind: KindOptions, summary: "owner_name",
			input: `[{"name": "owner_name", "value": "Alice Example"}]`,
			want:  Option{Name: "owner_name", Value: "Alice Example"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := mustParse(t)(ParseJSON(tt.kind, strings.NewReader(tt.input)))
			if len(items) != 1 {
				t.Fatalf("got %d items, want 1", len(items))
			}
			it := items[0]
			if it.Kind != tt.kind || it.Summary != tt.summary || !strings.HasPrefix(it.UID, "sha256:") {
				t.Errorf("kind, summary, uid = %q, %q, %q; want %q, %q, sha256:...", it.Kind, it.Summary, it.UID, tt.kind, tt.summary)
			}
			switch want := tt.want.(type) {
			case Event:
				checkData(t, it, want)
			case Contact:
				checkData(t, it, want)
			case Task:
				checkData(t, it, want)
			case Memo:
				checkData(t, it, want)
			case Message:
				checkData(t, it, want)
			case Option:
				checkData(t, it, want)
			}
		})
	}
}

func TestParseJSONBadItemsAreReportedAndGoodOnesKept(t *testing.T) {
	items, ie, err := ParseJSON(KindCalendar, strings.NewReader(readTestdata(t, "events.json")))
	if err != nil {
		t.Fatalf("err = %v, want the good items and *ImportErrors", err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Summary)
	}
	if got, want := strings.Join(names, ", "), "Kick-off, Conference, Standup"; got != want {
		t.Errorf("imported %s, want %s", got, want)
	}
	checkRefusals(t, ie, map[int][]string{
		2: {"item at line 5", `unknown field "colour"`},
		3: {"item at line 6", "start is required"},
		4: {"item at line 7", "end 2024-04-03T09:00:00Z is before start 2024-04-03T10:00:00Z"},
		6: {"item at line 9", "not a JSON object"},
		7: {"item at line 10", "FREQ=SOMETIMES"},
	})
}

func TestParseJSONRequiredFields(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		input string
		want  string
	}{
		{"event_without_start", KindCalendar, `{"summary": "x"}`, "start is required"},
		{"event_with_local_time", KindCalendar, `{"start": "2024-04-02 09:00"}`, "not an RFC 3339 date-time"},
		{"all_day_event_with_a_time", KindCalendar, `{"start": "2024-04-02T09:00:00Z", "all_day": true}`, "full-date"},
		{"event_in_unknown_zone", KindCalendar, `{"start": "2024-04-02T09:00:00Z", "timezone": "Local"}`, "timezone"},
		{"contact_without_name", KindContacts, `{"emails": ["x@example.com"]}`, "full_name, or given or family, is required"},
		{"contact_email_not_a_list", KindContacts, `{"full_name": "X", "emails": "x@example.com"}`, "emails: a JSON string where an array is expected"},
		{"task_without_summary", KindTasks, `{"due": "2024-04-02"}`, "summary is required"},
		{"task_priority_out_of_range", KindTasks, `{"summary": "x", "priority": 10}`, "priority 10"},
		{"task_priority_as_text", KindTasks, `{"summary": "x", "priority": "high"}`, "priority: a JSON string where a whole number is expected"},
		{"memo_empty", KindMemos, `{"title": " ", "body": ""}`, "title or body is required"},
		{"message_empty", KindMessages, `{"from": "a@example.com"}`, "subject or body is required"},
		{"message_bad_date", KindMessages, `{"subject": "x", "date": "yesterday"}`, "not an RFC 3339 date-time"},
		{"option_without_name", KindOptions, `{"value": "1"}`, "name is required"},
		{"option_value_not_text", KindOptions, `{"name": "x", "value": true}`, "value: a JSON bool where a string is expected"},
		{"option_unknown_field", KindOptions, `{"name": "x", "value": "1", "scope": "device"}`, `unknown field "scope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseJSON(tt.kind, strings.NewReader("["+tt.input+"]"))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(items) != 0 || ie == nil || len(ie.Errors) != 1 {
				t.Fatalf("items %v, refusals %v; want the item refused", items, ie)
			}
			if e := ie.Errors[0]; e.Index != 0 || !strings.Contains(e.Reason, tt.want) {
				t.Errorf("refusal #%d %q, want #0 with %q", e.Index, e.Reason, tt.want)
			}
		})
	}
}

func TestParseJSONRefusesWholeInput(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		input     string
		line      int
		msg       string
		truncated bool
	}{
		{name: "truncated_array", kind: KindMemos, input: "[\n{\"title\": \"a\"},\n{\"title\": \"b\"", line: 3, msg: "truncated", truncated: true},
		{name: "truncated_after_item", kind: KindMemos, input: "[{\"title\": \"a\"}", line: 1, msg: "truncated", truncated: true},
		{name: "object_not_array", kind: KindMemos, input: `{"title": "a"}`, line: 1, msg: "expected an array of memos items"},
		{name: "syntax_error", kind: KindMemos, input: "[\n{\"title\": \"a\"},\n{\"title\" \"b\"}]", line: 3, msg: "invalid character"},
		{name: "text_after_array", kind: KindMemos, input: "[]\n[]", line: 2, msg: "after the array"},
		{name: "empty", kind: KindMemos, input: " \n", msg: "empty"},
		{name: "garbage", kind: KindMemos, input: "\xff\xfe garbage", line: 1, msg: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseJSON(tt.kind, strings.NewReader(tt.input))
			if items != nil || ie != nil {
				t.Errorf("items %v, refusals %v; want none with a whole-input error", items, ie)
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
	t.Run("unknown_kind", func(t *testing.T) {
		if _, _, err := ParseJSON("notes", strings.NewReader("[]")); err == nil || !strings.Contains(err.Error(), `unknown kind "notes"`) {
			t.Errorf("err = %v, want unknown kind", err)
		}
	})
}
