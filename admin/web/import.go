package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// importFileField is the file input of the import form, and the field
// beside which a refusal of the whole file is shown.
const importFileField = "file"

// registerImport mounts the user import: the admin API reads the file and
// decides every row, so the console only carries the file and the report.
func (c *Console) registerImport(read, write chain) {
	write.GET("/admin/users/import", c.showImport)
	c.postStreamed(write, "/admin/users/import", c.importUsers)
}

// importReport is the admin API's answer to an import, row by row.
type importReport struct {
	Created int         `json:"created"`
	Updated int         `json:"updated"`
	Refused int         `json:"refused"`
	Rows    []importRow `json:"rows"`
}

// importRow is one row of the report; Field and Message say why it was refused.
type importRow struct {
	Row      int    `json:"row"`
	Username string `json:"username"`
	Result   string `json:"result"`
	Field    string `json:"field"`
	Message  string `json:"message"`
}

// Refused reports a row the API did not take.
func (r importRow) Refused() bool { return r.Result == "refused" }

// Why is the API's reason for refusing the row, without the column's name
// in front: the report shows the column beside it.
func (r importRow) Why() string {
	if r.Field == "" {
		return sentence(r.Message)
	}
	return sentence(strings.TrimPrefix(r.Message, r.Field+": "))
}

type importPage struct {
	DryRun   bool
	File     field
	Problems []problem
	Report   *importReport
	FileName string // the file the report is about
}

func (c *Console) importPage(ec echo.Context, status int, p importPage, errs formErrors) error {
	fields, problems := withErrors([]field{{Name: importFileField, Label: "CSV file", Required: true,
		Hint: "Saved as CSV (comma-separated values), with the column names in its first row."}}, errs)
	p.File, p.Problems = fields[0], problems
	return c.page(ec, status, "users_import", "Import users", "users", p)
}

func (c *Console) showImport(ec echo.Context) error {
	return c.importPage(ec, http.StatusOK, importPage{}, formErrors{})
}

// importUsers sends the chosen file to the API's import as it arrives. A
// refused row is in the report beside the rows that went ahead; a refused
// file changed nothing and is shown beside the file input.
func (c *Console) importUsers(ec echo.Context, f *streamedForm) error {
	file, err := f.file(importFileField)
	if err != nil {
		return err
	}
	p := importPage{DryRun: f.values.Get("dry_run") != ""}
	if file == nil || file.FileName() == "" {
		return c.importPage(ec, http.StatusUnprocessableEntity, p,
			fieldRefusal(importFileField, "Choose the CSV file to import."))
	}
	path := "/users/import"
	if p.DryRun {
		path += "?dry_run=true"
	}
	var report importReport
	_, _, err = c.callAPI(ec, apiCall{Method: http.MethodPost, Path: path, Body: file, ContentType: "text/csv", Out: &report})
	if err != nil {
		discardUpload(ec)
		errs, ok := refusalBeside(importFileField, err)
		if !ok {
			return err
		}
		return c.importPage(ec, http.StatusUnprocessableEntity, p, errs)
	}
	p.Report, p.FileName = &report, file.FileName()
	return c.importPage(ec, http.StatusOK, p, formErrors{})
}

// fieldRefusal is a form's one problem, beside the input called name.
func fieldRefusal(name, msg string) formErrors {
	return formErrors{Fields: map[string]string{name: msg}}
}

// refusalBeside puts the API's refusal of an upload beside the input called
// name, whichever part of the file the API named; it reports false for an
// error the person cannot fix.
func refusalBeside(name string, err error) (formErrors, bool) {
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Code == portal.CodeInternal {
		return formErrors{}, false
	}
	return fieldRefusal(name, fieldMessage(pe)), true
}
