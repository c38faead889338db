package organizer

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA names must resolve on a server without /usr/share/zoneinfo

	"github.com/emersion/go-ical"
)

// zone gives the UTC offset, in seconds, in force at an instant.
type zone interface {
	offsetAt(u time.Time) int
}

type ianaZone struct{ loc *time.Location }

func (z ianaZone) offsetAt(u time.Time) int {
	_, off := u.In(z.loc).Zone()
	return off
}

// loadIANA loads an IANA time zone by name. "Local" and "" are refused: they
// would mean the server's zone, which has nothing to do with the data.
func loadIANA(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	return loc, nil
}

// resolveWall turns a wall-clock time in z (its fields held in a UTC
// time.Time) into an instant. As RFC 5545 section 3.3.5 says, a time that
// occurs twice when clocks go back is the first one, and a time skipped when
// they go forward is read with the offset from before the gap.
func resolveWall(wall time.Time, z zone) time.Time {
	before := z.offsetAt(wall.Add(-24 * time.Hour))
	after := z.offsetAt(wall.Add(24 * time.Hour))
	ub := wall.Add(-time.Duration(before) * time.Second)
	if before == after {
		return ub
	}
	ua := wall.Add(-time.Duration(after) * time.Second)
	okB := z.offsetAt(ub) == before
	okA := z.offsetAt(ua) == after
	switch {
	case okB && okA:
		if ua.Before(ub) {
			return ua
		}
		return ub
	case okA:
		return ua
	default:
		return ub
	}
}

// vtimezone is a VTIMEZONE component turned into the list of its offset
// changes.
type vtimezone struct {
	initial     int // offset before the first transition
	transitions []transition
	location    string // X-LIC-LOCATION when it names an IANA zone
}

type transition struct {
	at     time.Time
	offset int
}

func (z *vtimezone) offsetAt(u time.Time) int {
	i := sort.Search(len(z.transitions), func(i int) bool { return z.transitions[i].at.After(u) })
	if i == 0 {
		return z.initial
	}
	return z.transitions[i-1].offset
}

// Transitions are computed up to the end of vtimezoneHorizon; a time after
// it keeps the last offset. maxOnsets bounds the work one observance can ask
// for (Outlook starts its rules in 1601: 600 years of yearly onsets).
const (
	vtimezoneHorizon = 2200
	rebaseYear       = vtimezoneHorizon - 280
	maxOnsets        = 1000
)

// buildVTimezone reads the STANDARD and DAYLIGHT observances of a VTIMEZONE:
// each starts at DTSTART and again at every RRULE and RDATE occurrence,
// given in the wall time of the offset it replaces (TZOFFSETFROM).
func buildVTimezone(c *ical.Component) (z *vtimezone, err error) {
	defer func() {
		if r := recover(); r != nil {
			z, err = nil, fmt.Errorf("unreadable: %v", r)
		}
	}()
	z = &vtimezone{}
	if loc, err := c.Props.Text("X-LIC-LOCATION"); err == nil && loc != "" {
		if _, err := loadIANA(loc); err == nil {
			z.location = loc
		}
	}
	type onsetFrom struct {
		at   time.Time
		from int
	}
	var first *onsetFrom
	for _, obs := range c.Children {
		if obs.Name != ical.CompTimezoneStandard && obs.Name != ical.CompTimezoneDaylight {
			continue
		}
		from, err := offsetProp(obs, ical.PropTimezoneOffsetFrom)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", obs.Name, err)
		}
		to, err := offsetProp(obs, ical.PropTimezoneOffsetTo)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", obs.Name, err)
		}
		onsets, err := observanceOnsets(obs, from)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", obs.Name, err)
		}
		for _, at := range onsets {
			z.transitions = append(z.transitions, transition{at: at, offset: to})
			if first == nil || at.Before(first.at) {
				first = &onsetFrom{at: at, from: from}
			}
		}
	}
	if first == nil {
		return nil, errors.New("no STANDARD or DAYLIGHT observance")
	}
	z.initial = first.from
	sort.SliceStable(z.transitions, func(i, j int) bool { return z.transitions[i].at.Before(z.transitions[j].at) })
	return z, nil
}

func observanceOnsets(obs *ical.Component, from int) ([]time.Time, error) {
	loc := time.FixedZone("", from)
	dtstart := obs.Props.Get(ical.PropDateTimeStart)
	if dtstart == nil {
		return nil, errors.New("no DTSTART")
	}
	start, err := wallClock(dtstart.Value)
	if err != nil {
		return nil, fmt.Errorf("DTSTART: %v", err)
	}
	onsets := []time.Time{wallIn(start, dtstart.Value, from)}
	if rule := obs.Props.Get(ical.PropRecurrenceRule); rule != nil {
		if freq := ruleFreq(rule.Value); freq != "YEARLY" {
			// Real zones change offsets at most a few times a year; a
			// finer rule is a mistake, or an attempt to make us spin.
			return nil, fmt.Errorf("RRULE FREQ=%s: only yearly rules are accepted in a VTIMEZONE", freq)
		}
		set, err := ruleFrom(obs, start, dtstart.Value, rule.Value).RecurrenceSet(loc)
		if err != nil {
			return nil, fmt.Errorf("RRULE: %v", strings.TrimPrefix(err.Error(), "ical: "))
		}
		next := set.Iterator()
		for n := 0; ; n++ {
			t, ok := next()
			if !ok || t.Year() > vtimezoneHorizon {
				break
			}
			if n >= maxOnsets {
				return nil, fmt.Errorf("RRULE has more than %d onsets before %d", maxOnsets, vtimezoneHorizon)
			}
			onsets = append(onsets, t.UTC())
		}
	}
	for _, rdate := range obs.Props.Values(ical.PropRecurrenceDates) {
		if strings.EqualFold(rdate.Params.Get(ical.ParamValue), "PERIOD") {
			return nil, errors.New("RDATE periods are not supported")
		}
		for _, v := range strings.Split(rdate.Value, ",") {
			w, err := wallClock(v)
			if err != nil {
				return nil, fmt.Errorf("RDATE: %v", err)
			}
			if len(onsets) >= maxOnsets {
				return nil, fmt.Errorf("more than %d RDATE onsets", maxOnsets)
			}
			onsets = append(onsets, wallIn(w, v, from))
		}
	}
	return onsets, nil
}

// ruleFrom is obs, or a copy of it whose DTSTART is moved forward by whole
// years to rebaseYear: rrule-go measures occurrences from DTSTART with a
// time.Duration, which overflows after 292 years, so Outlook's rules that
// start in 1601 would stop in 1893. A yearly rule without COUNT has the
// same onsets after the move.
func ruleFrom(obs *ical.Component, start time.Time, value, rule string) *ical.Component {
	if start.Year() >= rebaseYear || strings.HasSuffix(value, "Z") || strings.Contains(strings.ToUpper(rule), "COUNT=") {
		return obs
	}
	y := rebaseYear
	for time.Date(y, start.Month(), start.Day(), 0, 0, 0, 0, time.UTC).Day() != start.Day() {
		y++ // a DTSTART on 29 February needs a leap year
	}
	moved := time.Date(y, start.Month(), start.Day(), start.Hour(), start.Minute(), start.Second(), 0, time.UTC)
	props := make(ical.Props, len(obs.Props))
	for k, v := range obs.Props {
		props[k] = v
	}
	p := ical.NewProp(ical.PropDateTimeStart)
	p.Value = moved.Format(icalDateTime)
	props.Set(p)
	return &ical.Component{Name: obs.Name, Props: props}
}

// wallIn is the instant of wall time w at a fixed offset, or w itself when
// the value was written in UTC.
func wallIn(w time.Time, value string, offset int) time.Time {
	if strings.HasSuffix(value, "Z") {
		return w
	}
	return w.Add(-time.Duration(offset) * time.Second)
}

func ruleFreq(rule string) string {
	for _, part := range strings.Split(rule, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "FREQ") {
			return strings.ToUpper(v)
		}
	}
	return ""
}

// offsetProp reads a UTC offset such as "+0100", "-0500" or "+053000".
func offsetProp(c *ical.Component, name string) (int, error) {
	p := c.Props.Get(name)
	if p == nil {
		return 0, fmt.Errorf("no %s", name)
	}
	v := strings.TrimSpace(p.Value)
	if (len(v) != 5 && len(v) != 7) || (v[0] != '+' && v[0] != '-') {
		return 0, fmt.Errorf("%s %q is not a UTC offset", name, p.Value)
	}
	var parts [3]int
	for i := 0; 1+2*i < len(v); i++ {
		n, err := strconv.Atoi(v[1+2*i : 3+2*i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s %q is not a UTC offset", name, p.Value)
		}
		parts[i] = n
	}
	if parts[0] > 23 || parts[1] > 59 || parts[2] > 59 {
		return 0, fmt.Errorf("%s %q is not a UTC offset", name, p.Value)
	}
	off := parts[0]*3600 + parts[1]*60 + parts[2]
	if v[0] == '-' {
		off = -off
	}
	return off, nil
}

// Layouts of iCalendar DATE and DATE-TIME values.
const (
	icalDate        = "20060102"
	icalDateTime    = "20060102T150405"
	icalDateTimeUTC = "20060102T150405Z"
)

// wallClock reads a DATE-TIME value's fields (a trailing Z is accepted and
// left to the caller) into a UTC time.Time.
func wallClock(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	layout := icalDateTime
	if strings.HasSuffix(v, "Z") {
		layout = icalDateTimeUTC
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an iCalendar date-time", v)
	}
	return t, nil
}
