package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	"provportal/portal/deviceapi"
	"provportal/portal/web"
	"provportal/sms"
)

// Names of the settings the provisioning pages change.
const (
	settingSMSTemplate = "sms.template"
	settingOrgName     = "org.name"
)

// Provisioning is what sending provisioning messages needs beyond the store.
type Provisioning struct {
	PublicURL string
	// Alias is the portal's name on a switching relay, when it is on one:
	// the message's {{.Server}} then names the alias, not a host.
	Alias         string
	OrgName       string
	InvitationTTL time.Duration
	// Queued is told when messages were queued, so the sender wakes at once.
	Queued func()
}

// newInvitationToken makes a token of 128 random bits, URL-safe.
func newInvitationToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// server is what the message calls the portal: its host and port.
func (a *API) server() string {
	if a.prov.Alias != "" {
		// Devices of a portal on a relay find it by its alias.
		return a.prov.Alias
	}
	u, err := url.Parse(a.prov.PublicURL)
	if err != nil {
		return a.prov.PublicURL
	}
	return u.Host
}

func (a *API) settings(ctx context.Context) (tmpl, org string, err error) {
	tmpl, ok, err := a.store.Setting(ctx, settingSMSTemplate)
	if err != nil {
		return "", "", err
	}
	if !ok {
		tmpl = sms.DefaultTemplate
	}
	org, ok, err = a.store.Setting(ctx, settingOrgName)
	if err != nil {
		return "", "", err
	}
	if !ok {
		org = a.prov.OrgName
	}
	return tmpl, org, nil
}

type messagePreview struct {
	Body     string       `json:"body"`
	Segments sms.Segments `json:"segments"`
	UserID   string       `json:"user_id,omitempty"`
}

// getSMSMessage is "Generate provisioning SMS message": the generic text for
// the whole installation, or with ?user_id= a personalised preview whose
// link has the length a real one will have.
func (a *API) getSMSMessage(c echo.Context) error {
	ctx := c.Request().Context()
	tmpl, org, err := a.settings(ctx)
	if err != nil {
		return err
	}
	base := strings.TrimRight(a.prov.PublicURL, "/")
	f := sms.Fields{Org: org, Link: base + "/download", Server: a.server()}
	if id := c.QueryParam("user_id"); id != "" {
		u, err := a.store.User(ctx, id)
		if err != nil {
			return err
		}
		sample, _ := newInvitationToken()
		f.Name, f.Username, f.Link = displayName(u), u.Username, base+"/p/"+sample
	}
	body, err := sms.Compose(tmpl, f)
	if err != nil {
		return portal.Invalid("template", "the SMS template does not work: %v", err)
	}
	return c.JSON(http.StatusOK, messagePreview{Body: body, Segments: sms.Count(body), UserID: c.QueryParam("user_id")})
}

func displayName(u *portal.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

type sendRequest struct {
	UserIDs []string `json:"user_ids"`
	GroupID string   `json:"group_id"`
}

type sendResult struct {
	Queued  []queuedMessage  `json:"queued"`
	Skipped []skippedMessage `json:"skipped"`
}

type queuedMessage struct {
	UserID       string       `json:"user_id"`
	MessageID    string       `json:"message_id"`
	InvitationID string       `json:"invitation_id"`
	To           string       `json:"to"`
	Segments     sms.Segments `json:"segments"`
	// Link is the invitation link the message carries. It is answered this
	// once: the portal keeps only a hash of its token.
	Link string `json:"link"`
}

type skippedMessage struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// postSMS creates an invitation per user and queues a personalised message
// to each; users who cannot get one are listed with the reason.
func (a *API) postSMS(c echo.Context) error {
	ctx := c.Request().Context()
	var req sendRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if (len(req.UserIDs) == 0) == (req.GroupID == "") {
		return portal.Invalid("user_ids", "choose the users to send to (user_ids) or one group (group_id), not both")
	}
	if len(req.UserIDs) > 1000 {
		return portal.Invalid("user_ids", "send to at most 1000 users at once")
	}
	users, err := a.recipients(ctx, req)
	if err != nil {
		return err
	}
	tmpl, org, err := a.settings(ctx)
	if err != nil {
		return err
	}
	res := sendResult{Queued: []queuedMessage{}, Skipped: []skippedMessage{}}
	for _, u := range users {
		switch {
		case u.Phone == "":
			res.Skipped = append(res.Skipped, skippedMessage{u.ID, "the user has no phone number"})
			continue
		case u.SMSOptedOut:
			res.Skipped = append(res.Skipped, skippedMessage{u.ID, "the user has opted out of text messages (replied STOP)"})
			continue
		}
		token, err := newInvitationToken()
		if err != nil {
			return err
		}
		link := strings.TrimRight(a.prov.PublicURL, "/") + "/p/" + token
		body, err := sms.Compose(tmpl, sms.Fields{Org: org, Name: displayName(u), Username: u.Username,
			Link: link, Server: a.server()})
		if err != nil {
			return portal.Invalid("template", "the SMS template does not work: %v", err)
		}
		inv := portal.Invitation{UserID: u.ID, ExpiresAt: time.Now().Add(a.prov.InvitationTTL)}
		msg := portal.SMSMessage{To: u.Phone, Body: body}
		if err := a.store.CreateInvitation(ctx, &inv, deviceapi.HashToken(token), &msg); err != nil {
			return err
		}
		res.Queued = append(res.Queued, queuedMessage{UserID: u.ID, MessageID: msg.ID, InvitationID: inv.ID, To: msg.To, Segments: sms.Count(body), Link: link})
	}
	if len(res.Queued) > 0 && a.prov.Queued != nil {
		a.prov.Queued()
	}
	return c.JSON(http.StatusAccepted, res)
}

// recipients resolves the request to users, refusing unknown IDs before anything is queued.
func (a *API) recipients(ctx context.Context, req sendRequest) ([]*portal.User, error) {
	var out []*portal.User
	if req.GroupID != "" {
		if _, err := a.store.Group(ctx, req.GroupID); portal.IsNotFound(err) {
			return nil, portal.Invalid("group_id", "group %s does not exist", req.GroupID)
		} else if err != nil {
			return nil, err
		}
		for offset := 0; ; offset += 500 {
			page, err := a.store.Users(ctx, portal.ListOptions{Limit: 500, Offset: offset})
			if err != nil {
				return nil, err
			}
			for i := range page.Items {
				for _, g := range page.Items[i].Groups {
					if g == req.GroupID {
						out = append(out, &page.Items[i])
					}
				}
			}
			if offset+len(page.Items) >= page.Total || len(page.Items) == 0 {
				return out, nil
			}
		}
	}
	seen := map[string]bool{}
	for _, id := range req.UserIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := a.store.User(ctx, id)
		if portal.IsNotFound(err) {
			return nil, portal.Invalid("user_ids", "user %s does not exist", id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (a *API) listSMS(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.SMSMessages(c.Request().Context(), portal.SMSFilter{ListOptions: opt,
		UserID: c.QueryParam("user_id"), Status: c.QueryParam("status"), To: c.QueryParam("to")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

type invitationView struct {
	portal.Invitation
	State portal.InvitationState `json:"state"`
}

func (a *API) listInvitations(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Invitations(c.Request().Context(), c.QueryParam("user_id"), opt)
	if err != nil {
		return err
	}
	out := portal.Page[invitationView]{Items: make([]invitationView, len(page.Items)), Total: page.Total, Limit: page.Limit, Offset: page.Offset}
	now := time.Now()
	for i, inv := range page.Items {
		out.Items[i] = invitationView{inv, inv.State(now)}
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) revokeInvitation(c echo.Context) error {
	inv, err := a.store.RevokeInvitation(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, invitationView{*inv, inv.State(time.Now())})
}

type smsSettings struct {
	Template *string `json:"template"`
	OrgName  *string `json:"org_name"`
}

func (a *API) getSMSSettings(c echo.Context) error {
	tmpl, org, err := a.settings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"template": tmpl, "org_name": org, "default_template": sms.DefaultTemplate})
}

func (a *API) putSMSSettings(c echo.Context) error {
	ctx := c.Request().Context()
	var req smsSettings
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Template != nil {
		if err := sms.ValidateTemplate(*req.Template); err != nil {
			return portal.Invalid("template", "%v", err)
		}
	}
	if req.OrgName != nil {
		if err := checkName("org_name", *req.OrgName, true, 60); err != nil {
			return err
		}
	}
	// Both are checked before either is written, so a refused request changes nothing.
	if req.Template != nil {
		if err := a.store.PutSetting(ctx, settingSMSTemplate, *req.Template); err != nil {
			return err
		}
	}
	if req.OrgName != nil {
		if err := a.store.PutSetting(ctx, settingOrgName, *req.OrgName); err != nil {
			return err
		}
	}
	return a.getSMSSettings(c)
}

// smsStatus takes Twilio's delivery reports. Only a request signed with the
// account's auth token changes anything.
func (a *API) smsStatus(c echo.Context) error {
	if a.twilioToken == "" {
		return portal.Errorf(portal.CodeNotFound, "Twilio is not configured on this portal")
	}
	if err := c.Request().ParseForm(); err != nil {
		return portal.Errorf(portal.CodeMalformed, "the body is not a form")
	}
	full := strings.TrimRight(a.prov.PublicURL, "/") + c.Request().URL.RequestURI()
	if !sms.VerifySignature(a.twilioToken, full, c.Request().PostForm, c.Request().Header.Get(sms.SignatureHeader)) {
		return portal.Errorf(portal.CodeForbidden, "the request is not signed by Twilio")
	}
	sid, status, code := sms.ParseStatus(c.Request().PostForm)
	if sid == "" || status == "" {
		return c.NoContent(http.StatusNoContent) // a status we do not track
	}
	err := a.store.UpdateSMSStatus(c.Request().Context(), sid, status, code)
	if err != nil && !portal.IsNotFound(err) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) getServiceBooks(c echo.Context) error {
	raw, ok, err := a.store.Setting(c.Request().Context(), portal.SettingServiceBooks)
	if err != nil {
		return err
	}
	books := portal.DefaultServiceBooks
	if ok {
		if books, err = portal.DecodeServiceBooks([]byte(raw)); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": books})
}

// putServiceBooks replaces the service book templates every activated device gets.
func (a *API) putServiceBooks(c echo.Context) error {
	var req struct {
		Items json.RawMessage `json:"items"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	books, err := portal.DecodeServiceBooks(req.Items)
	if err != nil {
		return err
	}
	b, err := json.Marshal(books)
	if err != nil {
		return err
	}
	if err := a.store.PutSetting(c.Request().Context(), portal.SettingServiceBooks, string(b)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": books})
}
