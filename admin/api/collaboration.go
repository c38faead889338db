package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// Collaboration is the live collaboration service: its sessions are held by
// the portal process, not the store.
type Collaboration interface {
	// Sessions lists the live sessions, oldest first.
	Sessions(ctx context.Context) ([]portal.CollaborationSession, error)
	// EndSession logs the session off the messaging server and tells its
	// device why; an unknown ID is a not_found *portal.Error.
	EndSession(ctx context.Context, id string) (portal.CollaborationSession, error)
}

func (a *API) registerCollaboration(r routes) {
	r.GET("/collaboration/sessions", a.listCollaborationSessions)
	r.DELETE("/collaboration/sessions/:id", a.endCollaborationSession)
	r.GET("/collaboration/settings", a.getCollaborationSettings)
	r.PUT("/collaboration/settings", a.putCollaborationSettings)
}

func (a *API) listCollaborationSessions(c echo.Context) error {
	items := []portal.CollaborationSession{}
	if a.collab != nil {
		live, err := a.collab.Sessions(c.Request().Context())
		if err != nil {
			return err
		}
		items = append(items, live...)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "total": len(items)})
}

func (a *API) endCollaborationSession(c echo.Context) error {
	if a.collab == nil {
		return portal.Errorf(portal.CodeNotFound, "collaboration session %s not found", c.Param("id"))
	}
	ctx := c.Request().Context()
	s, err := a.collab.EndSession(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := a.store.EndCollaborationSession(ctx, s); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) getCollaborationSettings(c echo.Context) error {
	s, err := a.store.CollaborationSettings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

// collaborationSettingsRequest changes the settings: a field absent or null
// is left as it is. Durations are read here, not by encoding/json, so a bad
// one is refused naming its field.
type collaborationSettingsRequest struct {
	MaxSessions *int                    `json:"max_sessions"`
	IdleTimeout json.RawMessage         `json:"idle_timeout"`
	GraceWindow json.RawMessage         `json:"grace_window"`
	Server      *messagingServerRequest `json:"server"`
}

type messagingServerRequest struct {
	Host           *string `json:"host"`
	Port           *int    `json:"port"`
	Domain         *string `json:"domain"`
	MaxConnections *int    `json:"max_connections"`
}

// apply changes s by the request; the result still has to be validated.
func (r collaborationSettingsRequest) apply(s *portal.CollaborationSettings) error {
	setIf(&s.MaxSessions, r.MaxSessions)
	for _, d := range []struct {
		field string
		raw   json.RawMessage
		dst   *portal.Duration
	}{{"idle_timeout", r.IdleTimeout, &s.IdleTimeout}, {"grace_window", r.GraceWindow, &s.GraceWindow}} {
		if len(d.raw) == 0 || string(d.raw) == "null" {
			continue
		}
		if err := d.dst.UnmarshalJSON(d.raw); err != nil {
			return portal.Invalid(d.field, "%v", err)
		}
	}
	if r.Server != nil {
		if r.Server.Host != nil {
			s.Server.Host = strings.TrimSpace(*r.Server.Host)
		}
		setIf(&s.Server.Port, r.Server.Port)
		if r.Server.Domain != nil {
			s.Server.Domain = strings.ToLower(strings.TrimSpace(*r.Server.Domain))
		}
		setIf(&s.Server.MaxConnections, r.Server.MaxConnections)
	}
	return nil
}

func (a *API) putCollaborationSettings(c echo.Context) error {
	ctx := c.Request().Context()
	var req collaborationSettingsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	s, err := a.store.CollaborationSettings(ctx)
	if err != nil {
		return err
	}
	before := s
	if err := req.apply(&s); err != nil {
		return err
	}
	// Everything is checked before anything is written, so a refused request changes nothing.
	if err := s.Validate(); err != nil {
		return err
	}
	if s != before {
		if err := a.store.PutCollaborationSettings(ctx, s); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, s)
}
