package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// registerPolicyForms mounts the pages that create, edit and delete
// policies. Each change is the admin API's own request, so the rule
// catalogue's limits and the API's messages are the only ones there are.
func (c *Console) registerPolicyForms(read, write chain) {
	write.GET("/admin/policies/new", c.newPolicy)
	write.POST("/admin/policies", c.createPolicy)
	write.GET("/admin/policies/:id/edit", c.editPolicy)
	write.POST("/admin/policies/:id", c.updatePolicy)
	write.GET("/admin/policies/:id/delete", c.confirmDeletePolicy)
	write.POST("/admin/policies/:id/delete", c.deletePolicy)
}

// policyForm is what was typed into the policy form. Rules holds each rule's
// input as typed, by rule name; a rule left unset is absent.
type policyForm struct {
	Name, Description string
	Rules             map[string]string
}

// ruleInputName is the API's own field name for a rule, so a refusal of
// the rule lands beside its input with no translation.
func ruleInputName(rule string) string { return "rules." + rule }

func readPolicyForm(ec echo.Context) policyForm {
	in := ec.Request().PostForm
	f := policyForm{Name: in.Get("name"), Description: in.Get("description"), Rules: map[string]string{}}
	for _, spec := range portal.RuleCatalogue {
		if v := strings.TrimSpace(in.Get(ruleInputName(spec.Name))); v != "" {
			f.Rules[spec.Name] = v
		}
	}
	return f
}

func policyFormOf(p *portal.Policy) policyForm {
	f := policyForm{Name: p.Name, Description: p.Description, Rules: map[string]string{}}
	for name, v := range p.Rules {
		f.Rules[name] = ruleText(v)
	}
	return f
}

// policyRequest is the body of the API's POST and PATCH /policies. Every
// field is sent, so an edit replaces the policy's rules with exactly those
// on the form.
type policyRequest struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Rules       map[string]any `json:"rules"`
}

func (f policyForm) request() policyRequest {
	rules := map[string]any{}
	for _, spec := range portal.RuleCatalogue {
		if typed, ok := f.Rules[spec.Name]; ok {
			rules[spec.Name] = ruleValue(spec, typed)
		}
	}
	return policyRequest{Name: f.Name, Description: f.Description, Rules: rules}
}

// ruleValue is what was typed for a rule as the JSON value its type takes.
// Text that does not read as that type is sent as typed, so the API refuses
// it with its own message instead of the console inventing one.
func ruleValue(spec portal.RuleSpec, typed string) any {
	switch spec.Type {
	case portal.RuleBool:
		if b, err := strconv.ParseBool(typed); err == nil {
			return b
		}
	case portal.RuleInt:
		if n, err := strconv.ParseInt(typed, 10, 64); err == nil {
			return n
		}
	case portal.RuleList:
		if json.Valid([]byte(typed)) {
			return json.RawMessage(typed)
		}
	}
	return typed
}

// ruleChoice is one option of a select.
type ruleChoice struct {
	Value, Label string
	Selected     bool
}

// ruleInput is one rule's input, generated from the rule catalogue: a
// select for a yes-or-no rule, a number input bounded as the catalogue
// bounds it, a text input for the rest.
type ruleInput struct {
	field
	Choices   []ruleChoice // set for a select
	Min, Max  int64        // for a number input
	InputMode string
}

func ruleInputs(f policyForm) []ruleInput {
	var out []ruleInput
	for _, spec := range portal.RuleCatalogue {
		typed := f.Rules[spec.Name]
		in := ruleInput{field: field{Name: ruleInputName(spec.Name), Label: ruleLabel(spec.Name),
			Type: "text", Value: typed, Hint: spec.Description, Autocomplete: "off"}}
		switch spec.Type {
		case portal.RuleBool:
			in.Type, in.Choices = "select", []ruleChoice{
				{Value: "", Label: "Not set", Selected: typed == ""},
				{Value: "true", Label: "On", Selected: typed == "true"},
				{Value: "false", Label: "Off", Selected: typed == "false"},
			}
		case portal.RuleInt:
			in.Type, in.Min, in.Max, in.InputMode = "number", spec.Min, spec.Max, "numeric"
			in.Hint = fmt.Sprintf("%s From %d to %d.", spec.Description, spec.Min, spec.Max)
		case portal.RuleVersion:
			in.InputMode = "decimal"
		case portal.RuleList:
			in.Type, in.Hint = "textarea", listRuleHint(spec)
		}
		out = append(out, in)
	}
	return out
}

// ruleWords spell out the abbreviations in rule names, and ruleUnits the
// unit a name ends with, so a label reads as words: "min_os_version" is
// "Minimum OS version", "screen_lock_timeout_s" "Screen lock timeout (seconds)".
var (
	ruleWords = map[string]string{"min": "minimum", "max": "maximum", "os": "OS"}
	ruleUnits = map[string]string{"s": "seconds", "days": "days"}
)

// ruleLabel is a rule's name for people, made from its API name so every
// rule the catalogue gains has one.
func ruleLabel(name string) string {
	words := strings.Split(name, "_")
	if unit, ok := ruleUnits[words[len(words)-1]]; ok && len(words) > 1 {
		words[len(words)-1] = "(" + unit + ")"
	}
	for i, w := range words {
		if full, ok := ruleWords[w]; ok {
			words[i] = full
		}
	}
	label := strings.Join(words, " ")
	return strings.ToUpper(label[:1]) + label[1:]
}

type policyFormPage struct {
	Editing  bool
	Name     string // the policy's name as stored, when editing
	Action   string
	Fields   []field // the policy's own: name and description
	Rules    []ruleInput
	Problems []problem
}

// policyForm answers the policy form with what was typed and, after a
// refusal, the API's message beside the field it names.
func (c *Console) policyForm(ec echo.Context, status int, pol *portal.Policy, f policyForm, errs formErrors) error {
	p := policyFormPage{Action: "/admin/policies"}
	title := "New policy"
	if pol != nil {
		p.Editing, p.Name, p.Action = true, pol.Name, "/admin/policies/"+url.PathEscape(pol.ID)
		title = "Edit " + pol.Name
	}
	own := []field{
		{Name: "name", Label: "Name", Type: "text", Value: f.Name, Required: true, Autocomplete: "off",
			Hint: "Up to 100 characters, e.g. Phones that leave the building."},
		{Name: "description", Label: "Description", Type: "textarea", Value: f.Description,
			Hint: "Optional. What the policy is for, for the next administrator."},
	}
	p.Rules = ruleInputs(f)
	fields := own
	for _, r := range p.Rules {
		fields = append(fields, r.field)
	}
	fields, p.Problems = withErrors(fields, errs.shownOn(fields))
	p.Fields = fields[:len(own)]
	for i := range p.Rules {
		p.Rules[i].field = fields[len(own)+i]
	}
	if pol == nil && len(p.Problems) == 0 {
		p.Fields[0].Autofocus = true
	}
	return c.page(ec, status, "policy_form", title, "policies", p)
}

// shownOn moves the messages for fields a form does not have into the
// form's own list, so no refusal goes unseen.
func (e formErrors) shownOn(fields []field) formErrors {
	out := formErrors{Form: e.Form}
	for name, msg := range e.Fields {
		if !hasField(fields, name) {
			name = listOwner(fields, name)
		}
		if name == "" {
			out.Form = append(out.Form, msg)
			continue
		}
		if out.Fields == nil {
			out.Fields = map[string]string{}
		}
		out.Fields[name] = msg
	}
	return out
}

func hasField(fields []field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// refusedPolicy shows the form again after the API refused it, or returns
// an error no one at the form can fix.
func (c *Console) refusedPolicy(ec echo.Context, pol *portal.Policy, f policyForm, err error) error {
	var errs formErrors
	if !errs.add(err) {
		return err
	}
	return c.policyForm(ec, http.StatusUnprocessableEntity, pol, f, errs)
}

// policy fetches the policy named in the path through the API.
func (c *Console) policy(ec echo.Context) (*portal.Policy, error) {
	var p portal.Policy
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: policyPath(ec.Param("id")), Out: &p})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func policyPath(id string) string { return "/policies/" + url.PathEscape(id) }

func (c *Console) newPolicy(ec echo.Context) error {
	return c.policyForm(ec, http.StatusOK, nil, policyForm{}, formErrors{})
}

func (c *Console) createPolicy(ec echo.Context) error {
	f := readPolicyForm(ec)
	var created portal.Policy
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodPost, Path: "/policies", JSON: f.request(), Out: &created})
	if err != nil {
		return c.refusedPolicy(ec, nil, f, err)
	}
	c.setFlash(ec, "Policy "+created.Name+" was added.")
	return ec.Redirect(http.StatusSeeOther, "/admin/policies")
}

func (c *Console) editPolicy(ec echo.Context) error {
	pol, err := c.policy(ec)
	if err != nil {
		return err
	}
	return c.policyForm(ec, http.StatusOK, pol, policyFormOf(pol), formErrors{})
}

func (c *Console) updatePolicy(ec echo.Context) error {
	pol, err := c.policy(ec)
	if err != nil {
		return err
	}
	f := readPolicyForm(ec)
	var updated portal.Policy
	_, _, err = c.callAPI(ec, apiCall{Method: http.MethodPatch, Path: policyPath(pol.ID), JSON: f.request(), Out: &updated})
	if err != nil {
		return c.refusedPolicy(ec, pol, f, err)
	}
	c.setFlash(ec, "Policy "+updated.Name+" was saved.")
	return ec.Redirect(http.StatusSeeOther, "/admin/policies")
}

func (c *Console) confirmDeletePolicy(ec echo.Context) error {
	pol, err := c.policy(ec)
	if err != nil {
		return err
	}
	n, err := c.countAssignments(ec, url.Values{"policy_id": {pol.ID}})
	if err != nil {
		return err
	}
	consequence := "It is assigned to no one. This cannot be undone."
	if n > 0 {
		consequence = fmt.Sprintf("This also removes %s: its rules stop applying to the groups and users it reaches. This cannot be undone.",
			plural(n, "assignment"))
	}
	return c.page(ec, http.StatusOK, "confirm", "Delete "+pol.Name, "policies", confirmPage{
		Kind: "policy", Name: pol.Name, Consequence: consequence,
		Action: "/admin/policies/" + url.PathEscape(pol.ID) + "/delete", Cancel: "/admin/policies",
	})
}

func (c *Console) deletePolicy(ec echo.Context) error {
	pol, err := c.policy(ec)
	if err != nil {
		return err
	}
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: policyPath(pol.ID)}); err != nil {
		return err
	}
	c.setFlash(ec, "Policy "+pol.Name+" was deleted.")
	return ec.Redirect(http.StatusSeeOther, "/admin/policies")
}
