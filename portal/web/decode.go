package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// MaxJSONBody is the largest JSON request body accepted.
const MaxJSONBody = 1 << 20

// DecodeJSON reads the request body into v strictly: JSON only, one value,
// no unknown fields, at most MaxJSONBody bytes. Errors name the field at fault.
func DecodeJSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return portal.Errorf(portal.CodeUnsupportedMedia, "send the body as application/json, not %s", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return portal.Errorf(portal.CodeMalformed, "the body must hold exactly one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		pe       *portal.Error
	)
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &tooLarge):
		return portal.Errorf(portal.CodeTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return portal.Errorf(portal.CodeMalformed, "the body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return &portal.Error{Code: portal.CodeMalformed, Msg: "the body is not valid JSON", Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return portal.Errorf(portal.CodeMalformed, "the body must be a JSON %s", "object")
		}
		return portal.Invalid(field, "must be %s, not %s", describeType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return portal.Invalid(field, "is not a known field")
	default:
		return &portal.Error{Code: portal.CodeMalformed, Msg: "the body is not valid JSON", Err: err}
	}
}

func describeType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct", "ptr":
		return "an object"
	default:
		return "a number"
	}
}

// ListParams reads limit, offset and name from the query string.
func ListParams(c echo.Context) (portal.ListOptions, error) {
	var opt portal.ListOptions
	var err error
	if opt.Limit, err = intParam(c, "limit", 0, 500); err != nil {
		return opt, err
	}
	if opt.Offset, err = intParam(c, "offset", 0, 1<<31-1); err != nil {
		return opt, err
	}
	opt.Name = c.QueryParam("name")
	if len(opt.Name) > 200 {
		return opt, portal.Invalid("name", "is longer than 200 characters")
	}
	return opt, nil
}

func intParam(c echo.Context, name string, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, portal.Invalid(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}
