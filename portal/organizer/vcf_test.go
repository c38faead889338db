package organizer

import (
	"errors"
	"strings"
	"testing"
)

func TestParseVCF(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		index   int
		uid     string // "" when it must be derived from the content
		summary string
		want    Contact
	}{
		{
			name: "outlook_3_0_bare_type_parameters", file: "outlook.vcf", index: 0, summary: "John Doe",
			want: Contact{FullName: "John Doe", Given: "John", Family: "Doe",
				Emails: []string{"john.doe@contoso.com", "jdoe@example.org"},
				Phones: []string{"+1 (425) 555-0100", "+1 (425) 555-0101"},
				Org:    "Contoso Ltd.", Title: "Account Manager"},
		},
		{
			name: "outlook_3_0_preferred_email_first", file: "outlook.vcf", index: 1, summary: "Anna Schmidt",
			want: Contact{FullName: "Anna Schmidt", Given: "Anna", Family: "Schmidt",
				Emails: []string{"anna@fabrikam.example", "anna.schmidt@fabrikam.example"},
				Phones: []string{"+49 30 1234567"}, Org: "Fabrikam GmbH"},
		},
		{
			name: "vcard_4_0_uid_pref_and_tel_uri", file: "contacts4.vcf", index: 0,
			uid: "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", summary: "José Müller",
			want: Contact{FullName: "José Müller", Given: "José", Family: "Müller",
				Emails: []string{"jose@example.net", "jose.mueller@example.com"},
				Phones: []string{"+34-600-123-456", "+34-91-555-0100;ext=12"},
				Org:    "Ejemplo S.A.", Title: "Director, Ventas"},
		},
		{
			name: "vcard_4_0_grouped_property", file: "contacts4.vcf", index: 1,
			uid: "urn:uuid:c5a1e0d2-7b2f-4f1e-9a3d-0e4b5c6d7e8f", summary: "Dr. Mei Chen",
			want: Contact{FullName: "Dr. Mei Chen", Given: "Mei", Family: "Chen",
				Emails: []string{"mei.chen@example.cn"}, Phones: []string{"+86 10 5555 0199"}},
		},
		{
			name: "vcard_4_0_organization", file: "contacts4.vcf", index: 2, summary: "Front Desk",
			want: Contact{FullName: "Front Desk", Emails: []string{}, Phones: []string{"+1 212 555 0123"}, Org: "Example Hotel"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := mustParse(t)(parseFile(t, tt.file, vcf))
			if tt.index >= len(items) {
				t.Fatalf("got %d contacts, want more than %d", len(items), tt.index)
			}
			it := items[tt.index]
			if it.Kind != KindContacts {
				t.Errorf("kind = %q, want contacts", it.Kind)
			}
			switch {
			case tt.uid != "" && it.UID != tt.uid:
				t.Errorf("uid = %q, want %q", it.UID, tt.uid)
			case tt.uid == "" && !strings.HasPrefix(it.UID, "sha256:"):
				t.Errorf("uid = %q, want a sha256: content UID", it.UID)
			}
			if it.Summary != tt.summary {
				t.Errorf("summary = %q, want %q", it.Summary, tt.summary)
			}
			checkData(t, it, tt.want)
		})
	}
}

func TestParseVCFBadCardsAreReportedAndGoodOnesKept(t *testing.T) {
	items, ie, err := parseFile(t, "bad.vcf", vcf)
	if err != nil {
		t.Fatalf("err = %v, want the good cards and *ImportErrors", err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Summary)
	}
	if got, want := strings.Join(names, ", "), "Good Person, Second Good"; got != want {
		t.Errorf("imported %s, want %s", got, want)
	}
	checkRefusals(t, ie, map[int][]string{
		1: {"vCard at line 7", "no FN or N"},
		2: {"vCard at line 11", "line 14", "no colon"},
		3: {"vCard at line 16", "contact groups"},
		4: {"vCard at line 22", "vCard 2.1 is not supported"},
	})
}

func TestParseVCFCards(t *testing.T) {
	card := func(lines ...string) string {
		return "BEGIN:VCARD\r\nVERSION:3.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
	}
	tests := []struct {
		name    string
		vcf     string
		want    Contact
		refused string
	}{
		{name: "name_only_in_n", vcf: card("N:Lovelace;Ada;;;"),
			want: Contact{FullName: "Ada Lovelace", Given: "Ada", Family: "Lovelace", Emails: []string{}, Phones: []string{}}},
		{name: "escaped_semicolon_in_org", vcf: card("FN:X", `ORG:Smith\; Sons;Accounts`),
			want: Contact{FullName: "X", Emails: []string{}, Phones: []string{}, Org: "Smith; Sons"}},
		{name: "quoted_printable_name", vcf: card("FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:J=C3=BCrgen"),
			want: Contact{FullName: "Jürgen", Emails: []string{}, Phones: []string{}}},
		{name: "latin1_charset", vcf: card("FN;CHARSET=ISO-8859-1:J\xfcrgen"), refused: "line 3 is not valid UTF-8"},
		{name: "windows_charset_declared", vcf: card("FN;CHARSET=windows-1252:Jurgen"), refused: "CHARSET=windows-1252"},
		{name: "unterminated_quote", vcf: card(`TEL;TYPE="cell:+1 555`), refused: "no colon"},
		{name: "unknown_version", vcf: strings.Replace(card("FN:X"), "3.0", "5.0", 1), refused: `VERSION "5.0"`},
		{name: "nested_begin", vcf: card("FN:X", "BEGIN:VCALENDAR"), refused: "BEGIN:VCALENDAR inside a vCard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseVCF(strings.NewReader(tt.vcf))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.refused != "" {
				if len(items) != 0 || ie == nil || !strings.Contains(ie.Errors[0].Reason, tt.refused) {
					t.Fatalf("items %v, refusals %v; want the card refused with %q", items, ie, tt.refused)
				}
				return
			}
			if ie != nil || len(items) != 1 {
				t.Fatalf("items %v, refusals %v; want one contact", items, ie)
			}
			checkData(t, items[0], tt.want)
		})
	}
}

func TestParseVCFRefusesWholeFile(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		line      int
		msg       string
		truncated bool
	}{
		{name: "garbage", input: readTestdata(t, "garbage.txt"), line: 1, msg: "UTF-8"},
		{name: "truncated_file", input: readTestdata(t, "truncated.vcf"), line: 20, msg: "vCard begun at line 14 has no END:VCARD", truncated: true},
		{name: "empty", input: "\r\n", msg: "no vCard"},
		{name: "calendar_instead", input: readTestdata(t, "google.ics"), line: 1, msg: `expected BEGIN:VCARD, found "BEGIN:VCALENDAR"`},
		{name: "text_between_cards", input: "BEGIN:VCARD\nFN:A\nEND:VCARD\nNOTE:stray\nBEGIN:VCARD\nFN:B\nEND:VCARD\n", line: 4, msg: "expected BEGIN:VCARD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := ParseVCF(strings.NewReader(tt.input))
			if items != nil || ie != nil {
				t.Errorf("items %v, refusals %v; want none with a whole-file error", items, ie)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FormatError", err)
			}
			if fe.Format != "vCard" || fe.Line != tt.line || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("format %q, line %d, msg %q; want vCard, line %d, msg with %q", fe.Format, fe.Line, fe.Msg, tt.line, tt.msg)
			}
			if got := errors.Is(err, ErrTruncated); got != tt.truncated {
				t.Errorf("errors.Is(err, ErrTruncated) = %v, want %v", got, tt.truncated)
			}
		})
	}
}
