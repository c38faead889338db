package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/auth"
)

type userRow struct {
	User   portal.User
	Groups []string // names
}

type usersPage struct {
	Users      []userRow
	List       listPage
	QueryError string
}

func (c *Console) listUsers(ec echo.Context) error {
	ctx := ec.Request().Context()
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p := usersPage{QueryError: queryError}
	page, err := c.store.Users(ctx, opt)
	if err != nil {
		return err
	}
	names, err := c.groupNames(ctx)
	if err != nil {
		return err
	}
	for _, u := range page.Items {
		r := userRow{User: u}
		for _, id := range u.Groups {
			r.Groups = append(r.Groups, names.name(ctx, c.store, id))
		}
		p.Users = append(p.Users, r)
	}
	p.List = paging("/admin/users", opt, page.Total, len(page.Items))
	return c.page(ec, listCode(p.QueryError), "users", "Users", "users", p)
}

// fieldMessageOf is the one message of a refused query string.
func fieldMessageOf(fe formErrors) string {
	for _, m := range fe.Fields {
		return m
	}
	if len(fe.Form) > 0 {
		return fe.Form[0]
	}
	return ""
}

// userForm is what was typed into the user form.
type userForm struct {
	Username, Email, Phone, DisplayName, Password string
	Groups                                        []string
}

func readUserForm(ec echo.Context) userForm {
	f := ec.Request().PostForm
	return userForm{
		Username: f.Get("username"), Email: f.Get("email"), Phone: f.Get("phone"),
		DisplayName: f.Get("display_name"), Password: f.Get("password"), Groups: f["groups"],
	}
}

func formOf(u *portal.User) userForm {
	return userForm{Username: u.Username, Email: u.Email, Phone: u.Phone, DisplayName: u.DisplayName, Groups: u.Groups}
}

// patch checks the form with the API's rules, every field at once, and
// turns it into the change the API would make. An empty password leaves the
// password as it is.
func (c *Console) patch(f userForm) (portal.UserPatch, formErrors) {
	var errs formErrors
	p := portal.UserPatch{Username: &f.Username, Email: &f.Email, DisplayName: &f.DisplayName, Groups: &f.Groups}
	errs.add(portal.CheckUsername("username", f.Username))
	errs.add(checkEmail(f.Email))
	e164, err := normalizePhone(f.Phone, c.phoneRegion)
	errs.add(err)
	p.Phone = &e164
	errs.add(checkName("display_name", f.DisplayName, false, 200))
	errs.add(checkIDs("groups", f.Groups))
	if f.Password != "" {
		errs.add(checkPassword("password", f.Password))
	}
	if f.Password != "" && errs.empty() {
		hash, err := auth.HashPassword(f.Password, c.hashParams)
		if err != nil {
			errs.Form = append(errs.Form, "The password could not be stored; try again.")
			c.log.Error("hash user password", "err", err)
		}
		p.PasswordHash = &hash
	}
	return p, errs
}

type groupChoice struct {
	ID, Name string
	Checked  bool
}

type userFormPage struct {
	Editing      bool
	Name         string // the user's username as stored, when editing
	Action       string
	Fields       []field
	Groups       []groupChoice
	GroupsError  string
	Problems     []problem
	RetypeSecret bool // a password was typed but is never sent back
}

// userForm answers the user form, with what was typed and any refusals.
func (c *Console) userForm(ec echo.Context, status int, u *portal.User, f userForm, errs formErrors) error {
	ctx := ec.Request().Context()
	p := userFormPage{Action: "/admin/users"}
	title := "Add a user"
	passwordHint := "Optional. At least 8 characters; the user logs on with it. Leave empty to set one later."
	if u != nil {
		p.Editing, p.Name, p.Action = true, u.Username, "/admin/users/"+url.PathEscape(u.ID)
		title = "Edit " + u.Username
		passwordHint = "Leave empty to keep the current password. A new one needs at least 8 characters."
	}
	p.Fields, p.Problems = withErrors([]field{
		{Name: "username", Label: "Username", Type: "text", Value: f.Username, Required: true, Autocomplete: "off",
			Hint: "Letters, digits and . _ @ + -, up to 64, starting with a letter or digit."},
		{Name: "display_name", Label: "Display name", Type: "text", Value: f.DisplayName, Autocomplete: "off"},
		{Name: "email", Label: "E-mail", Type: "email", Value: f.Email, Autocomplete: "off",
			Hint: "Used for enterprise activation, e.g. alice@example.com."},
		{Name: "phone", Label: "Mobile phone", Type: "tel", Value: f.Phone, Autocomplete: "off",
			Hint: "Where provisioning text messages go; with its country code, e.g. +14155550132."},
		{Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password", Hint: passwordHint},
	}, errs)
	if !p.Editing && len(p.Problems) == 0 {
		p.Fields[0].Autofocus = true
	}
	p.GroupsError = errs.Fields["groups"]
	p.RetypeSecret = f.Password != "" && !errs.empty()

	groups, err := c.allGroups(ctx)
	if err != nil {
		return err
	}
	checked := map[string]bool{}
	for _, id := range f.Groups {
		checked[id] = true
	}
	for _, g := range groups {
		p.Groups = append(p.Groups, groupChoice{ID: g.ID, Name: g.Name, Checked: checked[g.ID]})
	}
	return c.page(ec, status, "user_form", title, "users", p)
}

func (c *Console) newUser(ec echo.Context) error {
	return c.userForm(ec, http.StatusOK, nil, userForm{}, formErrors{})
}

func (c *Console) createUser(ec echo.Context) error {
	f := readUserForm(ec)
	p, errs := c.patch(f)
	if errs.empty() {
		u := portal.User{Username: *p.Username, Email: *p.Email, Phone: *p.Phone, DisplayName: *p.DisplayName, Groups: *p.Groups}
		setIf(&u.PasswordHash, p.PasswordHash)
		err := c.store.CreateUser(ec.Request().Context(), &u)
		if err == nil {
			c.setFlash(ec, "User "+u.Username+" was added.")
			return ec.Redirect(http.StatusSeeOther, "/admin/users?name="+url.QueryEscape(u.Username))
		}
		if !errs.add(err) {
			return err
		}
	}
	return c.userForm(ec, http.StatusUnprocessableEntity, nil, f, errs)
}

func (c *Console) editUser(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	return c.userForm(ec, http.StatusOK, u, formOf(u), formErrors{})
}

func (c *Console) updateUser(ec echo.Context) error {
	ctx := ec.Request().Context()
	u, err := c.store.User(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	f := readUserForm(ec)
	p, errs := c.patch(f)
	if errs.empty() {
		updated, err := c.store.UpdateUser(ctx, u.ID, p)
		if err == nil {
			c.setFlash(ec, "User "+updated.Username+" was saved.")
			return ec.Redirect(http.StatusSeeOther, "/admin/users?name="+url.QueryEscape(updated.Username))
		}
		if !errs.add(err) {
			return err
		}
	}
	return c.userForm(ec, http.StatusUnprocessableEntity, u, f, errs)
}

func (c *Console) confirmDeleteUser(ec echo.Context) error {
	u, err := c.store.User(ec.Request().Context(), ec.Param("id"))
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "confirm", "Delete "+u.Username, "users", confirmPage{
		Kind: "user", Name: u.Username,
		Consequence: "Their group memberships, provisioning links, activation password and device records go with them; messages already sent stay in the outbox. This cannot be undone.",
		Action:      "/admin/users/" + url.PathEscape(u.ID) + "/delete", Cancel: "/admin/users",
	})
}

func (c *Console) deleteUser(ec echo.Context) error {
	ctx := ec.Request().Context()
	u, err := c.store.User(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	if err := c.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	c.setFlash(ec, "User "+u.Username+" was deleted.")
	return ec.Redirect(http.StatusSeeOther, "/admin/users")
}

// groupNames names groups by ID, asking the store for any it has not seen.
type groupNames map[string]string

func (c *Console) groupNames(ctx context.Context) (groupNames, error) {
	groups, err := c.allGroups(ctx)
	if err != nil {
		return nil, err
	}
	n := groupNames{}
	for _, g := range groups {
		n[g.ID] = g.Name
	}
	return n, nil
}

func (n groupNames) name(ctx context.Context, s portal.GroupStore, id string) string {
	if name, ok := n[id]; ok {
		return name
	}
	name := id
	if g, err := s.Group(ctx, id); err == nil {
		name = g.Name
	}
	n[id] = name
	return name
}

// maxGroupsShown bounds the groups a form offers; past it the checkboxes
// would be unusable anyway, and a later step brings a search.
const maxGroupsShown = 1000

// allGroups lists groups by name, page by page, up to maxGroupsShown.
func (c *Console) allGroups(ctx context.Context) ([]portal.Group, error) {
	return listAll(ctx, c.store.Groups)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
