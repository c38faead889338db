package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/web"
)

type assignmentRequest struct {
	AppID    string `json:"app_id"`
	PolicyID string `json:"policy_id"`
	GroupID  string `json:"group_id"`
	UserID   string `json:"user_id"`
}

func (r assignmentRequest) validate() error {
	if (r.AppID == "") == (r.PolicyID == "") {
		return portal.Invalid("app_id", "give exactly one of app_id and policy_id")
	}
	if (r.GroupID == "") == (r.UserID == "") {
		return portal.Invalid("group_id", "give exactly one of group_id and user_id")
	}
	return checkIDs("id", []string{r.AppID + r.PolicyID, r.GroupID + r.UserID})
}

func (a *API) listAssignments(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	f := portal.AssignmentFilter{Limit: opt.Limit, Offset: opt.Offset,
		AppID: c.QueryParam("app_id"), PolicyID: c.QueryParam("policy_id"),
		GroupID: c.QueryParam("group_id"), UserID: c.QueryParam("user_id")}
	page, err := a.store.Assignments(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createAssignment(c echo.Context) error {
	var req assignmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	as := portal.Assignment{AppID: req.AppID, PolicyID: req.PolicyID, GroupID: req.GroupID, UserID: req.UserID}
	if err := a.store.CreateAssignment(c.Request().Context(), &as); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, as)
}

func (a *API) getAssignment(c echo.Context) error {
	as, err := a.store.Assignment(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, as)
}

func (a *API) deleteAssignment(c echo.Context) error {
	if err := a.store.DeleteAssignment(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
