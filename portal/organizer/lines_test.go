package organizer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

func TestUnfold(t *testing.T) {
	got := unfold([]byte("A:1\r\nB:2\r\n  3\r\n\t4\nC:5\n\nD:6"))
	want := []contentLine{{1, "A:1"}, {2, "B:2 34"}, {5, "C:5"}, {6, ""}, {7, "D:6"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unfold = %v, want %v", got, want)
	}
}

func TestSplitICalLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		prop   string
		params ical.Params
		value  string
		err    string
	}{
		{name: "plain", line: "summary:Lunch: at noon", prop: "SUMMARY", value: "Lunch: at noon"},
		{name: "quoted_parameter_with_colon_and_comma", line: `ATTENDEE;CN="Doe, J: CEO";ROLE=CHAIR:mailto:j@example.com`,
			prop: "ATTENDEE", params: ical.Params{"CN": {"Doe, J: CEO"}, "ROLE": {"CHAIR"}}, value: "mailto:j@example.com"},
		{name: "parameter_list", line: `ATTENDEE;DELEGATED-TO="mailto:a@x","mailto:b@x";rsvp=TRUE:mailto:c@x`,
			prop: "ATTENDEE", params: ical.Params{"DELEGATED-TO": {"mailto:a@x", "mailto:b@x"}, "RSVP": {"TRUE"}}, value: "mailto:c@x"},
		{name: "empty_value", line: "DESCRIPTION:", prop: "DESCRIPTION"},
		{name: "no_colon", line: "just some text", err: "no colon"},
		{name: "empty_name", line: ":value", err: "empty property name"},
		{name: "parameters_without_colon", line: "DTSTART;TZID=Europe/Berlin", err: "no colon after the parameters"},
		{name: "parameter_without_equals", line: "DTSTART;TZID:20240101T000000", err: "malformed parameter"},
		{name: "unterminated_quote", line: `X;A="abc:def`, err: "unterminated quoted"},
		{name: "quote_inside_value", line: `X;A=ab"c":d`, err: "double quote"},
		{name: "text_after_quoted_value", line: `X;A="b"c:d`, err: "unexpected 'c'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prop, params, value, err := splitICalLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if prop != tt.prop || value != tt.value || !reflect.DeepEqual(params, tt.params) {
				t.Errorf("got %q %v %q, want %q %v %q", prop, params, value, tt.prop, tt.params, tt.value)
			}
		})
	}
}

func TestSplitVCardLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		group  string
		prop   string
		params []string
		value  string
		err    string
	}{
		{name: "outlook_bare_types", line: "TEL;WORK;VOICE:+1 555", prop: "TEL", params: []string{"TYPE=WORK", "TYPE=VOICE"}, value: "+1 555"},
		{name: "grouped", line: "item1.EMAIL;type=INTERNET:a@example.com", group: "item1", prop: "EMAIL", params: []string{"type=INTERNET"}, value: "a@example.com"},
		{name: "quoted_with_semicolon", line: `TEL;TYPE="voice;cell":tel:+1`, prop: "TEL", params: []string{`TYPE="voice;cell"`}, value: "tel:+1"},
		{name: "no_colon", line: "garbage", err: "no colon"},
		{name: "empty_name", line: "item1.:x", err: "empty property name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group, prop, params, value, err := splitVCardLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if group != tt.group || prop != tt.prop || value != tt.value || !reflect.DeepEqual(params, tt.params) {
				t.Errorf("got %q %q %v %q, want %q %q %v %q", group, prop, params, value, tt.group, tt.prop, tt.params, tt.value)
			}
		})
	}
}
