package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/web"
)

type policyRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Rules       json.RawMessage `json:"rules"`
}

// patch validates the request; rules, when sent, replace the policy's rules whole.
func (r policyRequest) patch(creating bool) (portal.PolicyPatch, error) {
	p := portal.PolicyPatch{Name: r.Name, Description: r.Description}
	if creating && r.Name == nil {
		return p, portal.Invalid("name", "is required")
	}
	if r.Name != nil {
		if err := checkName("name", *r.Name, true, 100); err != nil {
			return p, err
		}
	}
	if r.Description != nil {
		if err := checkName("description", *r.Description, false, 2000); err != nil {
			return p, err
		}
	}
	if r.Rules != nil {
		rules, err := portal.DecodeRules(r.Rules)
		if err != nil {
			return p, err
		}
		p.Rules = &rules
	}
	return p, nil
}

func (a *API) listRules(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"items": portal.RuleCatalogue})
}

func (a *API) listPolicies(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Policies(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createPolicy(c echo.Context) error {
	var req policyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := req.patch(true)
	if err != nil {
		return err
	}
	pol := portal.Policy{Name: *p.Name, Rules: portal.Rules{}}
	setIf(&pol.Description, p.Description)
	setIf(&pol.Rules, p.Rules)
	if err := a.store.CreatePolicy(c.Request().Context(), &pol); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, pol)
}

func (a *API) getPolicy(c echo.Context) error {
	p, err := a.store.Policy(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (a *API) patchPolicy(c echo.Context) error {
	var req policyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := req.patch(false)
	if err != nil {
		return err
	}
	pol, err := a.store.UpdatePolicy(c.Request().Context(), c.Param("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pol)
}

func (a *API) deletePolicy(c echo.Context) error {
	if err := a.store.DeletePolicy(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
