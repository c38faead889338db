package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/web"
)

func (a *API) listDevices(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	f := portal.DeviceFilter{ListOptions: opt, UserID: c.QueryParam("user_id"), Status: c.QueryParam("status")}
	page, err := a.store.Devices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) getDevice(c echo.Context) error {
	d, err := a.store.Device(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (a *API) listAudit(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	f := portal.AuditFilter{ListOptions: opt, Kind: c.QueryParam("kind"), ObjectID: c.QueryParam("object_id"), Actor: c.QueryParam("actor")}
	page, err := a.store.Audit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
