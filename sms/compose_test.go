package sms

import (
	"errors"
	"strings"
	"testing"
)

func TestComposeDefaultFitsOneGSM7Segment(t *testing.T) {
	f := Fields{Org: "Example Corp", Name: "Ada Lovelace", Username: "ada",
		Link: "https://portal.example.com/p/Q2xhcmUgZGUgTHVuZSBpcyBnb29k", Server: "portal.example.com:8443"}
	body, err := Compose(DefaultTemplate, f)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	want := "Example Corp: set up your device at https://portal.example.com/p/Q2xhcmUgZGUgTHVuZSBpcyBnb29k (server portal.example.com:8443)"
	if body != want {
		t.Errorf("body = %q\nwant   %q", body, want)
	}
	if s := Count(body); s.Encoding != GSM7 || s.Segments != 1 {
		t.Errorf("Count = %+v, want one GSM-7 segment", s)
	}
	if err := ValidateTemplate(DefaultTemplate); err != nil {
		t.Errorf("ValidateTemplate(DefaultTemplate) = %v", err)
	}
}

func TestComposeDefaultWithoutOrgOrServer(t *testing.T) {
	body, err := Compose("", Fields{Link: "https://p.example/p/x"})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	if want := "set up your device at https://p.example/p/x"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestComposeAllFields(t *testing.T) {
	tmpl := Template("Hi {{.Name}} ({{.Username}}), {{.Org}} invites you: {{.Link}} server {{.Server}}\n")
	body, err := tmpl.Execute(Fields{Org: "O", Name: "N", Username: "u", Link: "https://l", Server: "s:1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi N (u), O invites you: https://l server s:1"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if err := tmpl.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestTemplateRefused(t *testing.T) {
	tests := []struct {
		name, tmpl string
		want       error
	}{
		{"unknown_field", "Go to {{.Link}} {{.Nope}}", nil},
		{"parse_error", "Go to {{.Link}", nil},
		{"unknown_function", "{{shout .Link}}", nil},
		{"no_link", "Welcome {{.Name}}", ErrNoLink},
		{"link_never_written", "{{if false}}{{.Link}}{{end}}Welcome", ErrNoLink},
		{"blank", "  \n", nil},
		{"too_long", "{{.Link}}" + strings.Repeat("x", MaxBodyLength), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTemplate(tt.tmpl)
			if err == nil {
				t.Fatalf("ValidateTemplate(%q) = nil, want an error", tt.tmpl)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ValidateTemplate(%q) = %v, want %v", tt.tmpl, err, tt.want)
			}
		})
	}
	if _, err := Compose("{{.Link}} {{.Nope}}", Fields{Link: "https://l"}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("Compose with {{.Nope}} = %v, want an error naming Nope", err)
	}
}
