package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/web"
)

type userRequest struct {
	Username    *string   `json:"username"`
	Email       *string   `json:"email"`
	Phone       *string   `json:"phone"`
	DisplayName *string   `json:"display_name"`
	Password    *string   `json:"password"`
	Groups      *[]string `json:"groups"`
	// Collaboration lets the user log on to the messaging server through the portal.
	Collaboration *bool `json:"collaboration"`
}

// patch validates the request and turns it into a change; creating is a
// patch of an empty user with username required.
func (a *API) patch(req userRequest, creating bool) (portal.UserPatch, error) {
	p := portal.UserPatch{Username: req.Username, Email: req.Email, DisplayName: req.DisplayName, Groups: req.Groups,
		Collaboration: req.Collaboration}
	if creating && req.Username == nil {
		return p, portal.Invalid("username", "is required")
	}
	if req.Username != nil {
		if err := checkUsername("username", *req.Username); err != nil {
			return p, err
		}
	}
	if req.Email != nil {
		if err := checkEmail(*req.Email); err != nil {
			return p, err
		}
	}
	if req.Phone != nil {
		e164, err := a.normalizePhone(*req.Phone)
		if err != nil {
			return p, err
		}
		p.Phone = &e164
	}
	if req.DisplayName != nil {
		if err := checkName("display_name", *req.DisplayName, false, 200); err != nil {
			return p, err
		}
	}
	if req.Groups != nil {
		if err := checkIDs("groups", *req.Groups); err != nil {
			return p, err
		}
	}
	if req.Password != nil {
		if err := checkPassword("password", *req.Password); err != nil {
			return p, err
		}
		hash, err := auth.HashPassword(*req.Password, a.hashParams)
		if err != nil {
			return p, err
		}
		p.PasswordHash = &hash
	}
	return p, nil
}

func (a *API) listUsers(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Users(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createUser(c echo.Context) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := a.patch(req, true)
	if err != nil {
		return err
	}
	u := newUser(p)
	if err := a.store.CreateUser(c.Request().Context(), &u); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (a *API) getUser(c echo.Context) error {
	u, err := a.store.User(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (a *API) patchUser(c echo.Context) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := a.patch(req, false)
	if err != nil {
		return err
	}
	u, err := a.store.UpdateUser(c.Request().Context(), c.Param("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (a *API) deleteUser(c echo.Context) error {
	if err := a.store.DeleteUser(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
