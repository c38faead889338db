package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// ErrorBody is how every error is answered.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code, message and, for invalid input, field.
type ErrorDetail struct {
	Code    portal.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

// ErrorHandler answers errors returned by handlers. A *portal.Error is sent
// as it is; echo's own errors get the matching code; anything else is logged
// with its cause and answered as a 500 with no detail.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		pe := toPortalError(err)
		if pe.Code == portal.CodeInternal {
			log.ErrorContext(c.Request().Context(), "request failed",
				"method", c.Request().Method, "route", c.Path(), "err", err)
		}
		if pe.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(pe.RetryAfter.Seconds())))
		}
		if pe.Code == portal.CodeUnauthenticated {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="portal"`)
		}
		body := ErrorBody{Error: ErrorDetail{Code: pe.Code, Message: pe.Msg, Field: pe.Field}}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(pe.Code.Status())
		} else {
			werr = c.JSON(pe.Code.Status(), body)
		}
		if werr != nil {
			log.WarnContext(c.Request().Context(), "writing error response", "err", werr)
		}
	}
}

func toPortalError(err error) *portal.Error {
	var pe *portal.Error
	if errors.As(err, &pe) {
		return pe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return portal.Errorf(portal.CodeNotFound, "no such endpoint")
		case http.StatusMethodNotAllowed:
			return portal.Errorf(portal.CodeMethodNotAllowed, "this endpoint does not accept that method")
		case http.StatusRequestEntityTooLarge:
			return portal.Errorf(portal.CodeTooLarge, "the request body is too large")
		case http.StatusUnauthorized:
			return portal.Errorf(portal.CodeUnauthenticated, "log on first")
		case http.StatusForbidden:
			return portal.Errorf(portal.CodeForbidden, "not allowed")
		case http.StatusBadRequest:
			return portal.Errorf(portal.CodeMalformed, "the request is malformed")
		case http.StatusUnsupportedMediaType:
			return portal.Errorf(portal.CodeUnsupportedMedia, "unsupported content type")
		case http.StatusServiceUnavailable:
			return portal.Errorf(portal.CodeUnavailable, "the service is unavailable")
		}
	}
	return &portal.Error{Code: portal.CodeInternal, Msg: "internal error", Err: err}
}
