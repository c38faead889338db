package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	pweb "provportal/portal/web"
)

// apiPrefix is where the admin API is mounted.
const apiPrefix = "/api/v1"

// apiCall is one request the console makes of the admin API, in process,
// as the signed-on administrator. Pages that change apps, policies,
// assignments, provisioning or imports go through the API's own handlers,
// so its validation, its audit entries and its answers are the console's:
// there is no second copy of those rules here.
type apiCall struct {
	Method string
	Path   string // below /api/v1, e.g. "/users/import?dry_run=true"
	// Body is sent as is; JSON, when set, is marshalled instead.
	Body        io.Reader
	ContentType string
	JSON        any
	// Out receives a JSON answer; nil ignores the body.
	Out any
}

// callAPI runs call through the API's handlers with the session's token and
// the browser's address, so the audit log names the same actor and address
// as the page. A refusal comes back as the API's *portal.Error (code,
// message and field), for the form to show beside what caused it.
// It answers the response's headers and, when Out is nil, its body.
func (c *Console) callAPI(ec echo.Context, call apiCall) (http.Header, []byte, error) {
	if c.api == nil {
		return nil, nil, errors.New("admin console: no admin API to call")
	}
	body := call.Body
	ctype := call.ContentType
	if call.JSON != nil {
		b, err := json.Marshal(call.JSON)
		if err != nil {
			return nil, nil, fmt.Errorf("admin console: encode %s %s: %w", call.Method, call.Path, err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	outer := ec.Request()
	req, err := http.NewRequestWithContext(outer.Context(), call.Method, apiPrefix+call.Path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("admin console: %s %s: %w", call.Method, call.Path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if n, ok := body.(interface{ Len() int }); ok {
		req.ContentLength = int64(n.Len())
	} else if body == nil {
		req.ContentLength = 0
	}
	req.Header.Set("Authorization", "Bearer "+sessionFrom(ec).Token)
	req.RemoteAddr = outer.RemoteAddr
	for _, h := range []string{echo.HeaderXForwardedFor, echo.HeaderXRealIP, echo.HeaderXForwardedProto} {
		if v := outer.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("User-Agent", "provportal-console")

	rec := httptest.NewRecorder()
	c.api.ServeHTTP(rec, req)
	res := rec.Result()
	raw := rec.Body.Bytes()
	if res.StatusCode >= 300 {
		return res.Header, nil, apiError(res.StatusCode, raw)
	}
	if call.Out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, call.Out); err != nil {
			return nil, nil, fmt.Errorf("admin console: read the answer to %s %s: %w", call.Method, call.Path, err)
		}
		return res.Header, nil, nil
	}
	return res.Header, raw, nil
}

// apiError turns the API's {"error":{...}} answer back into the error it was.
func apiError(status int, raw []byte) error {
	var body pweb.ErrorBody
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" {
		return fmt.Errorf("admin API answered %d: %s", status, strings.TrimSpace(string(raw)))
	}
	return &portal.Error{Code: body.Error.Code, Msg: body.Error.Message, Field: body.Error.Field}
}
