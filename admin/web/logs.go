package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// smsRow is one message of the outbox, with its user's name.
type smsRow struct {
	Message portal.SMSMessage
	User    string
}

type smsPage struct {
	Messages   []smsRow
	List       listPage
	Status     string // the filter, as a valid status or empty
	Statuses   []statusChoice
	QueryError string
}

// listSMS shows the provisioning messages' outbox, newest first.
func (c *Console) listSMS(ec echo.Context) error {
	ctx := ec.Request().Context()
	var p smsPage
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p.QueryError = queryError
	status, choices, problem := statusFilter(ec, smsStatuses, "message")
	if problem != "" {
		p.QueryError = problem
	}
	p.Status, p.Statuses = status, choices
	page, err := c.store.SMSMessages(ctx, portal.SMSFilter{ListOptions: opt, Status: status})
	if err != nil {
		return err
	}
	users := userNames{}
	for _, m := range page.Items {
		r := smsRow{Message: m}
		if m.UserID != "" {
			if r.User, err = users.name(ctx, c.store, m.UserID); err != nil {
				return err
			}
		}
		p.Messages = append(p.Messages, r)
	}
	p.List = pagingWith("/admin/sms", opt, page.Total, len(page.Items), url.Values{"status": {status}})
	return c.page(ec, listCode(p.QueryError), "sms", "SMS", "sms", p)
}

// auditRow is one entry of the audit log, with its before and after
// indented for reading; either is empty when there is none.
type auditRow struct {
	Entry         portal.AuditEntry
	Before, After string
}

type auditPage struct {
	Entries    []auditRow
	List       listPage
	Kind       string
	Actor      string
	ObjectID   string
	Filtered   bool
	QueryError string
}

// listAudit shows the audit log, newest first, narrowed by kind, actor and object.
func (c *Console) listAudit(ec echo.Context) error {
	var p auditPage
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p.QueryError = queryError
	p.Kind = strings.TrimSpace(ec.QueryParam("kind"))
	p.Actor = strings.TrimSpace(ec.QueryParam("actor"))
	p.ObjectID = strings.TrimSpace(ec.QueryParam("object_id"))
	p.Filtered = p.Kind != "" || p.Actor != "" || p.ObjectID != ""
	page, err := c.store.Audit(ec.Request().Context(), portal.AuditFilter{ListOptions: opt, Kind: p.Kind, Actor: p.Actor, ObjectID: p.ObjectID})
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		p.Entries = append(p.Entries, auditRow{Entry: e, Before: indentJSON(e.Before), After: indentJSON(e.After)})
	}
	p.List = pagingWith("/admin/audit", opt, page.Total, len(page.Items),
		url.Values{"kind": {p.Kind}, "actor": {p.Actor}, "object_id": {p.ObjectID}})
	return c.page(ec, listCode(p.QueryError), "audit", "Audit log", "audit", p)
}

// indentJSON lays out a stored object for reading; "" when there is none.
func indentJSON(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return s
	}
	return buf.String()
}
