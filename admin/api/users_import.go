package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

const (
	maxImportBytes = 10 << 20
	maxImportRows  = 10000
)

// importColumns are the columns a user import may name, in the order the
// errors list them.
var importColumns = []string{"username", "email", "phone", "display_name", "password", "groups"}

// The results of one row of a user import.
const (
	importCreated = "created"
	importUpdated = "updated"
	importRefused = "refused"
)

// userImportReport is what a user import did, row by row.
type userImportReport struct {
	Created int             `json:"created"`
	Updated int             `json:"updated"`
	Refused int             `json:"refused"`
	Rows    []userImportRow `json:"rows"`
}

// userImportRow is the outcome of one row; Field and Message say why a row was refused.
type userImportRow struct {
	Row      int    `json:"row"` // the header is row 1
	Username string `json:"username"`
	Result   string `json:"result"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

func (r *userImportReport) add(row userImportRow) {
	switch row.Result {
	case importCreated:
		r.Created++
	case importUpdated:
		r.Updated++
	default:
		r.Refused++
	}
	r.Rows = append(r.Rows, row)
}

// importUsers creates or updates users from a CSV file, each row on its own:
// a refused row is reported and the others go ahead. A file that cannot be
// read as CSV, or whose header is wrong, changes nothing.
func (a *API) importUsers(c echo.Context) error {
	ctx := c.Request().Context()
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if mt != "text/csv" {
		return portal.Errorf(portal.CodeUnsupportedMedia, "send the file as text/csv, not %q", c.Request().Header.Get("Content-Type"))
	}
	dryRun := false
	if s := c.QueryParam("dry_run"); s != "" {
		var err error
		if dryRun, err = strconv.ParseBool(s); err != nil {
			return portal.Invalid("dry_run", "must be true or false")
		}
	}
	header, records, err := readUserCSV(http.MaxBytesReader(c.Response(), c.Request().Body, maxImportBytes))
	if err != nil {
		return err
	}
	columns, err := importHeader(header)
	if err != nil {
		return err
	}
	var groups map[string]string
	if _, ok := columns["groups"]; ok {
		if groups, err = a.groupsByName(ctx); err != nil {
			return err
		}
	}

	rep := userImportReport{Rows: make([]userImportRow, 0, len(records))}
	seen := map[string]int{} // lower-cased username → the row that first named it
	for i, rec := range records {
		if err := ctx.Err(); err != nil {
			return err
		}
		cell := func(col string) string {
			if j, ok := columns[col]; ok {
				return rec[j]
			}
			return ""
		}
		row := userImportRow{Row: i + 2, Username: cell("username")}
		if key := strings.ToLower(row.Username); key != "" {
			if first, dup := seen[key]; dup {
				row.Result, row.Field = importRefused, "username"
				row.Message = fmt.Sprintf("username: %s is also on row %d; a file may name each user once", row.Username, first)
				rep.add(row)
				continue
			}
			seen[key] = row.Row
		}
		row.Result, err = a.importUser(ctx, cell, groups, dryRun)
		var pe *portal.Error
		switch {
		case errors.As(err, &pe):
			row.Result, row.Field, row.Message = importRefused, pe.Field, pe.Msg
		case err != nil:
			return fmt.Errorf("import users: row %d: %w", row.Row, err)
		}
		rep.add(row)
	}
	return c.JSON(http.StatusOK, rep)
}

// importUser creates or updates the user of one row, validated as POST
// /users validates, in one store call; it returns the result, or a
// *portal.Error saying why the row is refused.
func (a *API) importUser(ctx context.Context, cell func(string) string, groups map[string]string, dryRun bool) (string, error) {
	var req userRequest
	for _, f := range []struct {
		dst **string
		col string
	}{{&req.Username, "username"}, {&req.Email, "email"}, {&req.Phone, "phone"},
		{&req.DisplayName, "display_name"}, {&req.Password, "password"}} {
		if v := cell(f.col); v != "" {
			*f.dst = &v
		}
	}
	if names := splitGroups(cell("groups")); len(names) > 0 {
		ids := make([]string, 0, len(names))
		for _, name := range names {
			id, ok := groups[strings.ToLower(name)]
			if !ok {
				return "", portal.Invalid("groups", "there is no group named %q", name)
			}
			ids = append(ids, id)
		}
		req.Groups = &ids
	}

	var existing *portal.User
	if req.Username != nil {
		u, err := a.store.UserByUsername(ctx, *req.Username)
		switch {
		case err == nil:
			existing = u
		case !portal.IsNotFound(err):
			return "", err
		}
	}

	if existing == nil {
		p, err := a.patch(req, true)
		if err != nil {
			return "", err
		}
		if !dryRun {
			u := newUser(p)
			if err := a.store.CreateUser(ctx, &u); err != nil {
				return "", err
			}
		}
		return importCreated, nil
	}

	// The username found the user; it is not changed, not even its case.
	req.Username = nil
	p, err := a.patch(req, false)
	if err != nil {
		return "", err
	}
	if !dryRun {
		if _, err := a.store.UpdateUser(ctx, existing.ID, p); err != nil {
			return "", err
		}
	}
	return importUpdated, nil
}

// newUser is the user a validated creating patch describes.
func newUser(p portal.UserPatch) portal.User {
	u := portal.User{Username: *p.Username}
	setIf(&u.Email, p.Email)
	setIf(&u.Phone, p.Phone)
	setIf(&u.DisplayName, p.DisplayName)
	setIf(&u.PasswordHash, p.PasswordHash)
	setIf(&u.Collaboration, p.Collaboration)
	if p.Groups != nil {
		u.Groups = *p.Groups
	}
	return u
}

// splitGroups reads a groups cell: names separated by ";", spaces around them ignored.
func splitGroups(s string) []string {
	var names []string
	for name := range strings.SplitSeq(s, ";") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// groupsByName maps every group's lower-cased name to its ID; names are
// unique ignoring case.
func (a *API) groupsByName(ctx context.Context) (map[string]string, error) {
	byName := map[string]string{}
	for offset := 0; ; {
		page, err := a.store.Groups(ctx, portal.ListOptions{Limit: 500, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, g := range page.Items {
			byName[strings.ToLower(g.Name)] = g.ID
		}
		offset += len(page.Items)
		if len(page.Items) == 0 || offset >= page.Total {
			return byName, nil
		}
	}
}

// readUserCSV reads the whole file before anything is written, so a file
// that turns out malformed or too large halfway changes nothing.
func readUserCSV(body io.Reader) (header []string, records [][]string, err error) {
	br := bufio.NewReader(body)
	// Excel writes a UTF-8 byte order mark before the header.
	if bom, _ := br.Peek(3); string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	// Every row must have as many fields as the header (FieldsPerRecord 0).
	header, err = r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, portal.Errorf(portal.CodeMalformed, "the file is empty; its first row must name the columns")
	}
	for err == nil {
		var rec []string
		if rec, err = r.Read(); err == nil {
			if len(records) == maxImportRows {
				return nil, nil, portal.Invalid("body", "the file has more than %d rows besides the header", maxImportRows)
			}
			records = append(records, rec)
		}
	}
	var (
		parse    *csv.ParseError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return header, records, nil
	case errors.As(err, &tooLarge):
		return nil, nil, portal.Errorf(portal.CodeTooLarge, "the file is larger than %d MiB", maxImportBytes>>20)
	case errors.As(err, &parse):
		return nil, nil, &portal.Error{Code: portal.CodeMalformed, Msg: "the file is not valid CSV: " + parse.Error(), Err: err}
	default:
		return nil, nil, fmt.Errorf("read user CSV: %w", err)
	}
}

// importHeader maps each column name to its index, refusing unknown,
// repeated and missing required columns. Names are read ignoring case and
// surrounding spaces.
func importHeader(header []string) (map[string]int, error) {
	columns := map[string]int{}
	var unknown, repeated []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch _, dup := columns[name]; {
		case !slices.Contains(importColumns, name):
			unknown = append(unknown, strconv.Quote(h))
		case dup:
			repeated = append(repeated, name)
		default:
			columns[name] = i
		}
	}
	known := strings.Join(importColumns, ", ")
	switch {
	case len(unknown) > 0:
		noun := "column"
		if len(unknown) > 1 {
			noun = "columns"
		}
		return nil, portal.Invalid("header", "unknown %s %s; the columns are %s", noun, strings.Join(unknown, ", "), known)
	case len(repeated) > 0:
		return nil, portal.Invalid("header", "column %s appears more than once", strings.Join(repeated, ", "))
	}
	if _, ok := columns["username"]; !ok {
		return nil, portal.Invalid("header", "the username column is required; the columns are %s", known)
	}
	return columns, nil
}
