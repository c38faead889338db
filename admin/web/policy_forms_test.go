package web

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"provportal/portal"
)

// policyFormValues is the policy form as a browser sends it: every rule's
// input, empty unless set.
func policyFormValues(csrf, name, description string, rules map[string]string) url.Values {
	v := url.Values{"csrf_token": {csrf}, "name": {name}, "description": {description}}
	for _, spec := range portal.RuleCatalogue {
		v.Set("rules."+spec.Name, rules[spec.Name])
	}
	return v
}

func (e *consoleEnv) policies() []portal.Policy {
	e.t.Helper()
	page, err := e.Store.Policies(context.Background(), portal.ListOptions{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

func (e *consoleEnv) addPolicy(name, rulesJSON string) portal.Policy {
	e.t.Helper()
	rules, err := portal.DecodeRules([]byte(rulesJSON))
	if err != nil {
		e.t.Fatal(err)
	}
	p := portal.Policy{Name: name, Rules: rules}
	if err := e.Store.CreatePolicy(portal.WithActor(context.Background(), portal.Actor{Username: "test"}), &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestPolicyFormHasAnInputForEveryCatalogueRule(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	b.signIn("root")
	p := b.get("/admin/policies/new").want(t, http.StatusOK)
	for _, spec := range portal.RuleCatalogue {
		id := "f-rules." + spec.Name
		p.wantText(t, `<label for="`+id+`">`, `id="`+id+`" name="rules.`+spec.Name+`"`, spec.Description)
	}
	p.wantText(t, `type="number"`, `min="4" max="64"`, "Shortest password the device accepts. From 4 to 64.",
		`<option value="" selected>Not set</option>`, `<option value="true">On</option>`, `<option value="false">Off</option>`,
		"<label for=\"f-rules.min_os_version\">Minimum OS version</label>",
		"<label for=\"f-rules.screen_lock_timeout_s\">Screen lock timeout (seconds)</label>")
}

func TestPolicyFormCreatesExactlyTheRulesSet(t *testing.T) {
	env := newConsole(t)
	b := env.browser()
	csrf := b.signIn("root")
	form := policyFormValues(csrf, "Strict", "For phones that leave the building",
		map[string]string{"password_required": "true", "password_min_length": " 8 "})
	b.post("/admin/policies", form).wantRedirect(t, "/admin/policies")

	got := env.policies()
	if len(got) != 1 {
		t.Fatalf("%d policies stored, want 1", len(got))
	}
	want := portal.Rules{"password_required": true, "password_min_length": int64(8)}
	if got[0].Name != "Strict" || got[0].Description != "For phones that leave the building" || !reflect.DeepEqual(got[0].Rules, want) {
		t.Errorf("stored %q %q %v, want Strict, its description and %v", got[0].Name, got[0].Description, got[0].Rules, want)
	}
	b.get("/admin/policies").want(t, http.StatusOK).
		wantText(t, "Policy Strict was added.", `href="/admin/policies/new"`,
			`href="/admin/policies/`+got[0].ID+`/edit"`, `href="/admin/policies/`+got[0].ID+`/delete"`)
}

func TestPolicyFormRefusesABadRuleBesideItsInput(t *testing.T) {
	tests := []struct {
		name, rule, typed, message string
	}{
		{"below_the_minimum", "password_min_length", "3", "Must be from 4 to 64, not 3."},
		{"above_the_maximum", "max_failed_unlocks_before_wipe", "17", "Must be from 2 to 16, not 17."},
		{"not_a_number", "screen_lock_timeout_s", "a minute", "Must be a whole number from 10 to 86400."},
		{"not_a_version", "min_os_version", "fourteen", "Must be a version such as"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newConsole(t)
			b := env.browser()
			csrf := b.signIn("root")
			form := policyFormValues(csrf, "Strict", "Kept as typed",
				map[string]string{"camera_disabled": "true", tt.rule: tt.typed})
			p := b.post("/admin/policies", form).want(t, http.StatusUnprocessableEntity)
			id := "f-rules." + tt.rule
			p.wantText(t, tt.message, `id="`+id+`-error"`, `href="#`+id+`"`, `aria-invalid="true"`,
				`value="`+tt.typed+`"`, `value="Strict"`, "Kept as typed", `<option value="true" selected>On</option>`)
			// The message sits between the rule's label and its input.
			label := strings.Index(p.Body, `<label for="`+id+`">`)
			msg := strings.Index(p.Body, `<p class="field-error" id="`+id+`-error">`)
			input := strings.Index(p.Body, `<input id="`+id+`"`)
			if label < 0 || !(label < msg && msg < input) {
				t.Errorf("label at %d, message at %d, input at %d: the message is not beside its input", label, msg, input)
			}
			if n := len(env.policies()); n != 0 {
				t.Errorf("%d policies stored after a refused form, want 0", n)
			}
		})
	}
}

func TestPolicyFormRefusesADuplicateNameBesideTheName(t *testing.T) {
	env := newConsole(t)
	env.addPolicy("Strict", `{}`)
	b := env.browser()
	csrf := b.signIn("root")
	b.post("/admin/policies", policyFormValues(csrf, "strict", "", nil)).want(t, http.StatusUnprocessableEntity).
		wantText(t, `id="f-name-error"`, "A policy named strict already exists.")
	if n := len(env.policies()); n != 1 {
		t.Errorf("%d policies stored, want 1", n)
	}
}

func TestPolicyFormEditsAndDeletes(t *testing.T) {
	env := newConsole(t)
	pol := env.addPolicy("Strict", `{"password_required": true, "password_min_length": 8}`)
	g := portal.Group{Name: "Sales"}
	ctx := portal.WithActor(context.Background(), portal.Actor{Username: "test"})
	if err := env.Store.CreateGroup(ctx, &g); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateAssignment(ctx, &portal.Assignment{PolicyID: pol.ID, GroupID: g.ID}); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.signIn("root")
	edit := b.get("/admin/policies/"+pol.ID+"/edit").want(t, http.StatusOK).
		wantText(t, "Edit Strict", `value="Strict"`, `name="rules.password_min_length" type="number" value="8"`,
			`<option value="true" selected>On</option>`, `action="/admin/policies/`+pol.ID+`"`)

	form := policyFormValues(edit.csrf(t), "Stricter", "Now with a screen lock",
		map[string]string{"password_min_length": "12", "screen_lock_timeout_s": "60"})
	b.post("/admin/policies/"+pol.ID, form).wantRedirect(t, "/admin/policies")
	got := env.policies()
	want := portal.Rules{"password_min_length": int64(12), "screen_lock_timeout_s": int64(60)}
	if len(got) != 1 || got[0].Name != "Stricter" || !reflect.DeepEqual(got[0].Rules, want) {
		t.Fatalf("stored %+v, want Stricter with %v (password_required unset)", got, want)
	}

	confirm := b.get("/admin/policies/"+pol.ID+"/delete").want(t, http.StatusOK).
		wantText(t, "Delete the policy Stricter?", "This also removes 1 assignment", `action="/admin/policies/`+pol.ID+`/delete"`)
	b.post("/admin/policies/"+pol.ID+"/delete", url.Values{"csrf_token": {confirm.csrf(t)}}).wantRedirect(t, "/admin/policies")
	if n := len(env.policies()); n != 0 {
		t.Errorf("%d policies after the delete, want 0", n)
	}
	b.get("/admin/policies").want(t, http.StatusOK).wantText(t, "Policy Stricter was deleted.", "No policies yet.", `href="/admin/policies/new"`)
	b.get("/admin/policies/"+pol.ID+"/edit").want(t, http.StatusNotFound)
}

func TestPolicyFormsAreForTheAdminRoleOnly(t *testing.T) {
	env := newConsole(t)
	pol := env.addPolicy("Strict", `{"camera_disabled": true}`)
	b := env.browser()
	csrf := b.signIn("help")
	b.get("/admin/policies").want(t, http.StatusOK).
		wantText(t, "Strict", `href="/admin/assignments?policy_id=`+pol.ID+`"`).
		wantNoText(t, "New policy", "/admin/policies/new", "/edit", "/delete")
	for _, path := range []string{"/admin/policies/new", "/admin/policies/" + pol.ID + "/edit", "/admin/policies/" + pol.ID + "/delete"} {
		b.get(path).want(t, http.StatusForbidden)
	}
	b.post("/admin/policies", policyFormValues(csrf, "Loose", "", nil)).want(t, http.StatusForbidden)
	b.post("/admin/policies/"+pol.ID, policyFormValues(csrf, "Renamed", "", nil)).want(t, http.StatusForbidden)
	b.post("/admin/policies/"+pol.ID+"/delete", url.Values{"csrf_token": {csrf}}).want(t, http.StatusForbidden)
	got := env.policies()
	if len(got) != 1 || got[0].Name != "Strict" || !reflect.DeepEqual(got[0].Rules, portal.Rules{"camera_disabled": true}) {
		t.Errorf("after the helpdesk's refused changes the store holds %+v, want Strict alone, unchanged", got)
	}
}

func TestRuleLabel(t *testing.T) {
	for name, want := range map[string]string{
		"password_required":              "Password required",
		"password_max_age_days":          "Password maximum age (days)",
		"max_failed_unlocks_before_wipe": "Maximum failed unlocks before wipe",
		"screen_lock_timeout_s":          "Screen lock timeout (seconds)",
		"min_os_version":                 "Minimum OS version",
		"s":                              "S",
	} {
		if got := ruleLabel(name); got != want {
			t.Errorf("ruleLabel(%q) = %q, want %q", name, got, want)
		}
	}
}

// A refusal naming a field the form lacks still reaches the summary.
func TestErrorsForFieldsTheFormLacksAreShown(t *testing.T) {
	fields := []field{{Name: "name", Label: "Name"}}
	errs := formErrors{Fields: map[string]string{"name": "Is required.", "rules": "Must be an object."}, Form: []string{"Refused."}}
	shown, problems := withErrors(fields, errs.shownOn(fields))
	if shown[0].Error != "Is required." {
		t.Errorf("name's message = %q, want it beside the name", shown[0].Error)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Message)
	}
	if want := []string{"Refused.", "Must be an object.", "Is required."}; !reflect.DeepEqual(got, want) {
		t.Errorf("summary %q, want %q", got, want)
	}
}
