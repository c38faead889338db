package organizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseFile runs parse on testdata/name.
func parseFile(t *testing.T, name string, parse func(f *os.File) ([]Item, *ImportErrors, error)) ([]Item, *ImportErrors, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return parse(f)
}

func ics(f *os.File) ([]Item, *ImportErrors, error) { return ParseICS(f) }
func vcf(f *os.File) ([]Item, *ImportErrors, error) { return ParseVCF(f) }

// mustParse fails the test unless the whole input was imported:
// mustParse(t)(ParseICS(r)).
func mustParse(t *testing.T) func([]Item, *ImportErrors, error) []Item {
	return func(items []Item, ie *ImportErrors, err error) []Item {
		t.Helper()
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		if ie != nil {
			t.Fatalf("import errors = %v, want nil", ie.Errors)
		}
		return items
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decode decodes it.Data strictly into v.
func decode(t *testing.T, it Item, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(it.Data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("data %s: %v", it.Data, err)
	}
}

// byUID indexes items by kind and UID, failing on a duplicate.
func byUID(t *testing.T, items []Item) map[string]Item {
	t.Helper()
	m := make(map[string]Item)
	for _, it := range items {
		k := string(it.Kind) + " " + it.UID
		if _, dup := m[k]; dup {
			t.Fatalf("UID %q twice", k)
		}
		m[k] = it
	}
	return m
}

// checkData decodes it.Data into a value of want's type and compares.
func checkData[T any](t *testing.T, it Item, want T) {
	t.Helper()
	var got T
	decode(t, it, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data:\n got %+v\nwant %+v", got, want)
	}
}

// reasons lists the refusals as "index: reason".
func reasons(ie *ImportErrors) map[int]ImportError {
	m := make(map[int]ImportError)
	if ie != nil {
		for _, e := range ie.Errors {
			m[e.Index] = e
		}
	}
	return m
}

// checkRefusals compares the refused indexes and that each reason holds
// the words expected.
func checkRefusals(t *testing.T, ie *ImportErrors, want map[int][]string) {
	t.Helper()
	got := reasons(ie)
	for i, words := range want {
		e, ok := got[i]
		if !ok {
			t.Errorf("#%d not refused, want a reason with %q", i, words)
			continue
		}
		for _, w := range words {
			if !strings.Contains(e.Reason, w) {
				t.Errorf("#%d reason = %q, want it to contain %q", i, e.Reason, w)
			}
		}
	}
	for i, e := range got {
		if _, ok := want[i]; !ok {
			t.Errorf("#%d refused (%s), want it imported", i, e.Reason)
		}
	}
}
