package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/packages/blob"
	"provportal/portal"
)

// ServeAppBytes answers an app's bytes from the store by their SHA-256,
// with cacheControl when it is not empty. Bytes missing from the store are
// a not_found that tells the device's user whom to ask.
func ServeAppBytes(c echo.Context, blobs *blob.Store, sum, cacheControl string) error {
	f, _, err := blobs.Open(sum)
	if errors.Is(err, blob.ErrNotFound) {
		return &portal.Error{Code: portal.CodeNotFound, Msg: "the app's bytes are missing on the portal; tell your administrator", Err: err}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w := c.Response()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+sum+`"`)
	if cacheControl != "" {
		w.Header().Set("Cache-Control", cacheControl)
	}
	// http.ServeContent on the plain ResponseWriter answers Range and
	// If-Range and keeps the kernel's sendfile.
	http.ServeContent(w.Unwrap(), c.Request(), "", time.Time{}, f)
	return nil
}
