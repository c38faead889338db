package organizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of organizer data an item belongs to. A device asks for
// one kind at a time, in SyncOrder.
type Kind string

const (
	KindCalendar Kind = "calendar"
	KindContacts Kind = "contacts"
	KindTasks    Kind = "tasks"
	KindMemos    Kind = "memos"
	KindMessages Kind = "messages"
	KindOptions  Kind = "options"
)

// SyncOrder is the order in which a slow synchronisation delivers the
// kinds: calendar first, as activation demands.
var SyncOrder = []Kind{KindCalendar, KindContacts, KindTasks, KindMemos, KindMessages, KindOptions}

// Valid reports whether k is one of the kinds in SyncOrder.
func (k Kind) Valid() bool {
	for _, s := range SyncOrder {
		if k == s {
			return true
		}
	}
	return false
}

// Item is one piece of organizer data as the store keeps it and a device
// receives it.
type Item struct {
	Kind Kind `json:"kind"`
	// UID is stable per user and kind: the source's own (iCalendar UID,
	// vCard UID) or, when the source has none, "sha256:" and the SHA-256 of
	// the item's kind and Data, so importing the same content twice yields
	// the same UID. An option's UID is the SHA-256 of its name, so a new
	// value replaces the old one. A source UID longer than MaxUIDBytes is
	// replaced by "sha256:" and its SHA-256. An occurrence that overrides one
	// instance of a recurring event has UID "<UID>#<recurrence_id>".
	UID string `json:"uid"`
	// Summary is a one-line title for lists: the event's summary, the
	// contact's formatted name, the task's summary, the memo's title (or the
	// first line of its body), the message's subject (or the first line of
	// its body), the option's name.
	Summary string `json:"summary"`
	// Data is the item as JSON, in the shape of Event, Contact, Task, Memo,
	// Message or Option according to Kind.
	Data json.RawMessage `json:"data"`
}

// Limits of one import. An input over MaxInputBytes or with more than
// MaxItems items is refused whole; an item whose Data would exceed
// MaxItemBytes is refused alone.
const (
	MaxInputBytes   = 32 << 20
	MaxItems        = 50000
	MaxItemBytes    = 64 << 10
	MaxUIDBytes     = 255
	maxSummaryRunes = 200
)

var (
	// ErrInputTooLarge is returned for an import larger than MaxInputBytes.
	ErrInputTooLarge = fmt.Errorf("organizer: the import is larger than %d MiB", MaxInputBytes>>20)
	// ErrTooManyItems is returned for an import with more than MaxItems items.
	ErrTooManyItems = fmt.Errorf("organizer: the import has more than %d items", MaxItems)
	// ErrTruncated is wrapped by the FormatError of an input that ends
	// inside a component, a card or a JSON value: an upload cut short.
	ErrTruncated = errors.New("the file ends too early (truncated?)")
)

// FormatError reports an input that is not in the expected format at all,
// or that is cut short, so none of it is imported.
type FormatError struct {
	Format string // "iCalendar", "vCard" or "JSON"
	Line   int    // 1-based line of the input at fault; 0 when it is the whole input
	Msg    string
	Err    error // ErrTruncated, or nil
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("organizer: not a valid %s file: line %d: %s", e.Format, e.Line, e.Msg)
	}
	return fmt.Sprintf("organizer: not a valid %s file: %s", e.Format, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

// ImportError is one component, card or JSON item that was refused while
// the others were imported.
type ImportError struct {
	// Index is the 0-based position in the input: of the component inside
	// VCALENDAR (VTIMEZONE included) for iCalendar, of the card for vCard,
	// of the array element for JSON.
	Index int
	// UID is the source's UID when it had one.
	UID string
	// Reason names the component and its line, and what is wrong, e.g.
	// "VEVENT at line 40: no DTSTART".
	Reason string
}

func (e ImportError) Error() string {
	if e.UID != "" {
		return fmt.Sprintf("#%d (UID %s): %s", e.Index, e.UID, e.Reason)
	}
	return fmt.Sprintf("#%d: %s", e.Index, e.Reason)
}

// ImportErrors collects every refused component of one import, in input
// order. The parsers return it alongside the items that were good.
type ImportErrors struct {
	Errors []ImportError
}

func (e *ImportErrors) Error() string {
	switch len(e.Errors) {
	case 0:
		return "organizer: no item refused"
	case 1:
		return "organizer: 1 item refused: " + e.Errors[0].Error()
	default:
		return fmt.Sprintf("organizer: %d items refused; first: %s", len(e.Errors), e.Errors[0].Error())
	}
}

// readInput reads a whole import, refusing one over MaxInputBytes instead of
// cutting it short.
func readInput(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("organizer: read import: %w", err)
	}
	if len(data) > MaxInputBytes {
		return nil, ErrInputTooLarge
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}

// shape is the Data of one kind: it checks its required fields and puts
// its times in canonical form, whatever the source.
type shape interface {
	normalize() error
	title() string
}

// keyed is a shape whose identity is a key rather than its whole content.
type keyed interface {
	key() string
}

// collector gathers the items and refusals of one import.
type collector struct {
	items []Item
	errs  []ImportError
	seen  map[Kind]map[string]int // UID to the index that first had it
}

func newCollector() *collector {
	return &collector{seen: make(map[Kind]map[string]int)}
}

func (c *collector) refuse(index int, uid, reason string) {
	c.errs = append(c.errs, ImportError{Index: index, UID: uid, Reason: reason})
}

// add checks s and keeps it as an item of kind. sourceUID is the UID the
// source gave, "" if none; where names the component for error messages.
func (c *collector) add(index int, kind Kind, sourceUID string, s shape, where string) {
	if err := s.normalize(); err != nil {
		c.refuse(index, sourceUID, where+": "+err.Error())
		return
	}
	data, err := marshalData(s)
	if err != nil {
		c.refuse(index, sourceUID, where+": "+err.Error())
		return
	}
	if len(data) > MaxItemBytes {
		c.refuse(index, sourceUID, fmt.Sprintf("%s: the item is %d bytes as JSON, more than the %d KiB limit", where, len(data), MaxItemBytes>>10))
		return
	}
	uid := itemUID(kind, sourceUID, s, data)
	if c.seen[kind] == nil {
		c.seen[kind] = make(map[string]int)
	}
	if first, dup := c.seen[kind][uid]; dup {
		c.refuse(index, sourceUID, fmt.Sprintf("%s: same UID as #%d", where, first))
		return
	}
	c.seen[kind][uid] = index
	c.items = append(c.items, Item{Kind: kind, UID: uid, Summary: oneLine(s.title()), Data: data})
}

func (c *collector) result() ([]Item, *ImportErrors, error) {
	if len(c.errs) == 0 {
		return c.items, nil, nil
	}
	return c.items, &ImportErrors{Errors: c.errs}, nil
}

func itemUID(kind Kind, sourceUID string, s shape, data []byte) string {
	switch {
	case sourceUID != "" && len(sourceUID) <= MaxUIDBytes:
		return sourceUID
	case sourceUID != "":
		return hashUID([]byte(sourceUID))
	}
	if k, ok := s.(keyed); ok {
		return hashUID([]byte(string(kind) + "\x00" + k.key()))
	}
	return hashUID(append([]byte(string(kind)+"\x00"), data...))
}

func hashUID(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// marshalData writes v as compact JSON without HTML escaping, so a device
// reads "<" rather than "\u003c".
func marshalData(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// oneLine makes s fit one line of a list: whitespace runs become one space,
// and a long title is cut with an ellipsis.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxSummaryRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxSummaryRunes-1]) + "…"
}

// firstLine is the first non-blank line of s.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

// Checksum is the SHA-256, in hex, of items as a set: each item's kind, UID
// and Data (re-encoded with sorted keys, so a store that reformats JSON does
// not change it), sorted. Two lists have the same checksum exactly when they
// hold the same items, each as often, in any order, so a test can check a
// sync delivered every imported item exactly once.
func Checksum(items []Item) string {
	entries := make([][]byte, len(items))
	for i, it := range items {
		var b bytes.Buffer
		writeField(&b, []byte(it.Kind))
		writeField(&b, []byte(it.UID))
		writeField(&b, canonicalJSON(it.Data))
		entries[i] = b.Bytes()
	}
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i], entries[j]) < 0 })
	h := sha256.New()
	for _, e := range entries {
		h.Write(e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField writes b with its length in front, so no two different lists
// of fields write the same bytes.
func writeField(w *bytes.Buffer, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	w.Write(n[:])
	w.Write(b)
}

// canonicalJSON re-encodes data with sorted keys and no insignificant
// whitespace; data that is not JSON is returned as it is.
func canonicalJSON(data []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return data
	}
	if _, err := dec.Token(); err != io.EOF {
		return data
	}
	out, err := marshalData(v)
	if err != nil {
		return data
	}
	return out
}
