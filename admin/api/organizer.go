package api

import (
	"errors"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/organizer"
)

type importResult struct {
	Added    int           `json:"added"`
	Replaced int           `json:"replaced"`
	Refused  []refusedItem `json:"refused"`
}

// refusedItem is an item of an import that was not taken, and why.
type refusedItem struct {
	Index  int    `json:"index"`
	UID    string `json:"uid,omitempty"`
	Reason string `json:"reason"`
}

// importOrganizer imports organizer data for a user from iCalendar
// (text/calendar), vCard (text/vcard) or JSON (application/json with
// ?kind=). Refused items are listed; the good ones are imported.
func (a *API) importOrganizer(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := a.store.User(ctx, c.Param("id")); err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	body := http.MaxBytesReader(c.Response(), c.Request().Body, 32<<20)
	var (
		items []organizer.Item
		bad   *organizer.ImportErrors
		err   error
	)
	switch mt {
	case "text/calendar":
		items, bad, err = organizer.ParseICS(body)
	case "text/vcard", "text/x-vcard", "text/directory":
		items, bad, err = organizer.ParseVCF(body)
	case "application/json":
		kind := organizer.Kind(c.QueryParam("kind"))
		if !kind.Valid() {
			return portal.Invalid("kind", "give ?kind= one of calendar, contacts, tasks, memos, messages, options")
		}
		items, bad, err = organizer.ParseJSON(kind, body)
	default:
		return portal.Errorf(portal.CodeUnsupportedMedia, "send text/calendar, text/vcard or application/json, not %q", mt)
	}
	var fe *organizer.FormatError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return portal.Errorf(portal.CodeTooLarge, "the file is larger than 32 MiB")
	case errors.As(err, &fe):
		return portal.Invalid("body", "%s", fe.Error())
	case err != nil:
		return portal.Invalid("body", "%v", err)
	}
	out := make([]portal.OrganizerItem, len(items))
	for i, it := range items {
		out[i] = portal.OrganizerItem{Kind: string(it.Kind), UID: it.UID, Summary: it.Summary, Data: it.Data}
	}
	res := importResult{Refused: []refusedItem{}}
	if bad != nil {
		for _, e := range bad.Errors {
			res.Refused = append(res.Refused, refusedItem{e.Index, e.UID, e.Reason})
		}
	}
	if len(out) > 0 {
		if res.Added, res.Replaced, err = a.store.PutOrganizerItems(ctx, c.Param("id"), out); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, res)
}

func (a *API) getOrganizer(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := a.store.User(ctx, c.Param("id")); err != nil {
		return err
	}
	counts, err := a.store.CountOrganizerItems(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"counts": counts})
}

func (a *API) deleteOrganizer(c echo.Context) error {
	if _, err := a.store.User(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	kind := c.QueryParam("kind")
	if kind != "" && !organizer.Kind(kind).Valid() {
		return portal.Invalid("kind", "is not a kind of organizer data")
	}
	n, err := a.store.DeleteOrganizerItems(c.Request().Context(), c.Param("id"), kind)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"deleted": n})
}
