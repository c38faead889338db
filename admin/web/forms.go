package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
	pweb "provportal/portal/web"
)

// field is one labelled input of a form, with what was typed and, after a
// refusal, the API's message for it.
type field struct {
	Name         string
	Label        string
	Type         string // input type; "textarea" for several lines
	Value        string
	Hint         string
	Error        string
	Autocomplete string
	Required     bool
	Autofocus    bool
}

// ID is the input's id, which its label and the error summary point at.
func (f field) ID() string { return "f-" + f.Name }

// DescribedBy names the hint and the error a screen reader reads with the input.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID()+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID()+"-error")
	}
	return strings.Join(ids, " ")
}

// problem is one line of the error summary above a refused form.
type problem struct {
	Target  string // the input's id, or "" for the form as a whole
	Label   string
	Message string
}

// withErrors puts each field's message beside it, focuses the first field
// in error and lists every problem for the summary above the form.
func withErrors(fields []field, errs formErrors) ([]field, []problem) {
	var out []problem
	for _, m := range errs.Form {
		out = append(out, problem{Message: m})
	}
	focused := false
	for i := range fields {
		msg, ok := errs.Fields[fields[i].Name]
		if !ok {
			continue
		}
		fields[i].Error = msg
		if !focused {
			fields[i].Autofocus, focused = true, true
		}
		out = append(out, problem{Target: fields[i].ID(), Label: fields[i].Label, Message: msg})
	}
	return fields, out
}

// listPage is one page of a searchable list, and the links around it.
type listPage struct {
	Query      string
	Total      int
	First      int // the first item shown, from 1
	Last       int
	PageNumber int
	Pages      int
	PrevURL    string
	NextURL    string
}

// consolePageSize is how many rows a list shows unless ?limit= says otherwise.
const consolePageSize = 20

// listOptions reads name (the search), offset and limit with the API's own
// rules for them.
func listOptions(ec echo.Context) (portal.ListOptions, error) {
	opt, err := pweb.ListParams(ec)
	if opt.Limit == 0 {
		opt.Limit = consolePageSize
	}
	return opt, err
}

// queryOptions is listOptions for a list page: a bad query string is not an
// error page but a message above the list, which then shows its first page.
// Only an error the person cannot fix is returned.
func queryOptions(ec echo.Context) (portal.ListOptions, string, error) {
	opt, err := listOptions(ec)
	if err == nil {
		return opt, "", nil
	}
	var fe formErrors
	if !fe.add(err) {
		return opt, "", err
	}
	return portal.ListOptions{Limit: consolePageSize}, fieldMessageOf(fe), nil
}

// statusFilter reads ?status= against the statuses a list knows, and the
// choices of its <select>; an unknown status is a message and no filter.
func statusFilter(ec echo.Context, known []string, noun string) (status string, choices []statusChoice, problem string) {
	status = ec.QueryParam("status")
	if status != "" && !slices.Contains(known, status) {
		problem = "There is no " + noun + " status “" + status + "”; choose one from the list."
		status = ""
	}
	choices = append(choices, statusChoice{Value: "", Label: "All statuses", Selected: status == ""})
	for _, s := range known {
		choices = append(choices, statusChoice{Value: s, Label: statusLabel(s), Selected: s == status})
	}
	return status, choices, problem
}

// statusForm is what the "status-filter" template draws: a list's status
// select, with the message when the status asked for was refused.
type statusForm struct {
	Action, Label string
	Statuses      []statusChoice
	QueryError    string
}

func newStatusForm(action, label string, statuses []statusChoice, queryError string) statusForm {
	return statusForm{Action: action, Label: label, Statuses: statuses, QueryError: queryError}
}

// listCode is a list page's status: 422 when its query string was refused.
func listCode(queryError string) int {
	if queryError != "" {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// paging describes where a page sits in its list, with links that keep the search.
func paging(base string, opt portal.ListOptions, total, shown int) listPage {
	return pagingWith(base, opt, total, shown, nil)
}

// pagingWith is paging for a list with filters of its own, which its links keep.
func pagingWith(base string, opt portal.ListOptions, total, shown int, filters url.Values) listPage {
	p := listPage{Query: opt.Name, Total: total, PageNumber: opt.Offset/opt.Limit + 1,
		Pages: max((total+opt.Limit-1)/opt.Limit, 1)}
	if shown > 0 {
		p.First, p.Last = opt.Offset+1, opt.Offset+shown
	}
	link := func(offset int) string {
		q := url.Values{}
		for k, v := range filters {
			if len(v) > 0 && v[0] != "" {
				q.Set(k, v[0])
			}
		}
		if opt.Name != "" {
			q.Set("name", opt.Name)
		}
		if offset > 0 {
			q.Set("offset", strconv.Itoa(offset))
		}
		if opt.Limit != consolePageSize {
			q.Set("limit", strconv.Itoa(opt.Limit))
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	}
	if opt.Offset > 0 {
		p.PrevURL = link(max(opt.Offset-opt.Limit, 0))
	}
	if opt.Offset+opt.Limit < total {
		p.NextURL = link(opt.Offset + opt.Limit)
	}
	return p
}

// confirmPage asks before something is deleted.
type confirmPage struct {
	Kind        string // "user", "group"
	Name        string
	Consequence string
	Action      string
	Cancel      string
}
