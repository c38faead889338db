// Package portaltest serves the portal's device API (packages/device.go) on
// loopback for the bootloader's tests: real HTTP, a real Ed25519 key,
// manifests signed with packages.SignManifest, blobs served with Range and
// If-Range. Knobs make it misbehave the ways a real network or a
// compromised portal can; counters say what the bootloader asked for.
package portaltest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/packages"
)

// App is an app the portal hands out.
type App struct {
	Name     string
	Version  string
	Filename string
	Bytes    []byte
}

// SHA256 is the hex digest of the app's bytes.
func (a App) SHA256() string {
	sum := sha256.Sum256(a.Bytes)
	return hex.EncodeToString(sum[:])
}

// BlobRequest is what the bootloader sent for a blob.
type BlobRequest struct {
	SHA256        string
	Range         string
	IfRange       string
	Authorization string
}

// Portal is a running device API.
type Portal struct {
	URL         string
	Key         ed25519.PrivateKey
	Fingerprint string
	Username    string
	Password    string

	mu          sync.Mutex
	apps        []App
	policy      packages.Policy
	signer      ed25519.PrivateKey
	platform    string
	manifestFor string // device ID written in manifests; empty: the logged-on device
	ttl         time.Duration
	tampered    map[string][]byte // sha256 -> bytes served instead
	cutAfter    map[string]int64  // sha256 -> bytes sent before the first request is cut
	failures    map[string]int    // sha256 -> 503 answers before serving
	ignoreRange bool
	manifestErr *apiError
	devices     int
	tokens      map[string]string // token -> device ID

	blobRequests []BlobRequest
	logons       []packages.LogonRequest
	reports      []packages.StatusReport
}

type apiError struct {
	status        int
	code, message string
}

// New starts a portal that knows the user alice with password "correct horse".
func New(t testing.TB) *Portal {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &Portal{
		Key:         key,
		Fingerprint: packages.Fingerprint(key.Public().(ed25519.PublicKey)),
		Username:    "alice",
		Password:    "correct horse",
		signer:      key,
		platform:    runtime.GOOS + "-" + runtime.GOARCH,
		ttl:         time.Hour,
		tampered:    map[string][]byte{},
		cutAfter:    map[string]int64{},
		failures:    map[string]int{},
		tokens:      map[string]string{},
		policy: packages.Policy{
			Rules:   map[string]any{"password_min_length": 12.0, "camera_allowed": false},
			Sources: []string{"Baseline", "Field staff"},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /device/v1/logon", p.logon)
	mux.HandleFunc("GET /device/v1/key", p.key)
	mux.HandleFunc("GET /device/v1/manifest", p.manifest)
	mux.HandleFunc("GET /device/v1/blobs/{sha256}", p.blob)
	mux.HandleFunc("POST /device/v1/status", p.status)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetApps replaces the apps in the manifest.
func (p *Portal) SetApps(apps ...App) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apps = apps
}

// SignWith makes the portal sign manifests with another key than the one it
// publishes.
func (p *Portal) SignWith(key ed25519.PrivateKey) { p.set(func() { p.signer = key }) }

// SetPlatform writes another platform into manifests.
func (p *Portal) SetPlatform(platform string) { p.set(func() { p.platform = platform }) }

// SetManifestDevice writes another device's ID into manifests.
func (p *Portal) SetManifestDevice(id string) { p.set(func() { p.manifestFor = id }) }

// SetManifestTTL sets manifests' lifetime; a negative one makes them expired.
func (p *Portal) SetManifestTTL(d time.Duration) { p.set(func() { p.ttl = d }) }

// FailManifest answers the manifest route with an error.
func (p *Portal) FailManifest(status int, code, message string) {
	p.set(func() { p.manifestErr = &apiError{status, code, message} })
}

// Tamper serves other bytes for the app's blob (under its real ETag).
func (p *Portal) Tamper(app App, bytes []byte) { p.set(func() { p.tampered[app.SHA256()] = bytes }) }

// CutFirstDownload closes the connection after n bytes of the app's first download.
func (p *Portal) CutFirstDownload(app App, n int64) { p.set(func() { p.cutAfter[app.SHA256()] = n }) }

// FailDownloads answers the app's blob with 503 the next n times.
func (p *Portal) FailDownloads(app App, n int) { p.set(func() { p.failures[app.SHA256()] = n }) }

// IgnoreRange answers every blob request with the whole blob (200).
func (p *Portal) IgnoreRange(ignore bool) { p.set(func() { p.ignoreRange = ignore }) }

func (p *Portal) set(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
}

// BlobRequests lists the blob requests so far.
func (p *Portal) BlobRequests() []BlobRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]BlobRequest(nil), p.blobRequests...)
}

// Logons lists the logon requests so far.
func (p *Portal) Logons() []packages.LogonRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]packages.LogonRequest(nil), p.logons...)
}

// Reports lists the status reports so far.
func (p *Portal) Reports() []packages.StatusReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]packages.StatusReport(nil), p.reports...)
}

// LastReport is the last status report, or the zero one.
func (p *Portal) LastReport() packages.StatusReport {
	r := p.Reports()
	if len(r) == 0 {
		return packages.StatusReport{}
	}
	return r[len(r)-1]
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func (p *Portal) logon(w http.ResponseWriter, r *http.Request) {
	var req packages.LogonRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_request", "request body is not valid JSON")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logons = append(p.logons, req)
	if req.Username != p.Username || req.Password != p.Password {
		writeError(w, http.StatusUnauthorized, "bad_credentials", "username or password is incorrect")
		return
	}
	id := req.Device.ID
	if id == "" {
		p.devices++
		id = "dev-" + strconv.Itoa(p.devices)
	}
	token := "tok-" + rand.Text()
	p.tokens[token] = id
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(packages.LogonResponse{Token: token, DeviceID: id, ExpiresAt: time.Now().Add(time.Hour)})
}

func (p *Portal) key(w http.ResponseWriter, r *http.Request) {
	pub := p.Key.Public().(ed25519.PublicKey)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(packages.KeyResponse{
		PublicKey:   base64.RawURLEncoding.EncodeToString(pub),
		Fingerprint: p.Fingerprint,
	})
}

// device returns the device the request's token belongs to; the caller holds mu.
func (p *Portal) device(w http.ResponseWriter, r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id, known := p.tokens[token]
	if !ok || !known {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "a device token is required")
		return "", false
	}
	return id, true
}

func (p *Portal) manifest(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.device(w, r)
	if !ok {
		return
	}
	if e := p.manifestErr; e != nil {
		writeError(w, e.status, e.code, e.message)
		return
	}
	if p.manifestFor != "" {
		id = p.manifestFor
	}
	m := packages.Manifest{
		Version:     packages.ManifestVersion,
		DeviceID:    id,
		Platform:    p.platform,
		User:        packages.ManifestUser{ID: "u-1", Username: p.Username, DisplayName: "Alice"},
		GeneratedAt: time.Now(),
		Policy:      p.policy,
	}
	for _, a := range p.apps {
		m.Apps = append(m.Apps, packages.ManifestApp{
			Name: a.Name, Version: a.Version, SHA256: a.SHA256(), Size: int64(len(a.Bytes)),
			Filename: a.Filename, URL: "/device/v1/blobs/" + a.SHA256(),
		})
	}
	if p.ttl < 0 {
		m.GeneratedAt = time.Now().Add(2 * p.ttl)
	}
	ttl := p.ttl
	if ttl < 0 {
		ttl = -ttl
	}
	jws, err := packages.SignManifest(m, p.signer, ttl)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/jose")
	w.Write([]byte(jws))
}

func (p *Portal) blob(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	sha := r.PathValue("sha256")
	p.blobRequests = append(p.blobRequests, BlobRequest{
		SHA256: sha, Range: r.Header.Get("Range"), IfRange: r.Header.Get("If-Range"),
		Authorization: r.Header.Get("Authorization"),
	})
	if _, ok := p.device(w, r); !ok {
		p.mu.Unlock()
		return
	}
	var content []byte
	for _, a := range p.apps {
		if a.SHA256() == sha {
			content = a.Bytes
		}
	}
	if b, ok := p.tampered[sha]; ok {
		content = b
	}
	fail := p.failures[sha] > 0
	if fail {
		p.failures[sha]--
	}
	cut, cutting := p.cutAfter[sha]
	delete(p.cutAfter, sha)
	ignoreRange := p.ignoreRange
	p.mu.Unlock()

	switch {
	case content == nil:
		writeError(w, http.StatusNotFound, "not_found", "no such blob")
	case fail:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "try again later")
	case cutting:
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Header().Set("ETag", `"`+sha+`"`)
		w.WriteHeader(http.StatusOK)
		w.Write(content[:cut])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	case ignoreRange:
		w.Header().Set("ETag", `"`+sha+`"`)
		w.Write(content)
	default:
		w.Header().Set("ETag", `"`+sha+`"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	}
}

func (p *Portal) status(w http.ResponseWriter, r *http.Request) {
	var rep packages.StatusReport
	if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_request", "request body is not valid JSON")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.device(w, r); !ok {
		return
	}
	p.reports = append(p.reports, rep)
	w.WriteHeader(http.StatusNoContent)
}

// Entry is one member of a test archive.
type Entry struct {
	Name     string
	Body     string
	Mode     fs.FileMode // permission bits; 0: 0644 (0755 for folders)
	Type     byte        // a tar type flag; 0: a regular file (a folder if Name ends in /)
	Linkname string      // the target of a symlink or hard link
	Size     int64       // a tar header's size when it must lie about Body; 0: len(Body)
}

// TarGz builds a .tar.gz of entries, exactly as given (unsafe names included).
func TarGz(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: 0o644, Size: int64(len(e.Body)), Format: tar.FormatPAX}
		if e.Mode != 0 {
			hdr.Mode = int64(e.Mode)
		}
		switch {
		case e.Type == 0 && strings.HasSuffix(e.Name, "/"):
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		case e.Type == 0:
			hdr.Typeflag = tar.TypeReg
		case e.Type != tar.TypeReg:
			hdr.Size = 0
		}
		if e.Size != 0 {
			hdr.Size = e.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar %s: %v", e.Name, err)
		}
		if e.Size != 0 {
			// A header that lies about its size: end the stream right here.
			tw.Flush()
			zw.Close()
			return buf.Bytes()
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatalf("tar %s: %v", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Zip builds a .zip of entries; Type tar.TypeSymlink makes a symlink
// (Unix mode bits), a name ending in / a folder.
func Zip(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
		}
		body := e.Body
		switch {
		case e.Type == tar.TypeSymlink:
			mode |= fs.ModeSymlink
			body = e.Linkname
		case strings.HasSuffix(e.Name, "/"):
			mode = fs.ModeDir | 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip %s: %v", e.Name, err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatalf("zip %s: %v", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// String describes the portal for failure messages.
func (p *Portal) String() string { return fmt.Sprintf("portal at %s (key %s)", p.URL, p.Fingerprint) }
