package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// The inputs of the upload form; a refusal of the file, whatever part of it
// the API names, is shown beside uploadFileField.
const (
	uploadPlatformField = "platform"
	uploadFileField     = "file"
)

// registerApps mounts the pages that change apps. Every change is a call to
// the admin API, so its rules, its limits and its audit entries apply.
func (c *Console) registerApps(read, write chain) {
	write.GET("/admin/apps/new", c.newApp)
	write.POST("/admin/apps", c.createApp)
	read.GET("/admin/apps/:id", c.showApp)
	write.GET("/admin/apps/:id/edit", c.editApp)
	write.POST("/admin/apps/:id", c.updateApp)
	write.GET("/admin/apps/:id/delete", c.confirmDeleteApp)
	write.POST("/admin/apps/:id/delete", c.deleteApp)
	c.postStreamed(write, "/admin/apps/:id/artifacts", c.uploadArtifact)
	write.GET("/admin/apps/:id/artifacts/:platform/delete", c.confirmDeleteArtifact)
	write.POST("/admin/apps/:id/artifacts/:platform/delete", c.deleteArtifact)
}

func appURL(id string) string { return "/admin/apps/" + url.PathEscape(id) }

func appAPIPath(id string) string { return "/apps/" + url.PathEscape(id) }

// fetchApp reads the app named in the URL through the API, as the pages
// that change it do.
func (c *Console) fetchApp(ec echo.Context) (*portal.App, error) {
	var app portal.App
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodGet, Path: appAPIPath(ec.Param("id")), Out: &app}); err != nil {
		return nil, err
	}
	return &app, nil
}

// appForm is what was typed into the app form; its JSON is the API's
// appRequest. Every field is sent, so editing can empty the description.
type appForm struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

func readAppForm(ec echo.Context) appForm {
	f := ec.Request().PostForm
	return appForm{Name: f.Get("name"), Version: f.Get("version"), Description: f.Get("description")}
}

type appFormPage struct {
	Editing  bool
	Name     string // the app's name as stored, when editing
	Action   string
	Cancel   string
	Fields   []field
	Problems []problem
}

func (c *Console) appForm(ec echo.Context, status int, app *portal.App, f appForm, errs formErrors) error {
	p := appFormPage{Action: "/admin/apps", Cancel: "/admin/apps"}
	title := "Add an app"
	if app != nil {
		p.Editing, p.Name, p.Action, p.Cancel = true, app.Name, appURL(app.ID), appURL(app.ID)
		title = "Edit " + app.Name
	}
	p.Fields, p.Problems = withErrors([]field{
		{Name: "name", Label: "Name", Type: "text", Value: f.Name, Required: true, Autocomplete: "off",
			Hint: "Devices install the app in a folder of this name, e.g. Mail or Field Notes."},
		{Name: "version", Label: "Version", Type: "text", Value: f.Version, Required: true, Autocomplete: "off",
			Hint: "As the app's makers number it, e.g. 1.0.0."},
		{Name: "description", Label: "Description", Type: "textarea", Value: f.Description,
			Hint: "Optional. What the app is for, for the next administrator."},
	}, besideFields(errs, "name", "version", "description"))
	if app == nil && len(p.Problems) == 0 {
		p.Fields[0].Autofocus = true
	}
	return c.page(ec, status, "app_form", title, "apps", p)
}

func (c *Console) newApp(ec echo.Context) error {
	return c.appForm(ec, http.StatusOK, nil, appForm{}, formErrors{})
}

// refusedApp shows the form again after the API refused it, or returns an
// error no one at the form can fix.
func (c *Console) refusedApp(ec echo.Context, app *portal.App, f appForm, err error) error {
	var errs formErrors
	if !errs.add(err) {
		return err
	}
	return c.appForm(ec, http.StatusUnprocessableEntity, app, f, errs)
}

func (c *Console) createApp(ec echo.Context) error {
	f := readAppForm(ec)
	var app portal.App
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodPost, Path: "/apps", JSON: f, Out: &app}); err != nil {
		return c.refusedApp(ec, nil, f, err)
	}
	c.setFlash(ec, "App "+app.Name+" was added. Upload its file for each platform it runs on.")
	return ec.Redirect(http.StatusSeeOther, appURL(app.ID))
}

func (c *Console) editApp(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	return c.appForm(ec, http.StatusOK, app, appForm{Name: app.Name, Version: app.Version, Description: app.Description}, formErrors{})
}

func (c *Console) updateApp(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	f := readAppForm(ec)
	var updated portal.App
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodPatch, Path: appAPIPath(app.ID), JSON: f, Out: &updated}); err != nil {
		return c.refusedApp(ec, app, f, err)
	}
	c.setFlash(ec, "App "+updated.Name+" was saved.")
	return ec.Redirect(http.StatusSeeOther, appURL(updated.ID))
}

func (c *Console) confirmDeleteApp(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	files := "It has no files yet."
	if n := len(app.Artifacts); n > 0 {
		files = "Its " + plural(n, "file") + " are no longer offered to devices."
	}
	return c.page(ec, http.StatusOK, "confirm", "Delete "+app.Name, "apps", confirmPage{
		Kind: "app", Name: app.Name,
		Consequence: files + " It is withdrawn from every user and group it is assigned to; devices that installed it keep what they have. This cannot be undone.",
		Action:      appURL(app.ID) + "/delete", Cancel: appURL(app.ID),
	})
}

func (c *Console) deleteApp(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: appAPIPath(app.ID)}); err != nil {
		return err
	}
	c.setFlash(ec, "App "+app.Name+" was deleted.")
	return ec.Redirect(http.StatusSeeOther, "/admin/apps")
}

// platformChoice is one option of the upload form's platform list.
type platformChoice struct {
	Value    string
	Replaces string // the file the platform has now, which an upload replaces
	Has      bool
	Selected bool
}

type appPage struct {
	App       portal.App
	Missing   []portal.Platform // platforms with no file yet
	Platforms []platformChoice
	Platform  field
	File      field
	Problems  []problem
}

// appPage shows an app, its files and, for the admin role, the upload form
// with what was chosen and any refusal.
func (c *Console) appPage(ec echo.Context, status int, app *portal.App, platform string, errs formErrors) error {
	p := appPage{App: *app}
	has := map[portal.Platform]portal.Artifact{}
	for _, a := range app.Artifacts {
		has[a.Platform] = a
	}
	for _, pl := range portal.ArtifactPlatforms {
		if _, ok := has[pl]; !ok {
			p.Missing = append(p.Missing, pl)
		}
	}
	if platform == "" && len(p.Missing) > 0 {
		platform = string(p.Missing[0])
	}
	for _, pl := range portal.ArtifactPlatforms {
		a, ok := has[pl]
		p.Platforms = append(p.Platforms, platformChoice{Value: string(pl), Has: ok, Replaces: a.Filename, Selected: string(pl) == platform})
	}
	fields, problems := withErrors([]field{
		{Name: uploadPlatformField, Label: "Platform", Required: true,
			Hint: "Devices of this platform install this file."},
		{Name: uploadFileField, Label: "File", Required: true,
			Hint: "The app as devices install it, e.g. an archive or installer."},
	}, besideFields(errs, uploadPlatformField, uploadFileField))
	p.Platform, p.File, p.Problems = fields[0], fields[1], problems
	return c.page(ec, status, "app", app.Name, "apps", p)
}

func (c *Console) showApp(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	return c.appPage(ec, http.StatusOK, app, "", formErrors{})
}

// uploadArtifact streams the chosen file to the API's artifact upload as it
// arrives: the API hashes and stores it, and refuses what it must.
func (c *Console) uploadArtifact(ec echo.Context, f *streamedForm) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		discardUpload(ec)
		return err
	}
	file, err := f.file(uploadFileField)
	if err != nil {
		return err
	}
	platform := f.values.Get(uploadPlatformField)
	switch {
	case platform == "":
		return c.refuseUpload(ec, app, platform, fieldRefusal(uploadPlatformField, "Choose the platform this file is for."))
	case file == nil || file.FileName() == "":
		return c.refuseUpload(ec, app, platform, fieldRefusal(uploadFileField, "Choose the file to upload."))
	}
	path := appAPIPath(app.ID) + "/artifacts/" + url.PathEscape(platform) + "?filename=" + url.QueryEscape(file.FileName())
	var updated portal.App
	_, _, err = c.callAPI(ec, apiCall{Method: http.MethodPut, Path: path, Body: file, ContentType: "application/octet-stream", Out: &updated})
	if err != nil {
		input := uploadFileField
		var pe *portal.Error
		if errors.As(err, &pe) && pe.Field == uploadPlatformField {
			input = uploadPlatformField
		}
		errs, ok := refusalBeside(input, err)
		if !ok {
			return err
		}
		return c.refuseUpload(ec, app, platform, errs)
	}
	c.setFlash(ec, uploadedMessage(&updated, portal.Platform(platform)))
	if wantsJSON(ec) {
		return ec.JSON(http.StatusOK, uploadAnswer{Location: appURL(app.ID)})
	}
	return ec.Redirect(http.StatusSeeOther, appURL(app.ID))
}

// uploadAnswer is what the upload script is told: where to go after an
// upload, or why it was refused and beside which input. Both come with
// status 200: the script shows the refusal itself, and a refusal the
// person can fix is no error for the browser's console to report.
type uploadAnswer struct {
	Location string `json:"location,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

// wantsJSON reports the upload script, which shows progress and refusals
// itself; without it the form is an ordinary page.
func wantsJSON(ec echo.Context) bool {
	return strings.Contains(ec.Request().Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON)
}

func (c *Console) refuseUpload(ec echo.Context, app *portal.App, platform string, errs formErrors) error {
	discardUpload(ec)
	if wantsJSON(ec) {
		for name, msg := range errs.Fields {
			return ec.JSON(http.StatusOK, uploadAnswer{Field: name, Message: msg})
		}
	}
	return c.appPage(ec, http.StatusUnprocessableEntity, app, platform, errs)
}

func uploadedMessage(app *portal.App, platform portal.Platform) string {
	i := slices.IndexFunc(app.Artifacts, func(a portal.Artifact) bool { return a.Platform == platform })
	if i < 0 {
		return "The file was uploaded."
	}
	a := app.Artifacts[i]
	name := a.Filename
	if name == "" {
		name = "The file"
	}
	return name + " (" + humanBytes(a.Size) + ") was uploaded for " + string(platform) + "."
}

// artifactOf is the app's file for the platform in the URL.
func artifactOf(ec echo.Context, app *portal.App) (portal.Artifact, error) {
	for _, a := range app.Artifacts {
		if string(a.Platform) == ec.Param("platform") {
			return a, nil
		}
	}
	return portal.Artifact{}, portal.Errorf(portal.CodeNotFound, "app %s has no %s file", app.Name, ec.Param("platform"))
}

// artifactName names a file for people: its file name, or its platform.
func artifactName(a portal.Artifact) string {
	if a.Filename != "" {
		return a.Filename + " (" + string(a.Platform) + ")"
	}
	return "for " + string(a.Platform)
}

func (c *Console) confirmDeleteArtifact(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	a, err := artifactOf(ec, app)
	if err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "confirm", "Delete a file of "+app.Name, "apps", confirmPage{
		Kind: "file", Name: artifactName(a),
		Consequence: string(a.Platform) + " devices can no longer install " + app.Name + " until another file is uploaded for that platform; devices that installed it keep what they have. This cannot be undone.",
		Action:      appURL(app.ID) + "/artifacts/" + url.PathEscape(string(a.Platform)) + "/delete", Cancel: appURL(app.ID),
	})
}

func (c *Console) deleteArtifact(ec echo.Context) error {
	app, err := c.fetchApp(ec)
	if err != nil {
		return err
	}
	a, err := artifactOf(ec, app)
	if err != nil {
		return err
	}
	path := appAPIPath(app.ID) + "/artifacts/" + url.PathEscape(string(a.Platform))
	if _, _, err := c.callAPI(ec, apiCall{Method: http.MethodDelete, Path: path}); err != nil {
		return err
	}
	c.setFlash(ec, "The file "+artifactName(a)+" was deleted.")
	return ec.Redirect(http.StatusSeeOther, appURL(app.ID))
}

// besideFields keeps the API's messages for the form's own inputs beside
// them and moves any other to the summary above the form, so no refusal is
// lost.
func besideFields(errs formErrors, names ...string) formErrors {
	out := formErrors{Form: errs.Form}
	for name, msg := range errs.Fields {
		if slices.Contains(names, name) {
			if out.Fields == nil {
				out.Fields = map[string]string{}
			}
			out.Fields[name] = msg
		} else {
			out.Form = append(out.Form, msg)
		}
	}
	return out
}
