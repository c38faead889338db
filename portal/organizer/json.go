package organizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseJSON reads a JSON array of objects in the Data shape of kind (Event,
// Contact, Task, Memo, Message or Option). Each object is checked on its
// own: one with a field the shape does not have, a value of the wrong type,
// or a required field missing is refused and reported in *ImportErrors (nil
// when there is none), with the good ones returned. Times are stored in
// UTC. An item's UID is the SHA-256 of its content (of its name for an
// option).
//
// The error result is for the input as a whole: an unknown kind, a
// *FormatError for text that is not a JSON array or is truncated,
// ErrInputTooLarge, ErrTooManyItems or a read error; no items come with it.
func ParseJSON(kind Kind, r io.Reader) ([]Item, *ImportErrors, error) {
	newShape, ok := shapes[kind]
	if !ok {
		return nil, nil, fmt.Errorf("organizer: unknown kind %q", kind)
	}
	data, err := readInput(r)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, &FormatError{Format: "JSON", Msg: "the file is empty"}
	}
	lines := lineCounter{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil {
			return nil, nil, jsonError(&lines, err, 0)
		}
		return nil, nil, &FormatError{Format: "JSON", Line: 1, Msg: "expected an array of " + string(kind) + " items"}
	}
	c := newCollector()
	for index := 0; dec.More(); index++ {
		if index >= MaxItems {
			return nil, nil, ErrTooManyItems
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, jsonError(&lines, err, dec.InputOffset())
		}
		where := fmt.Sprintf("item at line %d", lines.at(dec.InputOffset()-int64(len(raw))))
		s := newShape()
		if err := decodeStrict(raw, s); err != nil {
			c.refuse(index, "", where+": "+err.Error())
			continue
		}
		c.add(index, kind, "", s, where)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, jsonError(&lines, err, dec.InputOffset())
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, jsonError(&lines, err, dec.InputOffset())
		}
		return nil, nil, &FormatError{Format: "JSON", Line: lines.at(dec.InputOffset()), Msg: fmt.Sprintf("%v after the array", tok)}
	}
	return c.result()
}

var shapes = map[Kind]func() shape{
	KindCalendar: func() shape { return &Event{} },
	KindContacts: func() shape { return &Contact{} },
	KindTasks:    func() shape { return &Task{} },
	KindMemos:    func() shape { return &Memo{} },
	KindMessages: func() shape { return &Message{} },
	KindOptions:  func() shape { return &Option{} },
}

// decodeStrict decodes one array element into s, refusing fields s lacks.
func decodeStrict(raw json.RawMessage, s shape) error {
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: a JSON %s where %s is expected", te.Field, te.Value, jsonType(te.Type.Kind().String()))
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	case "int":
		return "a whole number"
	}
	return goKind
}

// jsonError turns a decoding error of the whole input into a FormatError
// naming its line.
func jsonError(lines *lineCounter, err error, offset int64) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &FormatError{Format: "JSON", Line: lines.at(int64(len(lines.data))),
			Msg: ErrTruncated.Error(), Err: ErrTruncated}
	case errors.As(err, &se):
		offset = se.Offset
	}
	return &FormatError{Format: "JSON", Line: lines.at(offset), Msg: strings.TrimPrefix(err.Error(), "json: ")}
}

// lineCounter finds the line of a byte offset, counting forward from the
// last one asked for, so reading every item of a file is linear.
type lineCounter struct {
	data   []byte
	offset int
	line   int
}

func (l *lineCounter) at(offset int64) int {
	off := int(max(0, min(offset, int64(len(l.data)))))
	if off < l.offset {
		l.offset, l.line = 0, 0
	}
	l.line += bytes.Count(l.data[l.offset:off], []byte("\n"))
	l.offset = off
	return l.line + 1
}
