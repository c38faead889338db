package portal

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeListRules(t *testing.T) {
	tooMany := make([]string, maxListItems+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf(`{"label":"L%d","url":"https://example.com/%d"}`, i, i)
	}
	tests := []struct {
		name      string
		in        string
		wantField string // empty: accepted
	}{
		{"every_list", `{"wifi_networks":[{"ssid":"Office","security":"wpa2","password":"correct-horse"},{"ssid":"Guest","security":"none","hidden":true}],
			"vpn_connections":[{"name":"HQ","type":"ikev2","server":"vpn.example.com","remote_id":"vpn.example.com"},{"name":"Old","type":"ipsec","server":"192.0.2.1","shared_secret":"s3cret","local_id":"staff"},{"name":"L","type":"l2tp","server":"l2tp.example.com","shared_secret":"x"}],
			"email_accounts":[{"name":"Work","imap_host":"imap.example.com","smtp_host":"smtp.example.com","smtp_port":465,"login":"username"}],
			"web_clips":[{"label":"Intranet","url":"https://intranet.example.com/","full_screen":true}]}`, ""},
		{"empty_list", `{"web_clips":[]}`, ""},
		{"wifi_hex_key", `{"wifi_networks":[{"ssid":"K","security":"wpa3","password":"` + strings.Repeat("ab", 32) + `"}]}`, ""},
		{"wifi_not_a_list", `{"wifi_networks":{"ssid":"Office"}}`, "rules.wifi_networks"},
		{"wifi_null", `{"wifi_networks":null}`, "rules.wifi_networks"},
		{"wifi_unknown_field", `{"wifi_networks":[{"ssid":"Office","security":"none","colour":"blue"}]}`, "rules.wifi_networks"},
		{"wifi_ssid_missing", `{"wifi_networks":[{"security":"none"}]}`, "rules.wifi_networks[0].ssid"},
		{"wifi_ssid_too_long", `{"wifi_networks":[{"ssid":"` + strings.Repeat("x", 33) + `","security":"none"}]}`, "rules.wifi_networks[0].ssid"},
		{"wifi_security_unknown", `{"wifi_networks":[{"ssid":"Office","security":"wep","password":"12345678"}]}`, "rules.wifi_networks[0].security"},
		{"wifi_password_short", `{"wifi_networks":[{"ssid":"A","security":"none"},{"ssid":"B","security":"wpa2","password":"short"}]}`, "rules.wifi_networks[1].password"},
		{"wifi_password_missing", `{"wifi_networks":[{"ssid":"B","security":"any"}]}`, "rules.wifi_networks[0].password"},
		{"wifi_open_with_password", `{"wifi_networks":[{"ssid":"Open","security":"none","password":"12345678"}]}`, "rules.wifi_networks[0].password"},
		{"wifi_same_ssid_twice", `{"wifi_networks":[{"ssid":"Office","security":"none"},{"ssid":"Office","security":"none"}]}`, "rules.wifi_networks[1].ssid"},
		{"vpn_type_unknown", `{"vpn_connections":[{"name":"HQ","type":"pptp","server":"vpn.example.com"}]}`, "rules.vpn_connections[0].type"},
		{"vpn_server_bad", `{"vpn_connections":[{"name":"HQ","type":"ikev2","server":"not a host","remote_id":"x"}]}`, "rules.vpn_connections[0].server"},
		{"vpn_ikev2_without_remote_id", `{"vpn_connections":[{"name":"HQ","type":"ikev2","server":"vpn.example.com"}]}`, "rules.vpn_connections[0].remote_id"},
		{"vpn_ipsec_without_secret", `{"vpn_connections":[{"name":"HQ","type":"ipsec","server":"vpn.example.com"}]}`, "rules.vpn_connections[0].shared_secret"},
		{"vpn_name_missing", `{"vpn_connections":[{"type":"ikev2","server":"vpn.example.com","remote_id":"x"}]}`, "rules.vpn_connections[0].name"},
		{"email_port_out_of_range", `{"email_accounts":[{"name":"Work","imap_host":"imap.example.com","imap_port":70000,"smtp_host":"smtp.example.com"}]}`, "rules.email_accounts[0].imap_port"},
		{"email_host_missing", `{"email_accounts":[{"name":"Work","imap_host":"imap.example.com"}]}`, "rules.email_accounts[0].smtp_host"},
		{"email_login_unknown", `{"email_accounts":[{"name":"Work","imap_host":"i.example.com","smtp_host":"s.example.com","login":"phone"}]}`, "rules.email_accounts[0].login"},
		{"email_port_not_a_number", `{"email_accounts":[{"name":"Work","imap_host":"i.example.com","smtp_host":"s.example.com","smtp_port":"587"}]}`, "rules.email_accounts"},
		{"web_clip_javascript", `{"web_clips":[{"label":"X","url":"javascript:alert(1)"}]}`, "rules.web_clips[0].url"},
		{"web_clip_label_too_long", `{"web_clips":[{"label":"` + strings.Repeat("x", 65) + `","url":"https://example.com"}]}`, "rules.web_clips[0].label"},
		{"web_clips_too_many", `{"web_clips":[` + strings.Join(tooMany, ",") + `]}`, "rules.web_clips"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRules([]byte(tt.in))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("DecodeRules = %v, want accepted", err)
				}
				return
			}
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("DecodeRules = %v, want *Error", err)
			}
			if pe.Code != CodeInvalid || pe.Field != tt.wantField {
				t.Errorf("got code %s field %q (%s), want %s field %q", pe.Code, pe.Field, pe.Msg, CodeInvalid, tt.wantField)
			}
		})
	}
}

func TestListRulesRoundTrip(t *testing.T) {
	in := `{"wifi_networks":[{"ssid":"Office","security":"wpa2","password":"correct-horse","hidden":true}],"web_clips":[{"label":"Intranet","url":"https://intranet.example.com/"}],"camera_disabled":true}`
	r, err := DecodeRules([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := WiFiNetworks{{SSID: "Office", Security: "wpa2", Password: "correct-horse", Hidden: true}}
	if got, ok := r["wifi_networks"].(WiFiNetworks); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("wifi_networks = %#v, want %#v", r["wifi_networks"], want)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRules(out)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("round trip through %s = %v, %v; want %v", out, back, err, r)
	}
	if s := fmt.Sprint(r["wifi_networks"]); strings.Contains(s, "correct-horse") || !strings.Contains(s, "Office") {
		t.Errorf("a list shown to people reads %q: it must name the network and never its password", s)
	}
}

func TestMergeRulesJoinsLists(t *testing.T) {
	mk := func(name, j string) Policy {
		r, err := DecodeRules([]byte(j))
		if err != nil {
			t.Fatal(err)
		}
		return Policy{Name: name, Rules: r}
	}
	user := mk("user", `{"wifi_networks":[{"ssid":"Office","security":"wpa2","password":"users-own-pass"}],"password_min_length":6}`)
	group := mk("group", `{"wifi_networks":[{"ssid":"Office","security":"wpa3","password":"group-pass-123"},{"ssid":"Lab","security":"none"}],"password_min_length":10}`)
	got := MergeRules([]Policy{user, group})
	want := WiFiNetworks{{SSID: "Office", Security: "wpa2", Password: "users-own-pass"}, {SSID: "Lab", Security: "none"}}
	if !reflect.DeepEqual(got["wifi_networks"], want) {
		t.Errorf("joined networks = %v, want %v: every network once, the first policy's for one both configure", got["wifi_networks"], want)
	}
	if got["password_min_length"] != int64(10) {
		t.Errorf("password_min_length = %v, want the stricter 10 beside the joined lists", got["password_min_length"])
	}
	if n := user.Rules["wifi_networks"].(WiFiNetworks); len(n) != 1 {
		t.Errorf("merging changed a policy's own list: %v", n)
	}
}

func TestRulesForPlatform(t *testing.T) {
	r, err := DecodeRules([]byte(`{"camera_disabled":true,"wifi_networks":[{"ssid":"Office","security":"none"}],"web_clips":[{"label":"X","url":"https://x.example.com"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.For("linux-amd64"); len(got) != 1 || got["camera_disabled"] != true {
		t.Errorf("rules for a bootloader = %v, want only camera_disabled: list rules reach iPhones and iPads only", got)
	}
	if got := r.For("ios"); len(got) != 3 {
		t.Errorf("rules for ios = %v, want all three", got)
	}
}
