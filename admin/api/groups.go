package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/web"
)

type groupRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// Collaboration lets every member log on to the messaging server through the portal.
	Collaboration *bool `json:"collaboration"`
}

func (r groupRequest) validate(creating bool) error {
	if creating && r.Name == nil {
		return portal.Invalid("name", "is required")
	}
	if r.Name != nil {
		if err := checkName("name", *r.Name, true, 100); err != nil {
			return err
		}
	}
	if r.Description != nil {
		return checkName("description", *r.Description, false, 2000)
	}
	return nil
}

func (a *API) listGroups(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Groups(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createGroup(c echo.Context) error {
	var req groupRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	g := portal.Group{Name: *req.Name}
	setIf(&g.Description, req.Description)
	setIf(&g.Collaboration, req.Collaboration)
	if err := a.store.CreateGroup(c.Request().Context(), &g); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (a *API) getGroup(c echo.Context) error {
	g, err := a.store.Group(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (a *API) patchGroup(c echo.Context) error {
	var req groupRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	g, err := a.store.UpdateGroup(c.Request().Context(), c.Param("id"), portal.GroupPatch{Name: req.Name, Description: req.Description, Collaboration: req.Collaboration})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (a *API) deleteGroup(c echo.Context) error {
	if err := a.store.DeleteGroup(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
