package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// registerCollaboration mounts the collaboration page: everyone sees the
// live sessions and the settings; the admin role ends sessions and changes
// the settings, through the admin API, whose rules and audit entries are
// the console's.
func (c *Console) registerCollaboration(read, write chain) {
	read.GET(collabPagePath, c.showCollaboration)
	write.POST(collabPagePath+"/settings", c.saveCollaborationSettings)
	write.POST(collabPagePath+"/sessions/:id/end", c.endCollaborationSession)
	write.POST(collabPagePath+"/groups", c.saveCollaborationGroups)
}

const collabPagePath = "/admin/collaboration"

// collabSettings is the API's CollaborationSettings.
type collabSettings struct {
	MaxSessions int    `json:"max_sessions"`
	IdleTimeout string `json:"idle_timeout"`
	GraceWindow string `json:"grace_window"`
	Server      struct {
		Host           string `json:"host"`
		Port           int    `json:"port"`
		Domain         string `json:"domain"`
		MaxConnections int    `json:"max_connections"`
	} `json:"server"`
}

// collabForm is the settings form as sent.
type collabForm struct {
	MaxSessions, IdleTimeout, GraceWindow, Host, Port, Domain, MaxConnections string
}

func collabFormOf(s collabSettings) collabForm {
	return collabForm{MaxSessions: strconv.Itoa(s.MaxSessions), IdleTimeout: s.IdleTimeout, GraceWindow: s.GraceWindow,
		Host: s.Server.Host, Port: strconv.Itoa(s.Server.Port), Domain: s.Server.Domain, MaxConnections: strconv.Itoa(s.Server.MaxConnections)}
}

func readCollabForm(ec echo.Context) collabForm {
	f := ec.Request().PostForm
	get := func(name string) string { return strings.TrimSpace(f.Get(name)) }
	return collabForm{MaxSessions: get("max_sessions"), IdleTimeout: get("idle_timeout"), GraceWindow: get("grace_window"),
		Host: get("server.host"), Port: get("server.port"), Domain: get("server.domain"), MaxConnections: get("server.max_connections")}
}

// request is the API's CollaborationSettingsUpdate; a number that is not one
// goes as a string, for the API to refuse naming its field.
func (f collabForm) request() map[string]any {
	number := func(s string) any {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		return s
	}
	return map[string]any{
		"max_sessions": number(f.MaxSessions), "idle_timeout": f.IdleTimeout, "grace_window": f.GraceWindow,
		"server": map[string]any{"host": f.Host, "port": number(f.Port), "domain": f.Domain, "max_connections": number(f.MaxConnections)},
	}
}

type collabPage struct {
	Sessions []portal.CollaborationSession
	Settings collabSettings
	Fields   map[string]field
	Problems []problem
	// Groups are every group, each with whether its members may collaborate.
	Groups []collabGroup
	// MoreGroups is set when there are more groups than the page lists.
	MoreGroups bool
}

// collabGroup is the API's Group, as far as this page needs it.
type collabGroup struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Members       int    `json:"members"`
	Collaboration bool   `json:"collaboration"`
}

// maxGroupsListed is how many groups the permission form lists.
const maxGroupsListed = 500

func (c *Console) collabGroups(ec echo.Context) ([]collabGroup, bool, error) {
	var page struct {
		Items []collabGroup `json:"items"`
		Total int           `json:"total"`
	}
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/groups?limit=" + strconv.Itoa(maxGroupsListed), Out: &page})
	return page.Items, page.Total > len(page.Items), err
}

func (c *Console) showCollaboration(ec echo.Context) error {
	return c.collaborationPage(ec, http.StatusOK, nil, formErrors{})
}

// collaborationPage answers the live sessions, the settings and the form to
// change them: as saved, or as sent when the API refused them.
func (c *Console) collaborationPage(ec echo.Context, status int, sent *collabForm, errs formErrors) error {
	var p collabPage
	var list struct {
		Items []portal.CollaborationSession `json:"items"`
	}
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/collaboration/sessions", Out: &list}); err != nil {
		return err
	}
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: "/collaboration/settings", Out: &p.Settings}); err != nil {
		return err
	}
	p.Sessions = list.Items
	var err error
	if p.Groups, p.MoreGroups, err = c.collabGroups(ec); err != nil {
		return err
	}
	f := collabFormOf(p.Settings)
	if sent != nil {
		f = *sent
	}
	names := []string{"max_sessions", "idle_timeout", "grace_window", "server.host", "server.port", "server.domain", "server.max_connections"}
	fields, problems := withErrors([]field{
		{Name: "max_sessions", Label: "Session cap", Type: "number", Value: f.MaxSessions,
			Hint: "The most sessions at once; 0 for no cap."},
		{Name: "idle_timeout", Label: "Idle timeout", Value: f.IdleTimeout,
			Hint: "When the cap is reached, sessions whose device sent no status for this long are evicted to admit a new logon, oldest first; without one the logon is refused as Server Busy. A duration such as 30s, 5m or 1h; 0 never evicts."},
		{Name: "grace_window", Label: "Grace window", Value: f.GraceWindow,
			Hint: "How long a session is kept after its device drops out of coverage, for it to come back without a new logon at the messaging server. 0 ends it at once."},
		{Name: "server.host", Label: "Messaging server host", Value: f.Host, Hint: "The XMPP server’s host name or IP address."},
		{Name: "server.port", Label: "Port", Type: "number", Value: f.Port, Hint: "Its client port, usually 5222."},
		{Name: "server.domain", Label: "XMPP domain", Value: f.Domain, Hint: "Users log on as username@domain; the server’s certificate must name it."},
		{Name: "server.max_connections", Label: "Server’s connection limit", Type: "number", Value: f.MaxConnections,
			Hint: "With no session cap, a logon beyond this many connections is refused as Failed; 0 leaves it to the server."},
	}, formLevel(errs, names...))
	p.Fields, p.Problems = map[string]field{}, problems
	for _, fl := range fields {
		p.Fields[fl.Name] = fl
	}
	return c.page(ec, status, "collaboration", "Collaboration", "collaboration", p)
}

func (c *Console) saveCollaborationSettings(ec echo.Context) error {
	f := readCollabForm(ec)
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodPut, Path: "/collaboration/settings", JSON: f.request()}); err != nil {
		var errs formErrors
		if !errs.add(err) {
			return err
		}
		return c.collaborationPage(ec, http.StatusUnprocessableEntity, &f, errs)
	}
	c.setFlash(ec, "The collaboration settings were saved; they apply from the next logon.")
	return ec.Redirect(http.StatusSeeOther, collabPagePath)
}

func (c *Console) endCollaborationSession(ec echo.Context) error {
	id := ec.Param("id")
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: "/collaboration/sessions/" + url.PathEscape(id)}); err != nil {
		return err
	}
	c.setFlash(ec, "The session was ended: its device was logged off the messaging server and told why.")
	return ec.Redirect(http.StatusSeeOther, collabPagePath)
}

// saveCollaborationGroups lets the ticked groups' members collaborate, and
// no other group's, changing only the groups whose setting differs.
func (c *Console) saveCollaborationGroups(ec echo.Context) error {
	groups, _, err := c.collabGroups(ec)
	if err != nil {
		return err
	}
	ticked := map[string]bool{}
	for _, id := range ec.Request().PostForm["group"] {
		ticked[id] = true
	}
	changed := 0
	for _, g := range groups {
		if g.Collaboration == ticked[g.ID] {
			continue
		}
		call := apiCall{Method: http.MethodPatch, Path: "/groups/" + url.PathEscape(g.ID), JSON: map[string]bool{"collaboration": ticked[g.ID]}}
		if _, _, err := c.callAPI(ec, call); err != nil {
			return err
		}
		changed++
	}
	switch changed {
	case 0:
		c.setFlash(ec, "No group changed.")
	case 1:
		c.setFlash(ec, "One group changed: its members’ permission applies from their next logon.")
	default:
		c.setFlash(ec, strconv.Itoa(changed)+" groups changed: their members’ permission applies from their next logon.")
	}
	return ec.Redirect(http.StatusSeeOther, collabPagePath)
}
