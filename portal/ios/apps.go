package ios

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"howett.net/plist"

	"provportal/portal"
	"provportal/portal/web"
)

// App is an in-house iOS app assigned to a user, as the landing page offers it.
type App struct {
	ID, Name, Version string
	// InstallURL is the itms-services:// link that installs it.
	InstallURL string
}

// Apps lists the apps assigned to a user that have an ios artifact, with
// the links that install them through this provisioning link.
func Apps(assigned *portal.Assigned, publicURL, token string) []App {
	var out []App
	for _, a := range assigned.Apps {
		if _, ok := iosArtifact(a); ok {
			out = append(out, App{ID: a.ID, Name: a.Name, Version: a.Version, InstallURL: AppInstallURL(publicURL, token, a.ID)})
		}
	}
	return out
}

func iosArtifact(a portal.App) (portal.Artifact, bool) {
	i := slices.IndexFunc(a.Artifacts, func(ar portal.Artifact) bool { return ar.Platform == portal.PlatformIOS })
	if i < 0 {
		return portal.Artifact{}, false
	}
	return a.Artifacts[i], true
}

// assignedApp finds an app with an ios artifact among those assigned to the user.
func (s *Service) assignedApp(ctx context.Context, userID, appID string) (*portal.App, portal.Artifact, error) {
	as, err := s.store.AssignedTo(ctx, userID)
	if err != nil {
		return nil, portal.Artifact{}, err
	}
	for _, a := range as.Apps {
		if a.ID != appID {
			continue
		}
		if ar, ok := iosArtifact(a); ok {
			return &a, ar, nil
		}
	}
	return nil, portal.Artifact{}, portal.Errorf(portal.CodeNotFound, "no iPhone or iPad app with this ID is assigned to you")
}

// bundleInfo is what the manifest needs from the app's own Info.plist.
type bundleInfo struct {
	ID      string `plist:"CFBundleIdentifier"`
	Version string `plist:"CFBundleShortVersionString"`
	Build   string `plist:"CFBundleVersion"`
}

// maxInfoPlist bounds the Info.plist read out of an .ipa.
const maxInfoPlist = 1 << 20

// readBundleInfo reads Payload/<name>.app/Info.plist out of an .ipa.
func readBundleInfo(r io.ReaderAt, size int64) (bundleInfo, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return bundleInfo{}, fmt.Errorf("not a zip archive: %w", err)
	}
	for _, f := range zr.File {
		dir, file := path.Split(f.Name)
		if file != "Info.plist" || !strings.HasPrefix(dir, "Payload/") || !strings.HasSuffix(dir, ".app/") || strings.Count(dir, "/") != 2 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return bundleInfo{}, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxInfoPlist))
		rc.Close()
		if err != nil {
			return bundleInfo{}, err
		}
		var info bundleInfo
		if _, err := plist.Unmarshal(b, &info); err != nil {
			return bundleInfo{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		if info.ID == "" {
			return bundleInfo{}, fmt.Errorf("%s has no CFBundleIdentifier", f.Name)
		}
		return info, nil
	}
	return bundleInfo{}, errors.New("no Payload/<app>.app/Info.plist in it")
}

func (s *Service) bundle(sha string) (bundleInfo, error) {
	if v, ok := s.bundles.Load(sha); ok {
		return v.(bundleInfo), nil
	}
	f, size, err := s.blobs.Open(sha)
	if err != nil {
		return bundleInfo{}, err
	}
	defer f.Close()
	info, err := readBundleInfo(f, size)
	if err != nil {
		return bundleInfo{}, &portal.Error{Code: portal.CodeNotFound, Msg: "the app's iOS file is not an .ipa this portal can read; tell your administrator", Err: err}
	}
	s.bundles.Store(sha, info)
	return info, nil
}

// appManifest serves the manifest an itms-services link names.
func (s *Service) appManifest(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	app, ar, err := s.assignedApp(ctx, inv.UserID, c.Param("app"))
	if err != nil {
		return err
	}
	info, err := s.bundle(ar.SHA256)
	if err != nil {
		return err
	}
	version := info.Version
	if version == "" {
		version = app.Version
	}
	m := appManifest{Items: []appManifestItem{{
		Assets:   []appAsset{{Kind: "software-package", URL: appPackageURL(s.public, c.Param("token"), app.ID)}},
		Metadata: appMetadata{BundleIdentifier: info.ID, BundleVersion: version, Kind: "software", Title: app.Name},
	}}}
	body, err := plist.MarshalIndent(m, plist.XMLFormat, "\t")
	if err != nil {
		return fmt.Errorf("encode app manifest: %w", err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/xml; charset=utf-8", body)
}

// appPackage serves the .ipa the manifest names.
func (s *Service) appPackage(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	_, ar, err := s.assignedApp(ctx, inv.UserID, c.Param("app"))
	if err != nil {
		return err
	}
	return web.ServeAppBytes(c, s.blobs, ar.SHA256, "")
}
