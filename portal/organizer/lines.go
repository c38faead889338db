package organizer

import (
	"errors"
	"fmt"
	"strings"
)

// contentLine is one unfolded line of an iCalendar or vCard file.
type contentLine struct {
	num  int    // 1-based number of the physical line it starts on
	text string // without the line ending, continuation lines joined
}

// unfold splits data into content lines, joining RFC 5545 / RFC 6350
// continuation lines (a line ending followed by one space or tab), so that
// every error can name the line it is on.
func unfold(data []byte) []contentLine {
	s := string(data)
	var lines []contentLine
	var folded strings.Builder
	num := 0
	for len(s) > 0 {
		num++
		var phys string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			phys, s = s[:i], s[i+1:]
		} else {
			phys, s = s, ""
		}
		phys = strings.TrimSuffix(phys, "\r")
		if (phys != "" && (phys[0] == ' ' || phys[0] == '\t')) && len(lines) > 0 {
			last := &lines[len(lines)-1]
			folded.Reset()
			folded.WriteString(last.text)
			folded.WriteString(phys[1:])
			last.text = folded.String()
			continue
		}
		lines = append(lines, contentLine{num: num, text: phys})
	}
	return lines
}

// maxParamValue bounds one parameter value: the iCalendar decoder builds
// them a byte at a time, so a huge one would take quadratic time.
const maxParamValue = 1024

// splitICalLine checks a content line against the grammar go-ical decodes
// (name, parameters, colon, value) and returns its upper-case name and its
// value, so a malformed line is reported with its number instead of
// failing, or crashing, the decoder on the whole file.
func splitICalLine(s string) (name, value string, err error) {
	i := strings.IndexAny(s, ";:")
	switch {
	case i < 0:
		return "", "", errors.New("no colon: not a property")
	case i == 0:
		return "", "", errors.New("empty property name")
	}
	name = strings.ToUpper(s[:i])
	rest := s[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexAny(rest, "=;:\",")
		if eq <= 0 || rest[eq] != '=' {
			return "", "", fmt.Errorf("%s: malformed parameter", name)
		}
		rest = rest[eq+1:]
		for {
			var v string
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return "", "", fmt.Errorf("%s: unterminated quoted parameter value", name)
				}
				v, rest = rest[1:end+1], rest[end+2:]
			} else {
				j := strings.IndexAny(rest, "\";,:")
				if j < 0 {
					return "", "", fmt.Errorf("%s: no colon after the parameters", name)
				}
				if rest[j] == '"' {
					return "", "", fmt.Errorf("%s: double quote inside a parameter value", name)
				}
				v, rest = rest[:j], rest[j:]
			}
			if len(v) > maxParamValue {
				return "", "", fmt.Errorf("%s: parameter value longer than %d bytes", name, maxParamValue)
			}
			if rest == "" {
				return "", "", fmt.Errorf("%s: no colon after the parameters", name)
			}
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
		if rest[0] != ';' && rest[0] != ':' {
			return "", "", fmt.Errorf("%s: unexpected %q after a parameter value", name, rest[0])
		}
	}
	return name, rest[1:], nil
}

// splitVCardLine splits a vCard content line into its name (group removed,
// upper case), its parameters and its value. A parameter without "=" (the
// vCard 2.1 habit Outlook keeps in 3.0 files, "TEL;WORK;VOICE:") is
// returned as TYPE=..., which go-vcard would otherwise read as the start of
// the value and so lose the value.
func splitVCardLine(s string) (group, name string, params []string, value string, err error) {
	colon := -1
	start := 0
	inQuote := false
	var parts []string
	for i := 0; i < len(s) && colon < 0; i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		case ':':
			if !inQuote {
				parts = append(parts, s[start:i])
				colon = i
			}
		}
	}
	if colon < 0 {
		return "", "", nil, "", errors.New("no colon: not a property")
	}
	head := parts[0]
	if dot := strings.IndexByte(head, '.'); dot >= 0 {
		group, head = head[:dot], head[dot+1:]
	}
	if head == "" {
		return "", "", nil, "", errors.New("empty property name")
	}
	for _, p := range parts[1:] {
		switch {
		case p == "":
		case !strings.Contains(p, "="):
			params = append(params, "TYPE="+p)
		default:
			params = append(params, p)
		}
	}
	return group, strings.ToUpper(head), params, s[colon+1:], nil
}
