package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/web"
)

type adminRequest struct {
	Username string      `json:"username"`
	Password string      `json:"password"`
	Role     portal.Role `json:"role"`
}

func (a *API) listAdmins(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Admins(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createAdmin(c echo.Context) error {
	var req adminRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := checkUsername("username", req.Username); err != nil {
		return err
	}
	if !req.Role.Valid() {
		return portal.Invalid("role", "must be %q or %q", portal.RoleAdmin, portal.RoleHelpdesk)
	}
	if err := checkPassword("password", req.Password); err != nil {
		return err
	}
	hash, err := auth.HashPassword(req.Password, a.hashParams)
	if err != nil {
		return err
	}
	admin := portal.Admin{Username: req.Username, Role: req.Role, PasswordHash: hash}
	if err := a.store.CreateAdmin(c.Request().Context(), &admin); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, admin)
}

func (a *API) getAdmin(c echo.Context) error {
	admin, err := a.store.Admin(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, admin)
}

func (a *API) deleteAdmin(c echo.Context) error {
	if c.Param("id") == portal.ActorFrom(c.Request().Context()).ID {
		return portal.Errorf(portal.CodeConflict, "you cannot remove your own account")
	}
	if err := a.store.DeleteAdmin(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
