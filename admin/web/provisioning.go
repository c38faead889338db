package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"provportal/portal"
	"provportal/sms"
)

// registerProvisioning mounts the pages that get users onto their devices:
// provisioning messages, which both roles may send because the API lets the
// helpdesk send them, and activation passwords, which only the admin role sets.
func (c *Console) registerProvisioning(read, write chain) {
	read.GET("/admin/provisioning", c.showProvisioning)
	// The recipients form posts back to itself to search and page, so the
	// users already chosen travel with it.
	read.POST("/admin/provisioning", c.pickRecipients)
	read.POST("/admin/provisioning/preview", c.previewMessage)
	read.POST("/admin/provisioning/send", c.sendMessages)
	c.registerActivationPasswords(write)
}

// messagePreview is the API's "Generate provisioning SMS message" answer.
type messagePreview struct {
	Body     string       `json:"body"`
	Segments sms.Segments `json:"segments"`
	UserID   string       `json:"user_id,omitempty"`
}

// Characters is the body's length as people count it; Segments counts
// what the carrier bills.
func (m messagePreview) Characters() int { return utf8.RuneCountInString(m.Body) }

// smsMessage asks the API for the generic message, or with a user ID for
// that user's personalised one.
func (c *Console) smsMessage(ec echo.Context, userID string) (messagePreview, error) {
	path := "/provisioning/sms-message"
	if userID != "" {
		path += "?user_id=" + url.QueryEscape(userID)
	}
	var m messagePreview
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: path, Out: &m})
	return m, err
}

// recipientsForm is the recipients form as sent: the users chosen so far,
// the group, and where the search for more users stands.
type recipientsForm struct {
	UserIDs []string
	GroupID string
	Search  string
	Offset  int
}

// maxSearchLength is the API's limit on a list's name filter.
const maxSearchLength = 200

// readRecipientsForm reads the form. A paging button's "go" wins over the
// page the form was on, so Previous and Next need no script.
func readRecipientsForm(ec echo.Context) recipientsForm {
	f := ec.Request().PostForm
	r := recipientsForm{GroupID: f.Get("group_id"), Search: f.Get("name")}
	if len(r.Search) > maxSearchLength {
		r.Search = r.Search[:maxSearchLength]
	}
	for _, id := range f["user_ids"] {
		if id != "" && !slices.Contains(r.UserIDs, id) {
			r.UserIDs = append(r.UserIDs, id)
		}
	}
	offset := f.Get("offset")
	if g := f.Get("go"); g != "" {
		offset = g
	}
	if n, err := strconv.Atoi(offset); err == nil && n > 0 {
		r.Offset = n
	}
	return r
}

// sendRequest is the API's SMSSendRequest; an empty choice is sent as it
// is, for the API to refuse in its own words.
type sendRequest struct {
	UserIDs []string `json:"user_ids,omitempty"`
	GroupID string   `json:"group_id,omitempty"`
}

func (f recipientsForm) request() sendRequest {
	return sendRequest{UserIDs: f.UserIDs, GroupID: f.GroupID}
}

// userChoice is one user offered by the recipients form.
type userChoice struct {
	ID, Username, DisplayName, Phone string
	Known                            bool // false: no user has this ID any more
}

func choiceOf(u *portal.User) userChoice {
	return userChoice{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Phone: u.Phone, Known: true}
}

type groupOption struct {
	ID, Name string
	Members  int
	Selected bool
}

// recipientsPager pages the search results with buttons, since each page
// must post the choices made so far.
type recipientsPager struct {
	listPage
	Offset           int
	PrevAt, NextAt   int
	HasPrev, HasNext bool
}

type provisioningPage struct {
	Generic      messagePreview
	GenericError string // the template does not compose
	Chosen       []userChoice
	Found        []userChoice // this page of the search, less those chosen
	Pager        recipientsPager
	Groups       []groupOption
	UsersError   string
	GroupError   string
	Problems     []problem
	Preview      *messagePreview
	PreviewFor   userChoice
}

// provisioningPage answers the message and the recipients form as f left
// it, with the API's refusals beside their fields.
func (c *Console) provisioningPage(ec echo.Context, status int, f recipientsForm, errs formErrors, preview *messagePreview) error {
	ctx := ec.Request().Context()
	p := provisioningPage{Preview: preview}
	generic, err := c.smsMessage(ec, "")
	if msg, ok := refusal(err); ok {
		p.GenericError = msg
	} else if err != nil {
		return err
	}
	p.Generic = generic

	fields, problems := withErrors([]field{
		{Name: "user_ids", Label: "Users"},
		{Name: "group_id", Label: "Group"},
	}, formLevel(errs, "user_ids", "group_id"))
	p.UsersError, p.GroupError, p.Problems = fields[0].Error, fields[1].Error, problems

	if p.Chosen, err = c.chosenUsers(ctx, f.UserIDs); err != nil {
		return err
	}
	if preview != nil && len(p.Chosen) > 0 {
		p.PreviewFor = p.Chosen[0]
	}
	if err := c.findUsers(ctx, f, &p); err != nil {
		return err
	}
	if p.Groups, err = c.groupOptions(ctx, f.GroupID); err != nil {
		return err
	}
	return c.page(ec, status, "provisioning", "Provisioning", "provisioning", p)
}

// refusal is the message of an error the person can act on, such as a
// template that no longer composes.
func refusal(err error) (string, bool) {
	var fe formErrors
	if err == nil || !fe.add(err) {
		return "", false
	}
	return fieldMessageOf(fe), true
}

// formLevel keeps beside their fields only the refusals of fields the form
// has; any other, such as the template's, goes above the form.
func formLevel(errs formErrors, fields ...string) formErrors {
	out := formErrors{Form: errs.Form}
	for name, msg := range errs.Fields {
		if !slices.Contains(fields, name) {
			out.Form = append(out.Form, msg)
			continue
		}
		if out.Fields == nil {
			out.Fields = map[string]string{}
		}
		out.Fields[name] = msg
	}
	return out
}

// chosenUsers are the users ticked so far, in the order they were chosen.
// An ID no user has any more stays, so the API can say so.
func (c *Console) chosenUsers(ctx context.Context, ids []string) ([]userChoice, error) {
	var out []userChoice
	for _, id := range ids {
		u, err := c.store.User(ctx, id)
		switch {
		case portal.IsNotFound(err):
			out = append(out, userChoice{ID: id, Username: id})
		case err != nil:
			return nil, err
		default:
			out = append(out, choiceOf(u))
		}
	}
	return out, nil
}

// findUsers fills in one page of the users whose username matches the
// search: the store filters, so the form stays small with thousands of users.
func (c *Console) findUsers(ctx context.Context, f recipientsForm, p *provisioningPage) error {
	opt := portal.ListOptions{Name: f.Search, Offset: f.Offset, Limit: consolePageSize}
	page, err := c.store.Users(ctx, opt)
	if err != nil {
		return err
	}
	for i := range page.Items {
		if !slices.Contains(f.UserIDs, page.Items[i].ID) {
			p.Found = append(p.Found, choiceOf(&page.Items[i]))
		}
	}
	p.Pager = recipientsPager{listPage: paging("/admin/provisioning", opt, page.Total, len(page.Items)), Offset: f.Offset,
		HasPrev: f.Offset > 0, PrevAt: max(f.Offset-consolePageSize, 0),
		HasNext: f.Offset+consolePageSize < page.Total, NextAt: f.Offset + consolePageSize}
	return nil
}

func (c *Console) groupOptions(ctx context.Context, selected string) ([]groupOption, error) {
	groups, err := c.allGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]groupOption, 0, len(groups))
	for _, g := range groups {
		out = append(out, groupOption{ID: g.ID, Name: g.Name, Members: g.Members, Selected: g.ID == selected})
	}
	return out, nil
}

// showProvisioning is the page as first opened: nobody chosen yet.
func (c *Console) showProvisioning(ec echo.Context) error {
	return c.provisioningPage(ec, http.StatusOK, recipientsForm{}, formErrors{}, nil)
}

// pickRecipients searches or pages, keeping what was chosen.
func (c *Console) pickRecipients(ec echo.Context) error {
	return c.provisioningPage(ec, http.StatusOK, readRecipientsForm(ec), formErrors{}, nil)
}

// previewMessage shows the first chosen user's message as the API would
// compose it, with a link as long as a real one.
func (c *Console) previewMessage(ec echo.Context) error {
	f := readRecipientsForm(ec)
	if len(f.UserIDs) == 0 {
		errs := formErrors{Fields: map[string]string{"user_ids": "Choose a user to preview their message."}}
		return c.provisioningPage(ec, http.StatusUnprocessableEntity, f, errs, nil)
	}
	m, err := c.smsMessage(ec, f.UserIDs[0])
	if status, errs, ok := formRefusal(err, "user_ids"); ok {
		return c.provisioningPage(ec, status, f, errs, nil)
	} else if err != nil {
		return err
	}
	return c.provisioningPage(ec, http.StatusOK, f, formErrors{}, &m)
}

// formRefusal reads an API refusal for the form: the status to answer and
// the messages to show. A user that is gone, which the API answers with no
// field, is shown beside field.
func formRefusal(err error, field string) (int, formErrors, bool) {
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Code == portal.CodeInternal {
		return 0, formErrors{}, false
	}
	if pe.Field == "" && pe.Code == portal.CodeNotFound {
		return http.StatusUnprocessableEntity, formErrors{Fields: map[string]string{field: fieldMessage(pe)}}, true
	}
	var errs formErrors
	errs.add(pe)
	return pe.Code.Status(), errs, true
}

// sendMessages asks the API to send, and answers what it did; the answer is
// the only place the links are shown together, so there is no redirect.
func (c *Console) sendMessages(ec echo.Context) error {
	f := readRecipientsForm(ec)
	var res sendResult
	_, _, err := c.callAPI(ec, apiCall{Method: http.MethodPost, Path: "/provisioning/sms", JSON: f.request(), Out: &res})
	if status, errs, ok := formRefusal(err, "user_ids"); ok {
		return c.provisioningPage(ec, status, f, errs, nil)
	} else if err != nil {
		return err
	}
	p, err := c.sentPage(ec.Request().Context(), res)
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "provisioning_sent", "Provisioning messages sent", "provisioning", p)
}

// sendResult is the API's SMSSendResult.
type sendResult struct {
	Queued []struct {
		UserID       string       `json:"user_id"`
		MessageID    string       `json:"message_id"`
		InvitationID string       `json:"invitation_id"`
		To           string       `json:"to"`
		Segments     sms.Segments `json:"segments"`
		Link         string       `json:"link"`
	} `json:"queued"`
	Skipped []struct {
		UserID string `json:"user_id"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// sentRow is one recipient of a send: queued with its link, or not sent and why.
type sentRow struct {
	User     userChoice
	Queued   bool
	To       string
	Segments sms.Segments
	Reason   string
	Link     string
	QR       template.URL // a data: URI of the link's QR code
}

type sentPage struct {
	Rows       []sentRow
	Queued     int
	Skipped    int
	QRLeftOut  int // links past maxQRCodes, shown without a code
	MaxQRCodes int
}

// maxQRCodes bounds the codes one page draws: past a few dozen people are
// better served by the messages themselves, and the page stays light.
const maxQRCodes = 50

// qrSize is the codes' width in pixels, as on the landing page.
const qrSize = 220

// sentPage lists the users skipped first, since they need something done,
// then each queued message with its invitation link and code.
func (c *Console) sentPage(ctx context.Context, res sendResult) (sentPage, error) {
	p := sentPage{Queued: len(res.Queued), Skipped: len(res.Skipped), MaxQRCodes: maxQRCodes}
	for _, s := range res.Skipped {
		u, err := c.recipient(ctx, s.UserID)
		if err != nil {
			return p, err
		}
		p.Rows = append(p.Rows, sentRow{User: u, Reason: sentence(s.Reason)})
	}
	for i, q := range res.Queued {
		u, err := c.recipient(ctx, q.UserID)
		if err != nil {
			return p, err
		}
		row := sentRow{User: u, Queued: true, To: q.To, Segments: q.Segments, Link: q.Link}
		if i < maxQRCodes {
			row.QR = qrDataURI(row.Link)
		} else if row.Link != "" {
			p.QRLeftOut++
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

func (c *Console) recipient(ctx context.Context, id string) (userChoice, error) {
	u, err := c.store.User(ctx, id)
	if portal.IsNotFound(err) {
		return userChoice{ID: id, Username: id}, nil
	}
	if err != nil {
		return userChoice{}, err
	}
	return choiceOf(u), nil
}

// qrDataURI draws link as a PNG QR code inside a data: URI, which the
// console's content security policy allows for images; "" when there is no link.
func qrDataURI(link string) template.URL {
	if link == "" {
		return ""
	}
	png, err := qrcode.Encode(link, qrcode.Medium, qrSize)
	if err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}
