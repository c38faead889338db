package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// registerAssignments mounts the pages that show which apps and policies
// reach which groups and users, and that assign and remove them through
// the admin API.
func (c *Console) registerAssignments(read, write chain) {
	read.GET("/admin/assignments", c.listAssignments)
	write.GET("/admin/assignments/new", c.newAssignment)
	write.POST("/admin/assignments", c.createAssignment)
	write.GET("/admin/assignments/:id/delete", c.confirmRemoveAssignment)
	write.POST("/admin/assignments/:id/delete", c.removeAssignment)
}

// assignmentFilters are the API's filters on the list, which the page's
// links and query string share.
var assignmentFilters = []string{"app_id", "policy_id", "group_id", "user_id"}

// assignables are what an assignment can name: every app, policy and group,
// for the form's selects and for naming the list's rows.
type assignables struct {
	Apps     []portal.App
	Policies []portal.Policy
	Groups   []portal.Group
}

func (c *Console) assignables(ctx context.Context) (assignables, error) {
	var a assignables
	var err error
	if a.Apps, err = listAll(ctx, c.store.Apps); err != nil {
		return a, err
	}
	if a.Policies, err = listAll(ctx, c.store.Policies); err != nil {
		return a, err
	}
	a.Groups, err = c.allGroups(ctx)
	return a, err
}

// listAll lists a whole collection page by page, up to maxGroupsShown
// items: as many as a select can usefully offer.
func listAll[T any](ctx context.Context, list func(context.Context, portal.ListOptions) (portal.Page[T], error)) ([]T, error) {
	var out []T
	for len(out) < maxGroupsShown {
		page, err := list(ctx, portal.ListOptions{Limit: 500, Offset: len(out)})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) == 0 || len(out) >= page.Total {
			break
		}
	}
	return out, nil
}

func appLabel(a portal.App) string {
	if a.Version == "" {
		return a.Name
	}
	return a.Name + " " + a.Version
}

// assignmentNames names what assignments point at, by ID. Anything it does
// not know, such as an app past the first thousand, shows as its ID.
type assignmentNames struct {
	apps, policies, groups map[string]string
	users                  userNames
}

func (a assignables) names() assignmentNames {
	n := assignmentNames{apps: map[string]string{}, policies: map[string]string{}, groups: map[string]string{}, users: userNames{}}
	for _, app := range a.Apps {
		n.apps[app.ID] = appLabel(app)
	}
	for _, p := range a.Policies {
		n.policies[p.ID] = p.Name
	}
	for _, g := range a.Groups {
		n.groups[g.ID] = g.Name
	}
	return n
}

func nameOr(names map[string]string, id string) string {
	if name, ok := names[id]; ok {
		return name
	}
	return id
}

// assignmentView is one assignment in words, with links to the others of
// the same app or policy and of the same group or user.
type assignmentView struct {
	ID         string
	Kind       string // "app" or "policy"
	What       string
	WhatURL    string
	TargetKind string // "group" or "user"
	Target     string
	TargetURL  string
	CreatedAt  time.Time
}

func (n assignmentNames) describe(ctx context.Context, s portal.UserStore, a portal.Assignment) (assignmentView, error) {
	v := assignmentView{ID: a.ID, CreatedAt: a.CreatedAt}
	if a.AppID != "" {
		v.Kind, v.What, v.WhatURL = "app", nameOr(n.apps, a.AppID), filteredAssignments("app_id", a.AppID)
	} else {
		v.Kind, v.What, v.WhatURL = "policy", nameOr(n.policies, a.PolicyID), filteredAssignments("policy_id", a.PolicyID)
	}
	if a.GroupID != "" {
		v.TargetKind, v.Target, v.TargetURL = "group", nameOr(n.groups, a.GroupID), filteredAssignments("group_id", a.GroupID)
		return v, nil
	}
	username, err := n.users.name(ctx, s, a.UserID)
	v.TargetKind, v.Target, v.TargetURL = "user", username, filteredAssignments("user_id", a.UserID)
	return v, err
}

func filteredAssignments(filter, id string) string {
	return "/admin/assignments?" + url.Values{filter: {id}}.Encode()
}

type assignmentsPage struct {
	Assignments []assignmentView
	List        listPage
	QueryError  string
	Scope       string // what the list is narrowed to, in words; "" for everything
	NewURL      string // the assign form, with the filter's app, policy or group chosen
}

func (c *Console) listAssignments(ec echo.Context) error {
	ctx := ec.Request().Context()
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	opt.Name = "" // assignments have no name to search
	filters := assignmentFilter(ec)
	var page portal.Page[portal.Assignment]
	q := apiListQuery(opt, filters)
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/assignments?" + q.Encode(), Out: &page}); err != nil {
		return err
	}
	all, err := c.assignables(ctx)
	if err != nil {
		return err
	}
	names := all.names()
	p := assignmentsPage{QueryError: queryError, NewURL: "/admin/assignments/new"}
	for _, a := range page.Items {
		v, err := names.describe(ctx, c.store, a)
		if err != nil {
			return err
		}
		p.Assignments = append(p.Assignments, v)
	}
	if p.Scope, err = names.scope(ctx, c.store, filters); err != nil {
		return err
	}
	if len(filters) > 0 {
		p.NewURL += "?" + filters.Encode()
	}
	p.List = pagingWith("/admin/assignments", opt, page.Total, len(page.Items), filters)
	return c.page(ec, listCode(p.QueryError), "assignments", "Assignments", "assignments", p)
}

// assignmentFilter is the query string's filters, the first of each.
func assignmentFilter(ec echo.Context) url.Values {
	f := url.Values{}
	for _, name := range assignmentFilters {
		if v := ec.QueryParam(name); v != "" {
			f.Set(name, v)
		}
	}
	return f
}

func apiListQuery(opt portal.ListOptions, filters url.Values) url.Values {
	q := url.Values{"limit": {strconv.Itoa(opt.Limit)}, "offset": {strconv.Itoa(opt.Offset)}}
	for name, v := range filters {
		q[name] = v
	}
	return q
}

// scope says in words what the filters narrow the list to.
func (n assignmentNames) scope(ctx context.Context, s portal.UserStore, filters url.Values) (string, error) {
	var parts []string
	if id := filters.Get("app_id"); id != "" {
		parts = append(parts, "the app "+nameOr(n.apps, id))
	}
	if id := filters.Get("policy_id"); id != "" {
		parts = append(parts, "the policy "+nameOr(n.policies, id))
	}
	if id := filters.Get("group_id"); id != "" {
		parts = append(parts, "the group "+nameOr(n.groups, id))
	}
	if id := filters.Get("user_id"); id != "" {
		username, err := n.users.name(ctx, s, id)
		if err != nil {
			return "", err
		}
		parts = append(parts, "the user "+username)
	}
	return strings.Join(parts, " and "), nil
}

// countAssignments is how many assignments match filters, as the API counts them.
func (c *Console) countAssignments(ec echo.Context, filters url.Values) (int, error) {
	var page portal.Page[portal.Assignment]
	q := apiListQuery(portal.ListOptions{Limit: 1}, filters)
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/assignments?" + q.Encode(), Out: &page})
	return page.Total, err
}

// assignmentForm is what was chosen on the assign form. What is "app:<id>"
// or "policy:<id>"; the target is a group or a username.
type assignmentForm struct {
	What, GroupID, Username string
}

func readAssignmentForm(ec echo.Context) assignmentForm {
	in := ec.Request().PostForm
	return assignmentForm{What: in.Get("what"), GroupID: in.Get("group_id"), Username: strings.TrimSpace(in.Get("username"))}
}

// assignmentRequest is the body of the API's POST /assignments.
type assignmentRequest struct {
	AppID    string `json:"app_id,omitempty"`
	PolicyID string `json:"policy_id,omitempty"`
	GroupID  string `json:"group_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
}

// request is the form as the API takes it. A choice that is neither an app
// nor a policy is sent as neither, for the API to refuse in its own words.
func (f assignmentForm) request(userID string) assignmentRequest {
	r := assignmentRequest{GroupID: f.GroupID, UserID: userID}
	kind, id, _ := strings.Cut(f.What, ":")
	switch kind {
	case "app":
		r.AppID = id
	case "policy":
		r.PolicyID = id
	}
	return r
}

// assignmentInputs name the form's input for each field the API may refuse.
var assignmentInputs = map[string]string{"app_id": "what", "policy_id": "what", "group_id": "group_id", "user_id": "username"}

// addAssignmentError records the API's refusal beside the input it is about.
func (e *formErrors) addAssignmentError(err error) bool {
	var pe *portal.Error
	if errors.As(err, &pe) {
		if input, ok := assignmentInputs[pe.Field]; ok {
			moved := *pe
			moved.Msg, moved.Field = strings.TrimPrefix(pe.Msg, pe.Field+": "), input
			err = &moved
		}
	}
	return e.add(err)
}

type assignmentFormPage struct {
	Apps, Policies, Groups []ruleChoice
	What, Group, Username  field
	Problems               []problem
}

// assignmentForm answers the assign form with what was chosen and, after a
// refusal, the API's message beside the input it is about.
func (c *Console) assignmentForm(ec echo.Context, status int, f assignmentForm, errs formErrors) error {
	all, err := c.assignables(ec.Request().Context())
	if err != nil {
		return err
	}
	var p assignmentFormPage
	fields := []field{
		{Name: "what", Label: "App or policy", Type: "select", Value: f.What, Required: true},
		{Name: "group_id", Label: "Group", Type: "select", Value: f.GroupID,
			Hint: "Every member of the group, now and later."},
		{Name: "username", Label: "Or one user", Type: "text", Value: f.Username, Autocomplete: "off",
			Hint: "A username, e.g. alice; leave the group unset to use it."},
	}
	fields, p.Problems = withErrors(fields, errs.shownOn(fields))
	p.What, p.Group, p.Username = fields[0], fields[1], fields[2]
	if len(p.Problems) == 0 {
		p.What.Autofocus = true
	}
	for _, a := range all.Apps {
		p.Apps = append(p.Apps, ruleChoice{Value: "app:" + a.ID, Label: appLabel(a), Selected: f.What == "app:"+a.ID})
	}
	for _, pol := range all.Policies {
		p.Policies = append(p.Policies, ruleChoice{Value: "policy:" + pol.ID, Label: pol.Name, Selected: f.What == "policy:"+pol.ID})
	}
	for _, g := range all.Groups {
		p.Groups = append(p.Groups, ruleChoice{Value: g.ID, Label: g.Name, Selected: f.GroupID == g.ID})
	}
	return c.page(ec, status, "assignment_form", "Assign an app or a policy", "assignments", p)
}

// newAssignment starts the form with what its link names already chosen,
// so "assign this policy" from a filtered list needs one choice less.
func (c *Console) newAssignment(ec echo.Context) error {
	f := assignmentForm{GroupID: ec.QueryParam("group_id")}
	if id := ec.QueryParam("app_id"); id != "" {
		f.What = "app:" + id
	}
	if id := ec.QueryParam("policy_id"); id != "" {
		f.What = "policy:" + id
	}
	if id := ec.QueryParam("user_id"); id != "" {
		username, err := (userNames{}).name(ec.Request().Context(), c.store, id)
		if err != nil {
			return err
		}
		f.Username = username
	}
	return c.assignmentForm(ec, http.StatusOK, f, formErrors{})
}

func (c *Console) createAssignment(ec echo.Context) error {
	f := readAssignmentForm(ec)
	var errs formErrors
	userID, err := c.userIDFor(ec.Request().Context(), f.Username)
	if !errs.add(err) {
		return err
	}
	if errs.empty() {
		var created portal.Assignment
		_, _, err = c.callAPI(ec, apiCall{Method: http.MethodPost, Path: "/assignments", JSON: f.request(userID), Out: &created})
		if err == nil {
			return c.assigned(ec, created)
		}
		if !errs.addAssignmentError(err) {
			return err
		}
	}
	return c.assignmentForm(ec, http.StatusUnprocessableEntity, f, errs)
}

// assigned confirms a new assignment in words and goes back to the list.
func (c *Console) assigned(ec echo.Context, a portal.Assignment) error {
	ctx := ec.Request().Context()
	all, err := c.assignables(ctx)
	if err != nil {
		return err
	}
	v, err := all.names().describe(ctx, c.store, a)
	if err != nil {
		return err
	}
	c.setFlash(ec, "The "+v.Kind+" "+v.What+" now reaches the "+v.TargetKind+" "+v.Target+".")
	return ec.Redirect(http.StatusSeeOther, "/admin/assignments")
}

// userIDFor finds the user with this username: the exact name, or else the
// only one that differs from it in case alone. The store's search matches
// parts of names, so the answer is picked from its results. No username is
// no user.
func (c *Console) userIDFor(ctx context.Context, username string) (string, error) {
	if username == "" {
		return "", nil
	}
	page, err := c.store.Users(ctx, portal.ListOptions{Name: username, Limit: 500})
	if err != nil {
		return "", err
	}
	var folded []string
	for _, u := range page.Items {
		if u.Username == username {
			return u.ID, nil
		}
		if strings.EqualFold(u.Username, username) {
			folded = append(folded, u.ID)
		}
	}
	if len(folded) == 1 {
		return folded[0], nil
	}
	return "", &portal.Error{Code: portal.CodeInvalid, Field: "username",
		Msg: "no user is called “" + username + "”; check the spelling on the Users page"}
}

// assignment fetches the assignment named in the path through the API, in words.
func (c *Console) assignment(ec echo.Context) (assignmentView, error) {
	ctx := ec.Request().Context()
	var a portal.Assignment
	path := "/assignments/" + url.PathEscape(ec.Param("id"))
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: path, Out: &a}); err != nil {
		return assignmentView{}, err
	}
	all, err := c.assignables(ctx)
	if err != nil {
		return assignmentView{}, err
	}
	return all.names().describe(ctx, c.store, a)
}

type removeAssignmentPage struct {
	Assignment assignmentView
	Action     string
}

func (c *Console) confirmRemoveAssignment(ec echo.Context) error {
	v, err := c.assignment(ec)
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "assignment_remove", "Remove "+v.What+" from "+v.Target, "assignments", removeAssignmentPage{
		Assignment: v, Action: "/admin/assignments/" + url.PathEscape(v.ID) + "/delete",
	})
}

func (c *Console) removeAssignment(ec echo.Context) error {
	v, err := c.assignment(ec)
	if err != nil {
		return err
	}
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: "/assignments/" + url.PathEscape(v.ID)}); err != nil {
		return err
	}
	c.setFlash(ec, "The "+v.Kind+" "+v.What+" no longer reaches the "+v.TargetKind+" "+v.Target+".")
	return ec.Redirect(http.StatusSeeOther, "/admin/assignments")
}
