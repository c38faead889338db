package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"text/template"
)

// ServiceBookTemplate configures one service on every activated device,
// filled in per user: field values are text/template strings over
// ServiceBookData ({{.Email}}, {{.Username}}, {{.DisplayName}}, {{.PortalURL}}, {{.Org}}).
type ServiceBookTemplate struct {
	Type   string            `json:"type"` // CMIME (e-mail), CICAL (calendar), SYNC, BROWSER, or another upper-case name
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields"`
}

// ServiceBookData is what a service book template is filled with.
type ServiceBookData struct {
	Email, Username, DisplayName, PortalURL, Org string
}

// ServiceBook is a filled-in service book for one user.
type ServiceBook struct {
	Type   string            `json:"type"`
	Name   string            `json:"name"`
	Fields map[string]string `json:"fields"`
}

// SettingServiceBooks is the setting that holds the admin's templates as JSON.
const SettingServiceBooks = "service_books"

// DefaultServiceBooks are the books every user gets until an admin edits them.
var DefaultServiceBooks = []ServiceBookTemplate{
	{Type: "CICAL", Name: "Calendar", Fields: map[string]string{"account": "{{.Email}}", "server": "{{.PortalURL}}", "data": "calendar"}},
	{Type: "CMIME", Name: "E-mail", Fields: map[string]string{"address": "{{.Email}}", "display_name": "{{.DisplayName}}"}},
	{Type: "SYNC", Name: "Wireless sync", Fields: map[string]string{"server": "{{.PortalURL}}", "data": "calendar,contacts,tasks,memos,messages,options"}},
	{Type: "BROWSER", Name: "{{.Org}} browser", Fields: map[string]string{"home_page": "{{.PortalURL}}"}},
}

var bookTypeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,15}$`)
var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// DecodeServiceBooks parses and checks an admin's templates: known shapes,
// templates that run, a calendar book (calendar sync needs it first).
func DecodeServiceBooks(data []byte) ([]ServiceBookTemplate, error) {
	var books []ServiceBookTemplate
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&books); err != nil {
		return nil, Invalid("service_books", "must be a list of {type, name, fields}: %v", err)
	}
	if len(books) == 0 || len(books) > 32 {
		return nil, Invalid("service_books", "give 1 to 32 service books")
	}
	calendar := false
	for i, b := range books {
		field := fmt.Sprintf("service_books[%d]", i)
		if !bookTypeRE.MatchString(b.Type) {
			return nil, Invalid(field+".type", "must be an upper-case name such as CMIME, CICAL, SYNC or BROWSER")
		}
		calendar = calendar || b.Type == "CICAL"
		if len(b.Fields) > 32 {
			return nil, Invalid(field+".fields", "at most 32 fields")
		}
		if _, err := fill(b.Name, sampleBookData); err != nil || b.Name == "" {
			return nil, Invalid(field+".name", "must be a non-empty template that runs")
		}
		for k, v := range b.Fields {
			if !fieldNameRE.MatchString(k) {
				return nil, Invalid(field+".fields", "%q is not a field name (lower case, digits, _)", k)
			}
			if _, err := fill(v, sampleBookData); err != nil || len(v) > 1000 {
				return nil, Invalid(field+".fields."+k, "the template does not work: %v", err)
			}
		}
	}
	if !calendar {
		return nil, Invalid("service_books", "a CICAL (calendar) book is required: calendar synchronisation starts from it")
	}
	return books, nil
}

var sampleBookData = ServiceBookData{Email: "a@example.com", Username: "a", DisplayName: "A", PortalURL: "https://portal.example.com", Org: "IT"}

func fill(tmpl string, d ServiceBookData) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RenderServiceBooks fills the templates for one user, calendar first.
func RenderServiceBooks(tmpls []ServiceBookTemplate, d ServiceBookData) ([]ServiceBook, error) {
	out := make([]ServiceBook, 0, len(tmpls))
	for _, t := range tmpls {
		name, err := fill(t.Name, d)
		if err != nil {
			return nil, fmt.Errorf("service book %s: %w", t.Type, err)
		}
		b := ServiceBook{Type: t.Type, Name: name, Fields: map[string]string{}}
		for k, v := range t.Fields {
			if b.Fields[k], err = fill(v, d); err != nil {
				return nil, fmt.Errorf("service book %s field %s: %w", t.Type, k, err)
			}
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type == "CICAL" && out[j].Type != "CICAL" })
	return out, nil
}
