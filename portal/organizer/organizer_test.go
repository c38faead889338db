package organizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func parserFor(name string) func(io.Reader) ([]Item, *ImportErrors, error) {
	switch {
	case strings.HasSuffix(name, ".ics"):
		return ParseICS
	case strings.HasSuffix(name, ".vcf"):
		return ParseVCF
	default:
		return func(r io.Reader) ([]Item, *ImportErrors, error) { return ParseJSON(KindCalendar, r) }
	}
}

func uids(items []Item) []string {
	var l []string
	for _, it := range items {
		l = append(l, string(it.Kind)+" "+it.UID)
	}
	return l
}

func TestStableUIDs(t *testing.T) {
	tests := []struct {
		name string
		file string
		// rewrite gives the same content written differently.
		rewrite func(string) string
	}{
		{"google_calendar_crlf_to_lf", "google.ics", func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }},
		{"outlook_calendar", "outlook.ics", nil},
		{"outlook_contacts_without_uid_crlf_to_lf", "outlook.vcf", func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }},
		{"vcard_4_0_contacts_refolded", "contacts4.vcf", func(s string) string {
			return strings.Replace(s, "FN:Front Desk", "FN:Front \n Desk", 1)
		}},
		{"bad_contacts", "bad.vcf", nil},
		{"json_events_reformatted", "events.json", func(s string) string { return strings.ReplaceAll(s, ", ", ",\n\t") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := parserFor(tt.file)
			src := readTestdata(t, tt.file)
			first, _, err := parse(strings.NewReader(src))
			if err != nil {
				t.Fatal(err)
			}
			again := src
			if tt.rewrite != nil {
				again = tt.rewrite(src)
			}
			second, _, err := parse(strings.NewReader(again))
			if err != nil {
				t.Fatal(err)
			}
			if len(first) == 0 {
				t.Fatal("no items")
			}
			if a, b := uids(first), uids(second); !slices.Equal(a, b) {
				t.Errorf("UIDs differ between two parses:\n%v\n%v", a, b)
			}
			if a, b := Checksum(first), Checksum(second); a != b {
				t.Errorf("checksums differ: %s, %s", a, b)
			}
		})
	}
	t.Run("content_uid_follows_the_content", func(t *testing.T) {
		parse := func(s string) string {
			items := mustParse(t)(ParseVCF(strings.NewReader(s)))
			return items[0].UID
		}
		a := parse("BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD\n")
		b := parse("BEGIN:VCARD\nVERSION:3.0\nFN:Anne\nEND:VCARD\n")
		if a == b {
			t.Errorf("two different contacts share UID %s", a)
		}
	})
	t.Run("option_uid_follows_the_name", func(t *testing.T) {
		parse := func(s string) string {
			items := mustParse(t)(ParseJSON(KindOptions, strings.NewReader(s)))
			return items[0].UID
		}
		if a, b := parse(`[{"name":"tz","value":"UTC"}]`), parse(`[{"name":"tz","value":"Europe/Berlin"}]`); a != b {
			t.Errorf("option UIDs %s, %s; want the same for the same name", a, b)
		}
	})
	t.Run("long_source_uid_is_hashed", func(t *testing.T) {
		long := strings.Repeat("x", MaxUIDBytes+1)
		items := mustParse(t)(ParseICS(strings.NewReader(calendar("", "BEGIN:VEVENT\r\nUID:"+long+"\r\nDTSTART:20240101T000000Z\r\nEND:VEVENT\r\n"))))
		if uid := items[0].UID; !strings.HasPrefix(uid, "sha256:") || len(uid) > MaxUIDBytes {
			t.Errorf("uid = %q, want a sha256: UID", uid)
		}
	})
}

// spaces yields spaces forever.
type spaces struct{}

var spaceBlock = []byte(strings.Repeat(" ", 64<<10))

func (spaces) Read(p []byte) (int, error) { return copy(p, spaceBlock), nil }

func TestLimits(t *testing.T) {
	over := func(prefix string) io.Reader {
		return io.MultiReader(strings.NewReader(prefix), io.LimitReader(spaces{}, MaxInputBytes+1-int64(len(prefix))))
	}
	exactly := func(n int64, prefix, suffix string) io.Reader {
		pad := io.LimitReader(spaces{}, n-int64(len(prefix)+len(suffix)))
		return io.MultiReader(strings.NewReader(prefix), pad, strings.NewReader(suffix))
	}
	many := func(n int, item func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(item(i))
		}
		return b.String()
	}
	vevent := func(i int) string {
		return fmt.Sprintf("BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20240101T000000Z\r\nEND:VEVENT\r\n", i)
	}
	card := func(i int) string { return fmt.Sprintf("BEGIN:VCARD\r\nFN:%d\r\nEND:VCARD\r\n", i) }
	memo := func(i int) string { return fmt.Sprintf(`{"title":"%d"},`, i) }
	memos := func(n int) string { return "[" + strings.TrimSuffix(many(n, memo), ",") + "]" }

	tests := []struct {
		name  string
		parse func(io.Reader) ([]Item, *ImportErrors, error)
		input io.Reader
		want  error // nil: the input must import
		items int
	}{
		{"ics_over_32_MiB", ParseICS, over("BEGIN:VCALENDAR\r\n"), ErrInputTooLarge, 0},
		{"vcf_over_32_MiB", ParseVCF, over("BEGIN:VCARD\r\n"), ErrInputTooLarge, 0},
		{"json_over_32_MiB", parserFor(".json"), over("["), ErrInputTooLarge, 0},
		{"ics_at_32_MiB", ParseICS, exactly(MaxInputBytes,
			"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20240101T000000Z\r\nX-PADDING:", "x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), nil, 1},
		{"ics_over_50000_events", ParseICS, strings.NewReader(calendar("", many(MaxItems+1, vevent))), ErrTooManyItems, 0},
		{"vcf_over_50000_cards", ParseVCF, strings.NewReader(many(MaxItems+1, card)), ErrTooManyItems, 0},
		{"json_over_50000_items", func(r io.Reader) ([]Item, *ImportErrors, error) { return ParseJSON(KindMemos, r) },
			strings.NewReader(memos(MaxItems + 1)), ErrTooManyItems, 0},
		{"json_at_50000_items", func(r io.Reader) ([]Item, *ImportErrors, error) { return ParseJSON(KindMemos, r) },
			strings.NewReader(memos(MaxItems)), nil, MaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, ie, err := tt.parse(tt.input)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if ie != nil || len(items) != tt.items {
				t.Errorf("got %d items, refusals %v; want %d items", len(items), ie, tt.items)
			}
		})
	}

	t.Run("item_data_over_64_KiB", func(t *testing.T) {
		big := strings.Repeat("a", MaxItemBytes)
		input := `[{"title": "big", "body": "` + big + `"}, {"title": "small"}]`
		items, ie, err := ParseJSON(KindMemos, strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Summary != "small" {
			t.Errorf("items %v, want the small memo", uids(items))
		}
		checkRefusals(t, ie, map[int][]string{0: {"item at line 1", "more than the 64 KiB limit"}})
	})
	t.Run("event_description_over_64_KiB", func(t *testing.T) {
		big := strings.Repeat("b", MaxItemBytes)
		items, ie, err := ParseICS(strings.NewReader(calendar("", vevent(0),
			"BEGIN:VEVENT\r\nUID:big\r\nDTSTART:20240101T000000Z\r\nDESCRIPTION:"+big+"\r\nEND:VEVENT\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Errorf("got %d items, want 1", len(items))
		}
		checkRefusals(t, ie, map[int][]string{1: {"VEVENT at line 7", "64 KiB"}})
	})
}

func TestChecksum(t *testing.T) {
	items := mustParse(t)(parseFile(t, "google.ics", ics))
	sum := Checksum(items)

	reversed := slices.Clone(items)
	slices.Reverse(reversed)

	reformatted := slices.Clone(items)
	var m map[string]any
	if err := json.Unmarshal(reformatted[0].Data, &m); err != nil {
		t.Fatal(err)
	}
	pretty, err := json.MarshalIndent(m, "", "  ") // keys sorted, spaced: as a JSON column may give it back
	if err != nil {
		t.Fatal(err)
	}
	reformatted[0].Data = pretty

	changed := slices.Clone(items)
	changed[1].Data = json.RawMessage(strings.Replace(string(changed[1].Data), "moved", "Moved", 1))

	renamed := slices.Clone(items)
	renamed[2].UID += "x"

	// pages is how a sync delivers them: in pages, here of 4.
	var pages []Item
	for i := 0; i < len(items); i += 4 {
		pages = append(pages, items[i:min(i+4, len(items))]...)
	}

	tests := []struct {
		name  string
		items []Item
		same  bool
	}{
		{"delivered_in_pages", pages, true},
		{"other_order", reversed, true},
		{"data_reformatted", reformatted, true},
		{"one_missing", items[1:], false},
		{"one_twice", append(slices.Clone(items), items[3]), false},
		{"data_changed", changed, false},
		{"uid_changed", renamed, false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(tt.items) == sum; got != tt.same {
				t.Errorf("same checksum = %v, want %v", got, tt.same)
			}
		})
	}
}
