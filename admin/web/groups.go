package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

type groupsPage struct {
	Groups     []portal.Group
	List       listPage
	QueryError string
}

func (c *Console) listGroups(ec echo.Context) error {
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p := groupsPage{QueryError: queryError}
	page, err := c.store.Groups(ec.Request().Context(), opt)
	if err != nil {
		return err
	}
	p.Groups = page.Items
	p.List = paging("/admin/groups", opt, page.Total, len(page.Items))
	return c.page(ec, listCode(p.QueryError), "groups", "Groups", "groups", p)
}

type groupForm struct {
	Name, Description string
}

// check is admin/api's groupRequest.validate for a form that always sends
// both fields, collecting every refusal at once.
func (f groupForm) check() formErrors {
	var errs formErrors
	errs.add(checkName("name", f.Name, true, 100))
	errs.add(checkName("description", f.Description, false, 2000))
	return errs
}

func readGroupForm(ec echo.Context) groupForm {
	f := ec.Request().PostForm
	return groupForm{Name: f.Get("name"), Description: f.Get("description")}
}

type groupFormPage struct {
	Editing  bool
	Name     string
	Action   string
	Fields   []field
	Problems []problem
}

func (c *Console) groupForm(ec echo.Context, status int, g *portal.Group, f groupForm, errs formErrors) error {
	p := groupFormPage{Action: "/admin/groups"}
	title := "Add a group"
	if g != nil {
		p.Editing, p.Name, p.Action = true, g.Name, "/admin/groups/"+url.PathEscape(g.ID)
		title = "Edit " + g.Name
	}
	p.Fields, p.Problems = withErrors([]field{
		{Name: "name", Label: "Name", Type: "text", Value: f.Name, Required: true, Autocomplete: "off",
			Hint: "Up to 100 characters, e.g. Sales or Field engineers."},
		{Name: "description", Label: "Description", Type: "textarea", Value: f.Description,
			Hint: "Optional. Who belongs here, for the next administrator."},
	}, errs)
	if g == nil && len(p.Problems) == 0 {
		p.Fields[0].Autofocus = true
	}
	return c.page(ec, status, "group_form", title, "groups", p)
}

func (c *Console) newGroup(ec echo.Context) error {
	return c.groupForm(ec, http.StatusOK, nil, groupForm{}, formErrors{})
}

func (c *Console) createGroup(ec echo.Context) error {
	f := readGroupForm(ec)
	errs := f.check()
	if errs.empty() {
		g := portal.Group{Name: f.Name, Description: f.Description}
		err := c.store.CreateGroup(ec.Request().Context(), &g)
		if err == nil {
			c.setFlash(ec, "Group "+g.Name+" was added.")
			return ec.Redirect(http.StatusSeeOther, "/admin/groups")
		}
		if !errs.add(err) {
			return err
		}
	}
	return c.groupForm(ec, http.StatusUnprocessableEntity, nil, f, errs)
}

func (c *Console) editGroup(ec echo.Context) error {
	g, err := c.store.Group(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	return c.groupForm(ec, http.StatusOK, g, groupForm{Name: g.Name, Description: g.Description}, formErrors{})
}

func (c *Console) updateGroup(ec echo.Context) error {
	ctx := ec.Request().Context()
	g, err := c.store.Group(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	f := readGroupForm(ec)
	errs := f.check()
	if errs.empty() {
		updated, err := c.store.UpdateGroup(ctx, g.ID, portal.GroupPatch{Name: &f.Name, Description: &f.Description})
		if err == nil {
			c.setFlash(ec, "Group "+updated.Name+" was saved.")
			return ec.Redirect(http.StatusSeeOther, "/admin/groups")
		}
		if !errs.add(err) {
			return err
		}
	}
	return c.groupForm(ec, http.StatusUnprocessableEntity, g, f, errs)
}

func (c *Console) confirmDeleteGroup(ec echo.Context) error {
	g, err := c.store.Group(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	consequence := "Nobody is in this group. Apps and policies assigned to it are withdrawn from it. This cannot be undone."
	if g.Members > 0 {
		consequence = fmt.Sprintf("Its %s leave it (their accounts stay), and apps and policies assigned to the group are withdrawn from them. This cannot be undone.",
			plural(g.Members, "member"))
	}
	return c.page(ec, http.StatusOK, "confirm", "Delete "+g.Name, "groups", confirmPage{
		Kind: "group", Name: g.Name, Consequence: consequence,
		Action: "/admin/groups/" + url.PathEscape(g.ID) + "/delete", Cancel: "/admin/groups",
	})
}

func (c *Console) deleteGroup(ec echo.Context) error {
	ctx := ec.Request().Context()
	g, err := c.store.Group(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	if err := c.store.DeleteGroup(ctx, g.ID); err != nil {
		return err
	}
	c.setFlash(ec, "Group "+g.Name+" was deleted.")
	return ec.Redirect(http.StatusSeeOther, "/admin/groups")
}
