package web

import (
	"net/http"
	"strings"
	"testing"

	"provportal/portal"
)

func TestPolicyFormTakesListRulesAsJSON(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	csrf := b.signIn("root")
	b.get("/admin/policies/new").want(t, http.StatusOK).
		wantText(t, `<textarea id="f-rules.wifi_networks" name="rules.wifi_networks"`, "A JSON list of objects with ssid (required)")

	wifi := `[{"ssid":"Office","security":"wpa2","password":"correct-horse"}]`
	b.post("/admin/policies", policyFormValues(csrf, "Phones", "", map[string]string{"wifi_networks": wifi})).
		wantRedirect(t, "/admin/policies")
	got := env.policies()
	if len(got) != 1 {
		t.Fatalf("%d policies stored, want 1", len(got))
	}
	nets, ok := got[0].Rules["wifi_networks"].(portal.WiFiNetworks)
	if !ok || len(nets) != 1 || nets[0].SSID != "Office" || nets[0].Password != "correct-horse" {
		t.Fatalf("stored wifi_networks = %#v", got[0].Rules["wifi_networks"])
	}
	list := b.get("/admin/policies").want(t, http.StatusOK)
	list.wantText(t, "1 network: Office")
	if strings.Contains(list.Body, "correct-horse") {
		t.Error("the policy list shows a Wi-Fi password")
	}
	// The edit form shows the list as the JSON it takes back.
	b.get("/admin/policies/"+got[0].ID+"/edit").want(t, http.StatusOK).
		wantText(t, `&#34;ssid&#34;:&#34;Office&#34;`)
}

func TestPolicyFormRefusesABadListItemBesideTheList(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	csrf := b.signIn("root")
	bad := `[{"ssid":"Office","security":"wpa2","password":"short"}]`
	p := b.post("/admin/policies", policyFormValues(csrf, "Phones", "", map[string]string{"wifi_networks": bad})).
		want(t, http.StatusUnprocessableEntity)
	p.wantText(t, `id="f-rules.wifi_networks-error"`, "8 to 63 printable ASCII characters", `aria-invalid="true"`)
	if n := len(env.policies()); n != 0 {
		t.Errorf("%d policies stored after a refused form, want 0", n)
	}
}
