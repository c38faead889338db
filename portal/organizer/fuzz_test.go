package organizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// checkResult holds for any input: a whole-input error comes alone, and
// every item is valid JSON within the limits, with a UID unique in its kind.
func checkResult(t *testing.T, items []Item, ie *ImportErrors, err error) {
	if err != nil {
		if items != nil || ie != nil {
			t.Fatalf("err %v came with items or refusals", err)
		}
		return
	}
	seen := make(map[string]bool)
	for _, it := range items {
		if !it.Kind.Valid() || it.UID == "" || len(it.UID) > MaxUIDBytes {
			t.Fatalf("item %+v: bad kind or UID", it)
		}
		if len(it.Data) > MaxItemBytes || !json.Valid(it.Data) {
			t.Fatalf("item %s: data invalid or too large", it.UID)
		}
		k := string(it.Kind) + " " + it.UID
		if seen[k] {
			t.Fatalf("UID %s twice", k)
		}
		seen[k] = true
	}
	if ie != nil && len(ie.Errors) == 0 {
		t.Fatal("empty *ImportErrors, want nil")
	}
}

func addSeeds(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseICS(f *testing.F) {
	addSeeds(f, "*.ics")
	f.Add([]byte(calendar("", berlinZone, vevent("DTSTART;TZID=Berlin:20240331T023000", "RRULE:FREQ=DAILY", "EXDATE;VALUE=DATE:20240401"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, ie, err := ParseICS(bytes.NewReader(b))
		checkResult(t, items, ie, err)
	})
}

func FuzzParseVCF(f *testing.F) {
	addSeeds(f, "*.vcf")
	f.Fuzz(func(t *testing.T, b []byte) {
		items, ie, err := ParseVCF(bytes.NewReader(b))
		checkResult(t, items, ie, err)
	})
}

func FuzzParseJSON(f *testing.F) {
	addSeeds(f, "*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range SyncOrder {
			items, ie, err := ParseJSON(k, bytes.NewReader(b))
			checkResult(t, items, ie, err)
		}
	})
}
