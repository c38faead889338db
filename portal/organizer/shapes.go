package organizer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// The shapes below are Item.Data for each kind. A JSON import is an array
// of objects in the shape of its kind; fields not listed are refused.
//
// Times are RFC 3339: a date-time in UTC ("2024-03-11T08:30:00Z"), or a
// full-date ("2024-03-15") where the source gave a date without a time (an
// all-day event, a task due on a day), because such a date is the same day
// in every time zone. A JSON import may give a date-time at any offset; it
// is stored in UTC.

// Event is Item.Data for KindCalendar.
//
//	{"summary": "Weekly sync", "description": "", "location": "Room 4",
//	 "start": "2024-03-11T08:30:00Z", "end": "2024-03-11T09:00:00Z",
//	 "all_day": false, "timezone": "Europe/Berlin",
//	 "rrule": "FREQ=WEEKLY;BYDAY=MO", "exdates": ["2024-04-01T07:30:00Z"],
//	 "organizer": "Alice Example <alice@example.com>",
//	 "attendees": ["Bob Builder <bob@example.com>"]}
//
// start is required. end is exclusive; when an import omits it, it is start
// for a timed event and the next day for an all-day one. An all-day event
// has full-dates in start, end and exdates. rrule is an RFC 5545 RRULE
// value, to be expanded from start in timezone (the IANA zone the event was
// scheduled in, when the source names one), so a weekly 09:30 stays 09:30
// across daylight-saving changes; without timezone, in UTC. exdates are the
// starts of cancelled occurrences; recurrence_id is set on an event that
// replaces the occurrence of the same series starting then. organizer and
// attendees read "Name <address>", or just the address.
type Event struct {
	Summary      string   `json:"summary"`
	Description  string   `json:"description"`
	Location     string   `json:"location"`
	Start        string   `json:"start"`
	End          string   `json:"end"`
	AllDay       bool     `json:"all_day"`
	TimeZone     string   `json:"timezone,omitempty"`
	RRule        string   `json:"rrule"`
	ExDates      []string `json:"exdates,omitempty"`
	RecurrenceID string   `json:"recurrence_id,omitempty"`
	Organizer    string   `json:"organizer"`
	Attendees    []string `json:"attendees"`
}

// Contact is Item.Data for KindContacts.
//
//	{"full_name": "John Doe", "given": "John", "family": "Doe",
//	 "emails": ["john.doe@contoso.com"], "phones": ["+1 425 555 0100"],
//	 "org": "Contoso Ltd.", "title": "Account Manager"}
//
// full_name, or given or family, is required; a missing full_name is made
// of given and family. The preferred email and phone come first.
type Contact struct {
	FullName string   `json:"full_name"`
	Given    string   `json:"given"`
	Family   string   `json:"family"`
	Emails   []string `json:"emails"`
	Phones   []string `json:"phones"`
	Org      string   `json:"org"`
	Title    string   `json:"title"`
}

// Task is Item.Data for KindTasks.
//
//	{"summary": "Send report", "due": "2024-03-15", "completed": false, "priority": 1}
//
// summary is required. due is "" when the task has none. priority is
// iCalendar's: 0 undefined, 1 highest to 9 lowest.
type Task struct {
	Summary   string `json:"summary"`
	Due       string `json:"due"`
	Completed bool   `json:"completed"`
	Priority  int    `json:"priority"`
}

// Memo is Item.Data for KindMemos.
//
//	{"title": "Parking", "body": "Level 3, space 42"}
//
// title or body is required.
type Memo struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Message is Item.Data for KindMessages.
//
//	{"from": "Alice <alice@example.com>", "to": ["bob@example.com"],
//	 "subject": "Welcome", "date": "2024-03-01T09:00:00Z", "body": "Hello"}
//
// subject or body is required; date is "" when unknown.
type Message struct {
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Date    string   `json:"date"`
	Body    string   `json:"body"`
}

// Option is Item.Data for KindOptions: one device setting.
//
//	{"name": "owner_name", "value": "Alice Example"}
//
// name is required and identifies the option: importing it again with
// another value replaces it.
type Option struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func (e *Event) title() string { return e.Summary }

func (e *Event) normalize() error {
	if blank(e.Start) {
		return errors.New("start is required")
	}
	start, st, err := eventTime("start", e.Start, e.AllDay)
	if err != nil {
		return err
	}
	e.Start = start
	switch {
	case blank(e.End) && e.AllDay:
		e.End = formatDate(st.AddDate(0, 0, 1))
	case blank(e.End):
		e.End = e.Start
	default:
		end, et, err := eventTime("end", e.End, e.AllDay)
		if err != nil {
			return err
		}
		if et.Before(st) {
			return fmt.Errorf("end %s is before start %s", end, start)
		}
		e.End = end
	}
	if e.TimeZone != "" {
		if _, err := loadIANA(e.TimeZone); err != nil {
			return fmt.Errorf("timezone: %v", err)
		}
	}
	if e.RRule != "" {
		if err := checkRRule(e.RRule); err != nil {
			return err
		}
	}
	for i, x := range e.ExDates {
		s, _, _, err := anyTime(x)
		if err != nil {
			return fmt.Errorf("exdates[%d]: %v", i, err)
		}
		e.ExDates[i] = s
	}
	if e.RecurrenceID != "" {
		s, _, _, err := anyTime(e.RecurrenceID)
		if err != nil {
			return fmt.Errorf("recurrence_id: %v", err)
		}
		e.RecurrenceID = s
	}
	e.Attendees = nonBlank(e.Attendees)
	return nil
}

func (c *Contact) title() string {
	if !blank(c.FullName) {
		return c.FullName
	}
	return strings.TrimSpace(c.Given + " " + c.Family)
}

func (c *Contact) normalize() error {
	if blank(c.FullName) && blank(c.Given) && blank(c.Family) {
		return errors.New("full_name, or given or family, is required")
	}
	if blank(c.FullName) {
		c.FullName = strings.TrimSpace(strings.TrimSpace(c.Given) + " " + strings.TrimSpace(c.Family))
	}
	c.Emails = nonBlank(c.Emails)
	c.Phones = nonBlank(c.Phones)
	return nil
}

func (t *Task) title() string { return t.Summary }

func (t *Task) normalize() error {
	if blank(t.Summary) {
		return errors.New("summary is required")
	}
	if t.Due != "" {
		s, _, _, err := anyTime(t.Due)
		if err != nil {
			return fmt.Errorf("due: %v", err)
		}
		t.Due = s
	}
	if t.Priority < 0 || t.Priority > 9 {
		return fmt.Errorf("priority %d is not between 0 and 9", t.Priority)
	}
	return nil
}

func (m *Memo) title() string {
	if !blank(m.Title) {
		return m.Title
	}
	return firstLine(m.Body)
}

func (m *Memo) normalize() error {
	if blank(m.Title) && blank(m.Body) {
		return errors.New("title or body is required")
	}
	return nil
}

func (m *Message) title() string {
	if !blank(m.Subject) {
		return m.Subject
	}
	return firstLine(m.Body)
}

func (m *Message) normalize() error {
	if blank(m.Subject) && blank(m.Body) {
		return errors.New("subject or body is required")
	}
	if m.Date != "" {
		t, err := time.Parse(time.RFC3339Nano, m.Date)
		if err != nil {
			return fmt.Errorf("date %q is not an RFC 3339 date-time", m.Date)
		}
		m.Date = formatDateTime(t)
	}
	m.To = nonBlank(m.To)
	return nil
}

func (o *Option) title() string { return o.Name }
func (o *Option) key() string   { return o.Name }

func (o *Option) normalize() error {
	if blank(o.Name) {
		return errors.New("name is required")
	}
	return nil
}

const dateLayout = "2006-01-02"

func formatDate(t time.Time) string     { return t.Format(dateLayout) }
func formatDateTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// eventTime reads an event's start or end: a full-date for an all-day
// event, a date-time otherwise.
func eventTime(field, s string, allDay bool) (string, time.Time, error) {
	if allDay {
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 full-date (YYYY-MM-DD), as an all-day event needs", field, s)
		}
		return formatDate(t), t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 date-time", field, s)
	}
	return formatDateTime(t), t, nil
}

// anyTime reads a full-date or a date-time.
func anyTime(s string) (string, time.Time, bool, error) {
	if t, err := time.Parse(dateLayout, s); err == nil {
		return formatDate(t), t, true, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("%q is neither an RFC 3339 full-date nor a date-time", s)
	}
	return formatDateTime(t), t, false, nil
}

// checkRRule refuses a recurrence rule a device could not expand.
func checkRRule(rule string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rrule %q: unreadable", rule)
		}
	}()
	props := make(ical.Props)
	p := ical.NewProp(ical.PropRecurrenceRule)
	p.Value = rule
	props.Set(p)
	if _, err := props.RecurrenceRule(); err != nil {
		return fmt.Errorf("rrule %q: %v", rule, strings.TrimPrefix(err.Error(), "ical: "))
	}
	return nil
}

// nonBlank trims the entries of l and drops the blank ones; it never
// returns nil, so the JSON has [] rather than null.
func nonBlank(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
