package api

import (
	"errors"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"provportal/packages/blob"
	"provportal/portal"
	"provportal/portal/web"
)

type appRequest struct {
	Name        *string `json:"name"`
	Version     *string `json:"version"`
	Description *string `json:"description"`
}

// App names become folder names on devices (<install-dir>/apps/<name>), so
// they are restricted to characters every file system accepts.
var appNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$`)
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$`)

func (r appRequest) validate(creating bool) error {
	if creating && r.Name == nil {
		return portal.Invalid("name", "is required")
	}
	if creating && r.Version == nil {
		return portal.Invalid("version", "is required, e.g. 1.0.0")
	}
	if r.Name != nil && (!appNameRE.MatchString(*r.Name) || strings.HasSuffix(*r.Name, " ") || strings.HasSuffix(*r.Name, ".")) {
		return portal.Invalid("name", "must be 1 to 64 letters, digits, spaces or . _ -, not ending in a space or dot")
	}
	if r.Name != nil && windowsReserved(*r.Name) {
		return portal.Invalid("name", "%q is a name Windows reserves for a device; choose another", *r.Name)
	}
	if r.Version != nil && !versionRE.MatchString(*r.Version) {
		return portal.Invalid("version", "must be 1 to 64 letters, digits or . + _ -, e.g. 1.0.0")
	}
	if r.Description != nil {
		return checkName("description", *r.Description, false, 2000)
	}
	return nil
}

// windowsReserved reports names Windows cannot use for a folder (CON, NUL,
// COM1, ...), even with an extension.
func windowsReserved(name string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base = strings.TrimSpace(base); base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '1' && base[3] <= '9'
}

func (a *API) listApps(c echo.Context) error {
	opt, err := web.ListParams(c)
	if err != nil {
		return err
	}
	page, err := a.store.Apps(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (a *API) createApp(c echo.Context) error {
	var req appRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	app := portal.App{Name: *req.Name, Version: *req.Version}
	setIf(&app.Description, req.Description)
	if err := a.store.CreateApp(c.Request().Context(), &app); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, app)
}

func (a *API) getApp(c echo.Context) error {
	app, err := a.store.App(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app)
}

func (a *API) patchApp(c echo.Context) error {
	var req appRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	app, err := a.store.UpdateApp(c.Request().Context(), c.Param("id"), portal.AppPatch{Name: req.Name, Version: req.Version, Description: req.Description})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app)
}

func (a *API) deleteApp(c echo.Context) error {
	if err := a.store.DeleteApp(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func platformParam(c echo.Context) (portal.Platform, error) {
	p := portal.Platform(c.Param("platform"))
	if !p.ValidArtifact() {
		return "", portal.Invalid("platform", "%q is not a platform; use one of %s", p, platformList())
	}
	return p, nil
}

func platformList() string {
	names := make([]string, len(portal.ArtifactPlatforms))
	for i, p := range portal.ArtifactPlatforms {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// putArtifact streams the request body into the blob store, hashing it on
// the way, and only then records it on the app: a refused or broken upload
// leaves the app as it was.
func (a *API) putArtifact(c echo.Context) error {
	ctx := c.Request().Context()
	platform, err := platformParam(c)
	if err != nil {
		return err
	}
	app, err := a.store.App(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if max := a.blobs.MaxSize(); max > 0 && c.Request().ContentLength > max {
		return portal.Errorf(portal.CodeTooLarge, "the artifact is %d bytes; the limit is %d", c.Request().ContentLength, max)
	}
	filename, err := artifactFilename(c)
	if err != nil {
		return err
	}
	b, err := a.blobs.Put(ctx, c.Request().Body)
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return portal.Errorf(portal.CodeTooLarge, "the artifact is larger than the limit of %d bytes", a.blobs.MaxSize())
	case err != nil:
		return err
	}
	if b.Size == 0 {
		return portal.Invalid("body", "the artifact is empty")
	}
	app, err = a.store.PutArtifact(ctx, app.ID, portal.Artifact{Platform: platform, SHA256: b.SHA256, Size: b.Size, Filename: filename})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, app)
}

// artifactFilename takes the file's name from Content-Disposition or
// ?filename=; only its base name is kept.
func artifactFilename(c echo.Context) (string, error) {
	name := c.QueryParam("filename")
	if cd := c.Request().Header.Get("Content-Disposition"); cd != "" && name == "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			name = params["filename"]
		}
	}
	if name == "" {
		return "", nil
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if err := checkName("filename", name, false, 200); err != nil || name == "." || name == ".." || name == "/" {
		return "", portal.Invalid("filename", "is not a usable file name")
	}
	return name, nil
}

func (a *API) getArtifact(c echo.Context) error {
	platform, err := platformParam(c)
	if err != nil {
		return err
	}
	app, err := a.store.App(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	for _, art := range app.Artifacts {
		if art.Platform != platform {
			continue
		}
		f, _, err := a.blobs.Open(art.SHA256)
		if err != nil {
			return err
		}
		defer f.Close()
		w := c.Response()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"`+art.SHA256+`"`)
		if art.Filename != "" {
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": art.Filename}))
		}
		// ServeContent on the plain ResponseWriter keeps Range support and sendfile.
		http.ServeContent(w.Unwrap(), c.Request(), "", art.UploadedAt, f)
		return nil
	}
	return portal.Errorf(portal.CodeNotFound, "app %s has no %s artifact", app.Name, platform)
}

func (a *API) deleteArtifact(c echo.Context) error {
	platform, err := platformParam(c)
	if err != nil {
		return err
	}
	app, err := a.store.DeleteArtifact(c.Request().Context(), c.Param("id"), platform)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, app)
}
