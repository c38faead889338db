package organizer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-ical"
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
	var segs []string // of the logical line being read, joined once at its end
	first := 0
	flush := func() {
		if len(segs) > 0 {
			lines = append(lines, contentLine{num: first, text: strings.Join(segs, "")})
			segs = segs[:0]
		}
	}
	for num := 1; len(s) > 0; num++ {
		var phys string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			phys, s = s[:i], s[i+1:]
		} else {
			phys, s = s, ""
		}
		phys = strings.TrimSuffix(phys, "\r")
		if phys != "" && (phys[0] == ' ' || phys[0] == '\t') && len(segs) > 0 {
			segs = append(segs, phys[1:])
			continue
		}
		flush()
		segs, first = append(segs, phys), num
	}
	flush()
	return lines
}

// splitICalLine reads a content line by the grammar go-ical decodes (name,
// parameters, colon, value): its upper-case name, its parameters and its
// value. A malformed line is reported with its number instead of failing,
// or crashing, the decoder on the whole component. The parameters are read
// here rather than by go-ical, which builds a parameter value a byte at a
// time: quadratic in its length.
func splitICalLine(s string) (name string, params ical.Params, value string, err error) {
	i := strings.IndexAny(s, ";:")
	switch {
	case i < 0:
		return "", nil, "", errors.New("no colon: not a property")
	case i == 0:
		return "", nil, "", errors.New("empty property name")
	}
	name = strings.ToUpper(s[:i])
	rest := s[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexAny(rest, "=;:\",")
		if eq <= 0 || rest[eq] != '=' {
			return "", nil, "", fmt.Errorf("%s: malformed parameter", name)
		}
		pname := strings.ToUpper(rest[:eq])
		rest = rest[eq+1:]
		if params == nil {
			params = make(ical.Params)
		}
		for {
			var v string
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return "", nil, "", fmt.Errorf("%s: unterminated quoted parameter value", name)
				}
				v, rest = rest[1:end+1], rest[end+2:]
			} else {
				j := strings.IndexAny(rest, "\";,:")
				if j < 0 {
					return "", nil, "", fmt.Errorf("%s: no colon after the parameters", name)
				}
				if rest[j] == '"' {
					return "", nil, "", fmt.Errorf("%s: double quote inside a parameter value", name)
				}
				v, rest = rest[:j], rest[j:]
			}
			params[pname] = append(params[pname], v)
			if rest == "" {
				return "", nil, "", fmt.Errorf("%s: no colon after the parameters", name)
			}
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
		if rest[0] != ';' && rest[0] != ':' {
			return "", nil, "", fmt.Errorf("%s: unexpected %q after a parameter value", name, rest[0])
		}
	}
	return name, params, rest[1:], nil
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
