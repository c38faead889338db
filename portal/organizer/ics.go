package organizer

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// ParseICS reads an iCalendar file (RFC 5545, as Google Calendar, Outlook
// and CalDAV servers export it): each VEVENT becomes a KindCalendar item,
// each VTODO a KindTasks item and each VJOURNAL a KindMemos item.
//
// Times with a TZID are resolved to UTC through the file's VTIMEZONE of that
// TZID, or else through the IANA zone of that name; times in UTC stay so;
// floating times are read in the calendar's X-WR-TIMEZONE when it names an
// IANA zone, and as UTC otherwise. DATE values make all-day events. Alarms
// and other properties outside the Data shapes are not kept.
//
// A component that cannot be imported (no DTSTART, DTEND before DTSTART, a
// malformed line, an unknown time zone, a kind of component that is not
// imported, a UID seen before) is refused alone: it is reported in
// *ImportErrors, nil when there is none, and the good ones are returned. The
// error result is for the input as a whole: a *FormatError for a file that
// is not iCalendar or is truncated, ErrInputTooLarge, ErrTooManyItems or a
// read error; no items come with it.
func ParseICS(r io.Reader) ([]Item, *ImportErrors, error) {
	data, err := readInput(r)
	if err != nil {
		return nil, nil, err
	}
	comps, err := splitCalendar(unfold(data))
	if err != nil {
		return nil, nil, err
	}
	p := &icsParser{zones: make(map[string]*zoneEntry)}
	c := newCollector()
	p.readTimezones(comps, c)
	for _, comp := range comps {
		if comp.name != ical.CompTimezone {
			p.convert(comp, c)
		}
	}
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Index < c.errs[j].Index })
	return c.result()
}

// icsCalendar is what one VCALENDAR says about all its components.
type icsCalendar struct {
	defaultZone string // X-WR-TIMEZONE
}

// icsComponent is one component directly inside a VCALENDAR, as lines.
type icsComponent struct {
	index  int
	name   string // VEVENT, VTODO, ...
	line   int    // of its BEGIN
	body   []icsLine
	broken string // why its lines cannot be decoded; "" when they can
	uid    string // its UID line, kept for reporting a broken component
	cal    *icsCalendar
}

type icsLine struct {
	num    int
	name   string
	text   string // what go-ical decodes: the line without its parameters
	params ical.Params
	depth  int // 0 for the component's own properties, more inside VALARM etc.
}

func (c *icsComponent) where() string { return fmt.Sprintf("%s at line %d", c.name, c.line) }

func (c *icsComponent) breakWith(reason string) {
	if c.broken == "" {
		c.broken = reason
	}
}

// lineOf is the line of the component's own property name, for messages.
func (c *icsComponent) lineOf(name string) int {
	for _, l := range c.body {
		if l.depth == 0 && l.name == name {
			return l.num
		}
	}
	return c.line
}

// calendarLevel are the components RFC 5545 allows only directly inside a
// VCALENDAR: finding one inside another means the other lacks its END.
var calendarLevel = map[string]bool{
	ical.CompEvent: true, ical.CompToDo: true, ical.CompJournal: true,
	ical.CompFreeBusy: true, ical.CompTimezone: true, "VAVAILABILITY": true,
}

const (
	maxNesting   = 8
	maxTimezones = 100
)

// splitCalendar cuts the lines of one or more VCALENDAR objects into their
// components. A component whose lines are malformed is marked broken and
// the next one starts cleanly, so one bad component costs only itself. Only
// what makes the whole file untrustworthy is an error: text outside a
// VCALENDAR, a malformed calendar-level line, a file that ends inside a
// component, more than MaxItems components.
func splitCalendar(lines []contentLine) ([]*icsComponent, error) {
	var (
		comps []*icsComponent
		cal   *icsCalendar
		cur   *icsComponent
		open  []icsLine // components nested inside cur, by their BEGIN lines
		items int
		found bool
		calAt int
	)
	begin := func(l contentLine, name string) error {
		cur = &icsComponent{index: len(comps), name: name, line: l.num, cal: cal}
		open = nil
		comps = append(comps, cur)
		if name != ical.CompTimezone {
			if items++; items > MaxItems {
				return ErrTooManyItems
			}
		}
		return nil
	}
	for _, l := range lines {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		if !utf8.ValidString(l.text) {
			if cur == nil {
				return nil, icsError(l.num, "not valid UTF-8 text")
			}
			cur.breakWith(fmt.Sprintf("line %d is not valid UTF-8 text", l.num))
			continue
		}
		name, params, value, err := splitICalLine(l.text)
		if err != nil {
			if cur == nil {
				return nil, icsError(l.num, err.Error())
			}
			cur.breakWith(fmt.Sprintf("line %d: %v", l.num, err))
			continue
		}
		comp := ""
		if name == "BEGIN" || name == "END" {
			if comp = strings.ToUpper(strings.TrimSpace(value)); comp == "" {
				if cur == nil {
					return nil, icsError(l.num, name+" without a component name")
				}
				cur.breakWith(fmt.Sprintf("line %d: %s without a component name", l.num, name))
				continue
			}
		}
		switch {
		case cal == nil:
			if name != "BEGIN" || comp != ical.CompCalendar {
				return nil, icsError(l.num, fmt.Sprintf("expected BEGIN:VCALENDAR, found %q", clip(l.text)))
			}
			cal, found, calAt = &icsCalendar{}, true, l.num

		case cur == nil && name == "BEGIN":
			if comp == ical.CompCalendar {
				return nil, icsError(l.num, fmt.Sprintf("BEGIN:VCALENDAR inside the VCALENDAR begun at line %d", calAt))
			}
			if err := begin(l, comp); err != nil {
				return nil, err
			}
		case cur == nil && name == "END":
			if comp != ical.CompCalendar {
				return nil, icsError(l.num, fmt.Sprintf("END:%s without its BEGIN", comp))
			}
			cal = nil
		case cur == nil:
			if name == "X-WR-TIMEZONE" {
				cal.defaultZone = strings.TrimSpace(icalText(value))
			}

		case name == "BEGIN" && (calendarLevel[comp] || comp == ical.CompCalendar):
			cur.breakWith(fmt.Sprintf("no END:%s before the BEGIN:%s at line %d", cur.name, comp, l.num))
			if comp == ical.CompCalendar {
				return nil, icsError(l.num, fmt.Sprintf("BEGIN:VCALENDAR inside the VCALENDAR begun at line %d", calAt))
			}
			if err := begin(l, comp); err != nil {
				return nil, err
			}
		case name == "BEGIN":
			if len(open) >= maxNesting {
				cur.breakWith(fmt.Sprintf("line %d: components nested more than %d deep", l.num, maxNesting))
			}
			cur.body = append(cur.body, icsLine{num: l.num, name: name, text: "BEGIN:" + comp, depth: len(open)})
			open = append(open, icsLine{num: l.num, name: comp})
		case name == "END" && comp == ical.CompCalendar:
			cur.breakWith(fmt.Sprintf("no END:%s before the END:VCALENDAR at line %d", cur.name, l.num))
			cur, open, cal = nil, nil, nil
		case name == "END" && len(open) > 0 && open[len(open)-1].name == comp:
			open = open[:len(open)-1]
			cur.body = append(cur.body, icsLine{num: l.num, name: name, text: "END:" + comp, depth: len(open)})
		case name == "END" && comp == cur.name:
			if len(open) > 0 {
				in := open[len(open)-1]
				cur.breakWith(fmt.Sprintf("line %d: END:%s while the %s begun at line %d is open", l.num, comp, in.name, in.num))
			}
			cur, open = nil, nil
		case name == "END":
			cur.breakWith(fmt.Sprintf("line %d: END:%s without its BEGIN", l.num, comp))
		default:
			if name == ical.PropUID && len(open) == 0 && cur.uid == "" {
				cur.uid = strings.TrimSpace(icalText(value))
			}
			cur.body = append(cur.body, icsLine{num: l.num, name: name, text: name + ":" + value, params: params, depth: len(open)})
		}
	}
	switch {
	case cur != nil:
		return nil, &FormatError{Format: "iCalendar", Line: lines[len(lines)-1].num,
			Msg: fmt.Sprintf("%s begun at line %d has no END: %v", cur.name, cur.line, ErrTruncated), Err: ErrTruncated}
	case cal != nil:
		return nil, &FormatError{Format: "iCalendar", Line: lines[len(lines)-1].num,
			Msg: fmt.Sprintf("VCALENDAR begun at line %d has no END: %v", calAt, ErrTruncated), Err: ErrTruncated}
	case !found:
		return nil, &FormatError{Format: "iCalendar", Msg: "no VCALENDAR in it"}
	}
	return comps, nil
}

func icsError(line int, msg string) error {
	return &FormatError{Format: "iCalendar", Line: line, Msg: msg}
}

// clip shortens a line quoted in a message.
func clip(s string) string {
	if len(s) <= 60 {
		return s
	}
	for i := 60; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// decode hands the component's lines, already checked, to go-ical.
func (c *icsComponent) decode() (comp *ical.Component, err error) {
	defer func() {
		if r := recover(); r != nil {
			comp, err = nil, fmt.Errorf("unreadable: %v", r)
		}
	}()
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nBEGIN:" + c.name + "\r\n")
	for _, l := range c.body {
		b.WriteString(l.text)
		b.WriteString("\r\n")
	}
	b.WriteString("END:" + c.name + "\r\nEND:VCALENDAR\r\n")
	cal, err := ical.NewDecoder(strings.NewReader(b.String())).Decode()
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "ical: "))
	}
	if len(cal.Children) != 1 || !attachParams(cal.Children[0], c.body) {
		return nil, errors.New("unreadable")
	}
	return cal.Children[0], nil
}

// attachParams gives each property go-ical decoded the parameters
// splitICalLine read from its line, walking both in file order.
func attachParams(root *ical.Component, body []icsLine) bool {
	type level struct {
		comp     *ical.Component
		children int
		seen     map[string]int
	}
	stack := []level{{comp: root, seen: map[string]int{}}}
	for _, l := range body {
		top := &stack[len(stack)-1]
		switch l.name {
		case "BEGIN":
			if top.children >= len(top.comp.Children) {
				return false
			}
			child := top.comp.Children[top.children]
			top.children++
			stack = append(stack, level{comp: child, seen: map[string]int{}})
		case "END":
			if len(stack) == 1 {
				return false
			}
			stack = stack[:len(stack)-1]
		default:
			i := top.seen[l.name]
			top.seen[l.name]++
			props := top.comp.Props[l.name]
			if i >= len(props) {
				return false
			}
			if l.params != nil {
				props[i].Params = l.params
			}
		}
	}
	return len(stack) == 1
}

type icsParser struct {
	zones map[string]*zoneEntry // by TZID
}

type zoneEntry struct {
	z    zone
	name string // the IANA name, when known
	err  error
}

// readTimezones builds the file's VTIMEZONEs. One that is unusable is
// reported, and its TZID is then looked up as an IANA name.
func (p *icsParser) readTimezones(comps []*icsComponent, c *collector) {
	seen := make(map[string]int)
	n := 0
	for _, comp := range comps {
		if comp.name != ical.CompTimezone {
			continue
		}
		if comp.broken != "" {
			c.refuse(comp.index, "", comp.where()+": "+comp.broken)
			continue
		}
		if n++; n > maxTimezones {
			c.refuse(comp.index, "", fmt.Sprintf("%s: more than %d VTIMEZONE components in one file", comp.where(), maxTimezones))
			continue
		}
		ic, err := comp.decode()
		if err != nil {
			c.refuse(comp.index, "", comp.where()+": "+err.Error())
			continue
		}
		tzid := ""
		if prop := ic.Props.Get(ical.PropTimezoneID); prop != nil {
			tzid = strings.TrimSpace(prop.Value)
		}
		if tzid == "" {
			c.refuse(comp.index, "", comp.where()+": no TZID")
			continue
		}
		if first, dup := seen[tzid]; dup {
			c.refuse(comp.index, "", fmt.Sprintf("%s: TZID %q is defined already by #%d", comp.where(), tzid, first))
			continue
		}
		seen[tzid] = comp.index
		vz, err := buildVTimezone(ic)
		if err != nil {
			c.refuse(comp.index, "", fmt.Sprintf("%s: TZID %q: %v", comp.where(), tzid, err))
			p.zones[tzid] = p.ianaEntry(tzid, fmt.Errorf("its VTIMEZONE is unusable (%v)", err))
			continue
		}
		name := vz.location
		if _, err := loadIANA(tzid); err == nil {
			name = tzid
		}
		p.zones[tzid] = &zoneEntry{z: vz, name: name}
	}
}

// ianaEntry looks tzid up as an IANA name; why is why the file's own
// definition was not used, for the message when the name is unknown too.
func (p *icsParser) ianaEntry(tzid string, why error) *zoneEntry {
	loc, err := loadIANA(tzid)
	if err != nil {
		return &zoneEntry{err: fmt.Errorf("TZID %q: %v, and it is not an IANA time zone name", tzid, why)}
	}
	return &zoneEntry{z: ianaZone{loc}, name: tzid}
}

func (p *icsParser) zoneFor(tzid string) (*zoneEntry, error) {
	e, ok := p.zones[tzid]
	if !ok {
		e = p.ianaEntry(tzid, errors.New("the file has no VTIMEZONE for it"))
		p.zones[tzid] = e
	}
	return e, e.err
}

// icsTime is a DATE or DATE-TIME value resolved.
type icsTime struct {
	t    time.Time // the instant; for a date, its midnight in UTC
	date bool
	zone string // the IANA zone a date-time was written in, when known
}

func (t icsTime) String() string {
	if t.date {
		return formatDate(t.t)
	}
	return formatDateTime(t.t)
}

// timeValue reads v, the value of prop or one entry of its list.
func (p *icsParser) timeValue(prop *ical.Prop, v string, cal *icsCalendar) (icsTime, error) {
	v = strings.TrimSpace(v)
	vt := strings.ToUpper(prop.Params.Get(ical.ParamValue))
	switch {
	case vt == string(ical.ValueDate) || (vt == "" && len(v) == len(icalDate)):
		t, err := time.ParseInLocation(icalDate, v, time.UTC)
		if err != nil {
			return icsTime{}, fmt.Errorf("%q is not an iCalendar date", v)
		}
		return icsTime{t: t, date: true}, nil
	case vt != "" && vt != string(ical.ValueDateTime):
		return icsTime{}, fmt.Errorf("VALUE=%s is not supported here", vt)
	}
	w, err := wallClock(v)
	if err != nil {
		return icsTime{}, err
	}
	if strings.HasSuffix(v, "Z") {
		return icsTime{t: w}, nil
	}
	if tzid := strings.TrimSpace(prop.Params.Get(ical.PropTimezoneID)); tzid != "" {
		e, err := p.zoneFor(tzid)
		if err != nil {
			return icsTime{}, err
		}
		return icsTime{t: resolveWall(w, e.z), zone: e.name}, nil
	}
	if cal.defaultZone != "" {
		if loc, err := loadIANA(cal.defaultZone); err == nil {
			return icsTime{t: resolveWall(w, ianaZone{loc}), zone: cal.defaultZone}, nil
		}
	}
	return icsTime{t: w}, nil
}

// propTime reads the single property name of c, if it has one.
func (p *icsParser) propTime(comp *icsComponent, c *ical.Component, name string) (*icsTime, error) {
	prop, err := single(comp, c, name)
	if prop == nil || err != nil {
		return nil, err
	}
	t, err := p.timeValue(prop, prop.Value, comp.cal)
	if err != nil {
		return nil, fmt.Errorf("%s (line %d): %v", name, comp.lineOf(name), err)
	}
	return &t, nil
}

func single(comp *icsComponent, c *ical.Component, name string) (*ical.Prop, error) {
	l := c.Props.Values(name)
	switch len(l) {
	case 0:
		return nil, nil
	case 1:
		return &l[0], nil
	default:
		return nil, fmt.Errorf("more than one %s (line %d)", name, comp.lineOf(name))
	}
}

func (p *icsParser) convert(comp *icsComponent, c *collector) {
	if comp.broken != "" {
		c.refuse(comp.index, comp.uid, comp.where()+": "+comp.broken)
		return
	}
	ic, err := comp.decode()
	if err != nil {
		c.refuse(comp.index, comp.uid, comp.where()+": "+err.Error())
		return
	}
	uid := comp.uid
	var kind Kind
	var s shape
	switch comp.name {
	case ical.CompEvent:
		kind = KindCalendar
		var e *Event
		e, err = p.event(comp, ic)
		if e != nil && e.RecurrenceID != "" && uid != "" {
			uid += "#" + e.RecurrenceID
		}
		s = e
	case ical.CompToDo:
		kind = KindTasks
		s, err = p.task(comp, ic)
	case ical.CompJournal:
		kind = KindMemos
		s, err = p.memo(ic)
	default:
		err = fmt.Errorf("%s components are not imported", comp.name)
	}
	if err != nil {
		c.refuse(comp.index, comp.uid, comp.where()+": "+err.Error())
		return
	}
	c.add(comp.index, kind, uid, s, comp.where())
}

func (p *icsParser) event(comp *icsComponent, c *ical.Component) (*Event, error) {
	start, err := p.propTime(comp, c, ical.PropDateTimeStart)
	if err != nil {
		return nil, err
	}
	if start == nil {
		return nil, errors.New("no DTSTART")
	}
	end, err := p.eventEnd(comp, c, *start)
	if err != nil {
		return nil, err
	}
	e := &Event{
		Summary:     propText(c, ical.PropSummary),
		Description: propText(c, ical.PropDescription),
		Location:    propText(c, ical.PropLocation),
		Start:       start.String(),
		End:         end.String(),
		AllDay:      start.date,
		Attendees:   []string{},
	}
	if !start.date {
		e.TimeZone = start.zone
	}
	switch rules := c.Props.Values(ical.PropRecurrenceRule); len(rules) {
	case 0:
	case 1:
		e.RRule = strings.TrimSpace(rules[0].Value)
		if err := checkRRule(e.RRule); err != nil {
			return nil, fmt.Errorf("RRULE (line %d): %v", comp.lineOf(ical.PropRecurrenceRule), strings.TrimPrefix(err.Error(), "rrule "))
		}
	default:
		return nil, fmt.Errorf("more than one RRULE (line %d)", comp.lineOf(ical.PropRecurrenceRule))
	}
	for _, prop := range c.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(prop.Value, ",") {
			t, err := p.timeValue(&prop, v, comp.cal)
			if err != nil {
				return nil, fmt.Errorf("EXDATE (line %d): %v", comp.lineOf(ical.PropExceptionDates), err)
			}
			e.ExDates = append(e.ExDates, t.String())
		}
	}
	rid, err := p.propTime(comp, c, ical.PropRecurrenceID)
	if err != nil {
		return nil, err
	}
	if rid != nil {
		e.RecurrenceID = rid.String()
	}
	if org := c.Props.Get(ical.PropOrganizer); org != nil {
		e.Organizer = calAddress(*org)
	}
	for _, a := range c.Props.Values(ical.PropAttendee) {
		e.Attendees = append(e.Attendees, calAddress(a))
	}
	return e, nil
}

// eventEnd is DTEND, or DTSTART plus DURATION, or the end RFC 5545 gives an
// event with neither: the next day for a date, the start for a date-time.
func (p *icsParser) eventEnd(comp *icsComponent, c *ical.Component, start icsTime) (icsTime, error) {
	end, err := p.propTime(comp, c, ical.PropDateTimeEnd)
	if err != nil {
		return icsTime{}, err
	}
	dur, err := single(comp, c, ical.PropDuration)
	if err != nil {
		return icsTime{}, err
	}
	startLine := comp.lineOf(ical.PropDateTimeStart)
	switch {
	case end != nil && dur != nil:
		return icsTime{}, fmt.Errorf("both DTEND (line %d) and DURATION (line %d)", comp.lineOf(ical.PropDateTimeEnd), comp.lineOf(ical.PropDuration))
	case end != nil:
		if end.date != start.date {
			return icsTime{}, fmt.Errorf("DTEND (line %d) is a %s but DTSTART (line %d) a %s",
				comp.lineOf(ical.PropDateTimeEnd), valueKind(end.date), startLine, valueKind(start.date))
		}
		if end.t.Before(start.t) {
			return icsTime{}, fmt.Errorf("DTEND (line %d) %s is before DTSTART (line %d) %s",
				comp.lineOf(ical.PropDateTimeEnd), end, startLine, start)
		}
		return *end, nil
	case dur != nil:
		d, err := dur.Duration()
		if err != nil {
			return icsTime{}, fmt.Errorf("DURATION (line %d): %v", comp.lineOf(ical.PropDuration), strings.TrimPrefix(err.Error(), "ical: "))
		}
		if d < 0 {
			return icsTime{}, fmt.Errorf("DURATION (line %d) is negative", comp.lineOf(ical.PropDuration))
		}
		if !start.date {
			return icsTime{t: start.t.Add(d)}, nil
		}
		if d%(24*time.Hour) != 0 {
			return icsTime{}, fmt.Errorf("DURATION (line %d) of an all-day event is not whole days", comp.lineOf(ical.PropDuration))
		}
		return icsTime{t: start.t.AddDate(0, 0, int(d/(24*time.Hour))), date: true}, nil
	case start.date:
		return icsTime{t: start.t.AddDate(0, 0, 1), date: true}, nil
	default:
		return start, nil
	}
}

func valueKind(date bool) string {
	if date {
		return "date"
	}
	return "date-time"
}

func (p *icsParser) task(comp *icsComponent, c *ical.Component) (*Task, error) {
	t := &Task{Summary: propText(c, ical.PropSummary)}
	if blank(t.Summary) {
		return nil, errors.New("no SUMMARY: a task needs one")
	}
	start, err := p.propTime(comp, c, ical.PropDateTimeStart)
	if err != nil {
		return nil, err
	}
	due, err := p.propTime(comp, c, ical.PropDue)
	if err != nil {
		return nil, err
	}
	dur, err := single(comp, c, ical.PropDuration)
	if err != nil {
		return nil, err
	}
	switch {
	case due != nil && dur != nil:
		return nil, fmt.Errorf("both DUE (line %d) and DURATION (line %d)", comp.lineOf(ical.PropDue), comp.lineOf(ical.PropDuration))
	case dur != nil && start == nil:
		return nil, fmt.Errorf("DURATION (line %d) without DTSTART", comp.lineOf(ical.PropDuration))
	case dur != nil:
		d, err := dur.Duration()
		if err != nil || d < 0 {
			return nil, fmt.Errorf("DURATION (line %d) %q is not a positive duration", comp.lineOf(ical.PropDuration), dur.Value)
		}
		due = &icsTime{t: start.t.Add(d), date: start.date && d%(24*time.Hour) == 0}
	}
	if due != nil && start != nil && due.t.Before(start.t) {
		return nil, fmt.Errorf("DUE (line %d) %s is before DTSTART (line %d) %s",
			comp.lineOf(ical.PropDue), due, comp.lineOf(ical.PropDateTimeStart), start)
	}
	if due != nil {
		t.Due = due.String()
	}
	status := strings.ToUpper(strings.TrimSpace(propText(c, ical.PropStatus)))
	pct := strings.TrimSpace(propText(c, ical.PropPercentComplete))
	t.Completed = c.Props.Get(ical.PropCompleted) != nil || status == "COMPLETED" || pct == "100"
	if prio := strings.TrimSpace(propText(c, ical.PropPriority)); prio != "" {
		n, err := strconv.Atoi(prio)
		if err != nil || n < 0 || n > 9 {
			return nil, fmt.Errorf("PRIORITY (line %d) %q is not a number from 0 to 9", comp.lineOf(ical.PropPriority), prio)
		}
		t.Priority = n
	}
	return t, nil
}

func (p *icsParser) memo(c *ical.Component) (*Memo, error) {
	m := &Memo{Title: propText(c, ical.PropSummary)}
	var parts []string
	for _, d := range c.Props.Values(ical.PropDescription) {
		parts = append(parts, icalText(d.Value))
	}
	m.Body = strings.Join(parts, "\n\n")
	if blank(m.Title) && blank(m.Body) {
		return nil, errors.New("no SUMMARY or DESCRIPTION: a memo needs one")
	}
	return m, nil
}

// propText is the unescaped text of c's first property name.
func propText(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return icalText(p.Value)
	}
	return ""
}

// icalText unescapes an iCalendar TEXT value. Unlike go-ical's Text, it
// keeps an unescaped comma (some exporters write them) and reads an unknown
// escape as the character escaped, rather than failing the event over a
// misplaced backslash.
func icalText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// calAddress writes an ORGANIZER or ATTENDEE as "Name <address>".
func calAddress(p ical.Prop) string {
	addr := strings.TrimSpace(p.Value)
	if len(addr) >= 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	cn := strings.TrimSpace(p.Params.Get(ical.ParamCommonName))
	switch {
	case cn == "":
		return addr
	case addr == "":
		return cn
	default:
		return cn + " <" + addr + ">"
	}
}
