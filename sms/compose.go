package sms

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"unicode/utf8"
)

// DefaultTemplate is the provisioning message used until an administrator
// writes another. It is GSM-7 only and, with a typical organisation name,
// link and host, fits one 160-character segment. The link comes first among
// URLs, as the landing page expects: the first http(s) URL is the link.
const DefaultTemplate = "{{if .Org}}{{.Org}}: {{end}}set up your device at {{.Link}}" +
	"{{if .Server}} (server {{.Server}}){{end}}"

// MaxBodyLength is the longest body Twilio accepts, in characters.
const MaxBodyLength = 1600

// Fields are what a provisioning template can say. A template that names
// anything else is refused.
type Fields struct {
	Org      string // organisation name
	Name     string // the user's display name
	Username string
	Link     string // the provisioning link
	Server   string // host:port, or the alias, the bootloader connects to
}

// Template is the text/template source of a provisioning message, for
// example DefaultTemplate.
type Template string

// Validate reports whether t can compose a provisioning message: it parses,
// names only Fields, and includes the link.
func (t Template) Validate() error { return ValidateTemplate(string(t)) }

// Execute composes the message for f.
func (t Template) Execute(f Fields) (string, error) { return Compose(string(t), f) }

// ErrNoLink says a template never writes {{.Link}}, so its message could not
// provision anything.
var ErrNoLink = errors.New("sms template must contain {{.Link}}")

// Compose fills tmpl with data and returns the message body. An empty tmpl
// means DefaultTemplate. Surrounding white space is trimmed, since a
// trailing newline costs a character and, in long messages, a segment.
func Compose(tmpl string, data Fields) (string, error) {
	t, err := parseTemplate(tmpl)
	if err != nil {
		return "", err
	}
	return execute(t, data)
}

// ValidateTemplate reports whether tmpl parses, refers to no field other
// than those of Fields, and writes the link. It runs the template once on
// sample values, because text/template only notices an unknown field of a
// struct when executing.
func ValidateTemplate(tmpl string) error {
	if strings.TrimSpace(tmpl) == "" {
		return errors.New("sms template is empty")
	}
	t, err := parseTemplate(tmpl)
	if err != nil {
		return err
	}
	const sentinel = "https://link.invalid/\x00"
	out, err := execute(t, Fields{Org: "Org", Name: "Name", Username: "user", Link: sentinel, Server: "host:443"})
	if err != nil {
		return err
	}
	if !strings.Contains(out, sentinel) {
		return ErrNoLink
	}
	return nil
}

func parseTemplate(tmpl string) (*template.Template, error) {
	if tmpl == "" {
		tmpl = DefaultTemplate
	}
	if len(tmpl) > 4*MaxBodyLength {
		return nil, errors.New("sms template is too long")
	}
	t, err := template.New("sms").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("sms template: %w", err)
	}
	return t, nil
}

func execute(t *template.Template, data Fields) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("sms template: %w", err)
	}
	body := strings.TrimSpace(b.String())
	if body == "" {
		return "", errors.New("sms template produced an empty message")
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyLength {
		return "", fmt.Errorf("sms message is %d characters, more than the %d Twilio accepts", n, MaxBodyLength)
	}
	return body, nil
}
