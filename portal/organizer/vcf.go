package organizer

import (
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// ParseVCF reads a vCard 3.0 or 4.0 file (RFC 2426, RFC 6350: one or more
// cards, as Outlook, Google Contacts and CardDAV servers export them) into
// KindContacts items. Parameters without a name ("TEL;WORK;VOICE:") are
// read as TYPE, as Outlook means them. Properties outside the Contact shape
// (addresses, photos, notes) are not kept.
//
// A card that cannot be imported (no FN or N, a malformed line, vCard 2.1, a
// contact group, a name in another charset than UTF-8, a UID seen before) is refused alone and reported in
// *ImportErrors, nil when there is none, with the good cards returned. The
// error result is for the input as a whole: a *FormatError for a file that
// is not vCard or is truncated, ErrInputTooLarge, ErrTooManyItems or a read
// error; no items come with it.
func ParseVCF(r io.Reader) ([]Item, *ImportErrors, error) {
	data, err := readInput(r)
	if err != nil {
		return nil, nil, err
	}
	cards, err := splitCards(unfold(data))
	if err != nil {
		return nil, nil, err
	}
	c := newCollector()
	for _, card := range cards {
		card.convert(c)
	}
	return c.result()
}

// vcfCard is one card of the file, as lines.
type vcfCard struct {
	index  int
	line   int // of its BEGIN
	body   []icsLine
	broken string
	uid    string
}

func (c *vcfCard) where() string { return fmt.Sprintf("vCard at line %d", c.line) }

func (c *vcfCard) breakWith(reason string) {
	if c.broken == "" {
		c.broken = reason
	}
}

// splitCards cuts the lines into cards. A card with a malformed line is
// marked broken; text outside a card, or a file ending inside one, makes the
// whole file untrustworthy.
func splitCards(lines []contentLine) ([]*vcfCard, error) {
	var cards []*vcfCard
	var cur *vcfCard
	for _, l := range lines {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		if !utf8.ValidString(l.text) {
			if cur == nil {
				return nil, vcfError(l.num, "not valid UTF-8 text")
			}
			cur.breakWith(fmt.Sprintf("line %d is not valid UTF-8 text", l.num))
			continue
		}
		group, name, params, value, err := splitVCardLine(l.text)
		if err != nil {
			if cur == nil {
				return nil, vcfError(l.num, err.Error())
			}
			cur.breakWith(fmt.Sprintf("line %d: %v", l.num, err))
			continue
		}
		isCard := strings.EqualFold(strings.TrimSpace(value), "VCARD")
		switch {
		case cur == nil && name == "BEGIN" && isCard:
		case cur == nil:
			return nil, vcfError(l.num, fmt.Sprintf("expected BEGIN:VCARD, found %q", clip(l.text)))
		case name == "BEGIN" && isCard:
			cur.breakWith(fmt.Sprintf("no END:VCARD before the BEGIN:VCARD at line %d", l.num))
		case name == "END" && isCard:
			cur = nil
			continue
		case name == "BEGIN" || name == "END":
			cur.breakWith(fmt.Sprintf("line %d: %s:%s inside a vCard", l.num, name, clip(value)))
			continue
		default:
			if name == vcard.FieldUID && cur.uid == "" {
				cur.uid = strings.TrimSpace(value)
			}
			text := name
			if group != "" {
				text = group + "." + name
			}
			for _, p := range params {
				text += ";" + p
			}
			cur.body = append(cur.body, icsLine{num: l.num, name: name, text: text + ":" + value})
			continue
		}
		// A BEGIN:VCARD.
		if len(cards) >= MaxItems {
			return nil, ErrTooManyItems
		}
		cur = &vcfCard{index: len(cards), line: l.num}
		cards = append(cards, cur)
	}
	switch {
	case cur != nil:
		return nil, &FormatError{Format: "vCard", Line: lines[len(lines)-1].num,
			Msg: fmt.Sprintf("the vCard begun at line %d has no END:VCARD: %v", cur.line, ErrTruncated), Err: ErrTruncated}
	case len(cards) == 0:
		return nil, &FormatError{Format: "vCard", Msg: "no vCard in it"}
	}
	return cards, nil
}

func vcfError(line int, msg string) error {
	return &FormatError{Format: "vCard", Line: line, Msg: msg}
}

// decode hands the card's checked lines to go-vcard, and makes sure it kept
// every one: go-vcard skips a line it cannot read without saying so.
func (c *vcfCard) decode() (card vcard.Card, err error) {
	defer func() {
		if r := recover(); r != nil {
			card, err = nil, fmt.Errorf("unreadable: %v", r)
		}
	}()
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\n")
	for _, l := range c.body {
		b.WriteString(l.text)
		b.WriteString("\r\n")
	}
	b.WriteString("END:VCARD\r\n")
	card, err = vcard.NewDecoder(strings.NewReader(b.String())).Decode()
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "vcard: "))
	}
	want := make(map[string]int)
	for _, l := range c.body {
		want[l.name]++
	}
	for _, l := range c.body {
		if len(card[l.name]) < want[l.name] {
			return nil, fmt.Errorf("line %d: %s could not be read", l.num, l.name)
		}
	}
	return card, nil
}

func (c *vcfCard) convert(col *collector) {
	if c.broken != "" {
		col.refuse(c.index, c.uid, c.where()+": "+c.broken)
		return
	}
	card, err := c.decode()
	if err != nil {
		col.refuse(c.index, c.uid, c.where()+": "+err.Error())
		return
	}
	ct, err := contactOf(card)
	if err != nil {
		col.refuse(c.index, c.uid, c.where()+": "+err.Error())
		return
	}
	col.add(c.index, KindContacts, c.uid, ct, c.where())
}

func contactOf(card vcard.Card) (*Contact, error) {
	switch v := strings.TrimSpace(card.Value(vcard.FieldVersion)); v {
	case "3.0", "4.0", "":
	case "2.1":
		return nil, errors.New("vCard 2.1 is not supported: export the contacts as vCard 3.0 or 4.0")
	default:
		return nil, fmt.Errorf("VERSION %q is neither 3.0 nor 4.0", v)
	}
	if card.Kind() == vcard.KindGroup || strings.EqualFold(card.Value("X-ADDRESSBOOKSERVER-KIND"), "group") {
		return nil, errors.New("contact groups are not imported")
	}
	var bad error
	value := func(f *vcard.Field) string {
		if f == nil {
			return ""
		}
		v, err := fieldValue(f)
		if err != nil && bad == nil {
			bad = err
		}
		return v
	}
	preferred := func(k string) string { return value(card.Preferred(k)) }
	ct := &Contact{
		FullName: vcardText(preferred(vcard.FieldFormattedName)),
		Title:    vcardText(preferred(vcard.FieldTitle)),
	}
	if n := preferred(vcard.FieldName); n != "" {
		parts := structured(n)
		ct.Family = strings.TrimSpace(part(parts, 0))
		ct.Given = strings.TrimSpace(part(parts, 1))
	}
	if org := preferred(vcard.FieldOrganization); org != "" {
		ct.Org = strings.TrimSpace(part(structured(org), 0))
	}
	for _, f := range byPreference(card[vcard.FieldEmail]) {
		ct.Emails = append(ct.Emails, vcardText(value(f)))
	}
	for _, f := range byPreference(card[vcard.FieldTelephone]) {
		tel := strings.TrimSpace(value(f))
		if len(tel) >= 4 && strings.EqualFold(tel[:4], "tel:") {
			tel = tel[4:]
		}
		ct.Phones = append(ct.Phones, tel)
	}
	if bad != nil {
		return nil, bad
	}
	if blank(ct.FullName) && blank(ct.Given) && blank(ct.Family) {
		return nil, errors.New("no FN or N: a contact needs a name")
	}
	return ct, nil
}

// fieldValue is f's value, decoded when it is quoted-printable (as Outlook
// still writes some values) and checked to be UTF-8.
func fieldValue(f *vcard.Field) (string, error) {
	v := f.Value
	if strings.EqualFold(f.Params.Get("ENCODING"), "QUOTED-PRINTABLE") {
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(v)))
		if err != nil {
			return "", fmt.Errorf("%q is not valid quoted-printable", clip(v))
		}
		v = string(b)
	}
	if cs := f.Params.Get("CHARSET"); cs != "" && !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
		return "", fmt.Errorf("CHARSET=%s is not supported: export the contacts as UTF-8", cs)
	}
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("%q is not valid UTF-8 text", clip(v))
	}
	return v, nil
}

// byPreference orders fields most preferred first, as a device shows the
// first address as the primary one: PREF=1 (vCard 4.0) or TYPE=pref (3.0),
// then the others in file order.
func byPreference(fields []*vcard.Field) []*vcard.Field {
	rank := func(f *vcard.Field) int {
		if pref := f.Params.Get(vcard.ParamPreferred); pref != "" {
			if n, err := strconv.Atoi(pref); err == nil {
				return n
			}
		}
		if f.Params.HasType("pref") {
			return 1
		}
		return 101
	}
	out := append([]*vcard.Field(nil), fields...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// structured splits a structured value (N, ORG) at the semicolons that are
// not escaped, and unescapes the parts.
func structured(v string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ';':
			parts = append(parts, vcardText(v[start:i]))
			start = i + 1
		}
	}
	return append(parts, vcardText(v[start:]))
}

func part(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// vcardText finishes unescaping a value go-vcard read: it handles "\\",
// "\n" and "\,", and leaves "\;", "\N" and "\:".
func vcardText(v string) string {
	return strings.TrimSpace(strings.NewReplacer(`\;`, ";", `\N`, "\n", `\:`, ":").Replace(v))
}
