package portal

import (
	"encoding/json"
	"strings"
	"testing"

	"provportal/packages"
)

func TestDecodeRules(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string // empty: accepted
	}{
		{"every_type", `{"password_required":true,"password_min_length":8,"min_os_version":"14.2","camera_disabled":false}`, ""},
		{"empty_object", `{}`, ""},
		{"unknown_rule", `{"password_required":true,"teleport_enabled":true}`, "rules.teleport_enabled"},
		{"bool_as_string", `{"camera_disabled":"yes"}`, "rules.camera_disabled"},
		{"int_fraction", `{"password_min_length":8.5}`, "rules.password_min_length"},
		{"int_below_min", `{"password_min_length":3}`, "rules.password_min_length"},
		{"int_above_max", `{"max_failed_unlocks_before_wipe":17}`, "rules.max_failed_unlocks_before_wipe"},
		{"version_garbage", `{"min_os_version":"fourteen"}`, "rules.min_os_version"},
		{"version_number", `{"min_os_version":14}`, "rules.min_os_version"},
		{"not_an_object", `[1,2]`, "rules"},
		{"null", `null`, "rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRules([]byte(tt.in))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("DecodeRules(%s) = %v, want accepted", tt.in, err)
				}
				return
			}
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("DecodeRules(%s) = %v, want *Error", tt.in, err)
			}
			if pe.Code != CodeInvalid || pe.Field != tt.wantField {
				t.Errorf("got code %s field %q, want %s field %q", pe.Code, pe.Field, CodeInvalid, tt.wantField)
			}
		})
	}
}

func TestUnknownRuleListsKnownOnes(t *testing.T) {
	_, err := DecodeRules([]byte(`{"warp_drive":true}`))
	if err == nil {
		t.Fatal("unknown rule accepted")
	}
	for _, name := range RuleNames() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list known rule %s", err, name)
		}
	}
}

func TestRulesRoundTripKeepsTypes(t *testing.T) {
	in := `{"password_min_length":12,"password_required":true,"min_os_version":"10.3"}`
	var r Rules
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if got, ok := r["password_min_length"].(int64); !ok || got != 12 {
		t.Errorf("password_min_length = %#v, want int64 12", r["password_min_length"])
	}
	out, _ := json.Marshal(r)
	var back Rules
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("re-decoding %s: %v", out, err)
	}
	if len(back) != 3 || back["min_os_version"] != "10.3" || back["password_required"] != true {
		t.Errorf("round trip = %v", back)
	}
}

func TestCodeStatus(t *testing.T) {
	for code, want := range map[Code]int{CodeMalformed: 400, CodeInvalid: 422, CodeNotFound: 404, CodeConflict: 409, CodeTooLarge: 413, CodeForbidden: 403, CodeUnauthenticated: 401, Code("nonsense"): 500} {
		if got := code.Status(); got != want {
			t.Errorf("%s.Status() = %d, want %d", code, got, want)
		}
	}
}

func TestMergeRulesStricterWins(t *testing.T) {
	mk := func(j string) Policy {
		r, err := DecodeRules([]byte(j))
		if err != nil {
			t.Fatal(err)
		}
		return Policy{Rules: r}
	}
	a := mk(`{"password_required":false,"password_min_length":8,"screen_lock_timeout_s":600,"min_os_version":"9.12","camera_disabled":true}`)
	b := mk(`{"password_required":true,"password_min_length":6,"screen_lock_timeout_s":300,"min_os_version":"10.3","max_failed_unlocks_before_wipe":10}`)
	for _, order := range [][]Policy{{a, b}, {b, a}} {
		got := MergeRules(order)
		want := Rules{"password_required": true, "password_min_length": int64(8), "screen_lock_timeout_s": int64(300),
			"min_os_version": "10.3", "camera_disabled": true, "max_failed_unlocks_before_wipe": int64(10)}
		if len(got) != len(want) {
			t.Fatalf("merged %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("merged %s = %#v, want %#v", k, got[k], v)
			}
		}
	}
	if packages.CompareVersions("14", "14.0.0") != 0 || packages.CompareVersions("10.3", "9.12") <= 0 || packages.CompareVersions("9", "10") >= 0 {
		t.Error("CompareVersions does not compare numerically")
	}
}

func TestTroubleshootingCoversEveryFailureCode(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range TroubleshootingCatalogue {
		if seen[e.Code] || e.Title == "" || e.Cause == "" || e.Fix == "" || e.Stage == "" {
			t.Errorf("catalogue entry %+v is duplicated or incomplete", e)
		}
		seen[e.Code] = true
	}
	// The bootloader's failure codes, which it reports to the portal.
	for _, code := range []string{"manifest_unavailable", "manifest_untrusted", "manifest_invalid", "download_failed",
		"digest_mismatch", "unsafe_archive", "install_failed", "interrupted", "it_policy_rejected"} {
		if _, ok := Troubleshoot(code); !ok {
			t.Errorf("failure code %s has no troubleshooting entry", code)
		}
	}
}

func TestServiceBooks(t *testing.T) {
	books, err := RenderServiceBooks(DefaultServiceBooks, ServiceBookData{Email: "dave@example.com", DisplayName: "Dave", PortalURL: "https://p.example.com", Org: "Acme"})
	if err != nil || len(books) != 4 || books[0].Type != "CICAL" || books[0].Fields["account"] != "dave@example.com" || books[3].Name != "Acme browser" {
		t.Fatalf("rendered %+v, %v", books, err)
	}
	for name, in := range map[string]string{
		"no_calendar":      `[{"type":"CMIME","name":"x","fields":{}}]`,
		"bad_type":         `[{"type":"cical","name":"x","fields":{}}]`,
		"unknown_variable": `[{"type":"CICAL","name":"x","fields":{"a":"{{.Password}}"}}]`,
		"unknown_field":    `[{"type":"CICAL","name":"x","fields":{},"secret":1}]`,
		"empty":            `[]`,
	} {
		if _, err := DecodeServiceBooks([]byte(in)); CodeOf(err) != CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := DecodeServiceBooks([]byte(`[{"type":"CICAL","name":"Cal","fields":{"account":"{{.Email}}"}}]`)); err != nil {
		t.Errorf("a valid calendar book was refused: %v", err)
	}
}
