package bootloader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"provportal/packages"
)

const (
	// downloadAttempts bounds the tries of one download that make no progress;
	// a try that brings bytes starts the count again.
	downloadAttempts = 5
	// stallTimeout cuts a download that brings no byte for this long.
	stallTimeout = 60 * time.Second
	copyBuffer   = 128 << 10
)

var (
	errStalled = errors.New("the download stalled")
	// errRestart says a part could not be continued and was dropped: the next
	// try starts from the first byte.
	errRestart = errors.New("the portal could not resume the download")
)

// downloader fetches app artifacts into <install-dir>/.downloads: <sha256>.part
// while it comes, renamed to <sha256> once its hash is checked.
type downloader struct {
	portal   *portalClient
	dir      string
	progress *progress
}

// fetch returns the path of the app's verified bytes, downloading what is
// missing. A verified file from an earlier run is reused; a part file is
// resumed with a Range request.
func (d *downloader) fetch(ctx context.Context, app packages.ManifestApp) (string, error) {
	final := filepath.Join(d.dir, app.SHA256)
	part := final + ".part"
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return "", failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
	}
	if ok, err := hasDigest(final, app); err != nil {
		return "", failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
	} else if ok {
		d.progress.reused(app)
		return final, nil
	}
	u, err := d.portal.resolve(app.URL)
	if err != nil {
		return "", failf(CodeInvalidManifest, "app %s: its URL %q is not usable: %w", app.Name, app.URL, err)
	}
	var lastErr error
	for attempt := 0; attempt < downloadAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return "", err
			}
		}
		gained, err := d.try(ctx, app, u.String(), d.portal.sameOrigin(u), part)
		switch {
		case err == nil:
			if err := os.Rename(part, final); err != nil {
				return "", failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
			}
			return final, nil
		case ctx.Err() != nil:
			return "", ctx.Err()
		case !isTransient(err) && !errors.Is(err, errRestart):
			var coded *Error
			if errors.As(err, &coded) {
				return "", err
			}
			return "", failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
		}
		lastErr = err
		if gained {
			attempt = 0 // it moves: keep going
		}
	}
	return "", failf(CodeDownloadFailed, "app %s: download failed after %d attempts: %w", app.Name, downloadAttempts, lastErr)
}

// try makes one request for what part is missing and appends it. It reports
// whether any byte arrived, so the caller knows the download moves. Errors
// worth another try come back bare; fetch names the app.
func (d *downloader) try(ctx context.Context, app packages.ManifestApp, url string, auth bool, part string) (gained bool, err error) {
	offset, h, err := resumeFrom(part, app)
	if err != nil {
		return false, failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
	}
	if offset == app.Size {
		if hex.EncodeToString(h.Sum(nil)) == app.SHA256 {
			d.progress.finish(app)
			return false, nil
		}
		// Complete but wrong (a damaged disk, an earlier server's bytes): start over.
		if err := os.Remove(part); err != nil {
			return false, failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
		}
		offset, h = 0, sha256.New()
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, failf(CodeInvalidManifest, "app %s: %w", app.Name, err)
	}
	if auth {
		d.portal.authorize(req)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		req.Header.Set("If-Range", `"`+app.SHA256+`"`)
	}
	resp, err := d.portal.http.Do(req)
	if err != nil {
		return false, unreachable(d.portal.base, err)
	}
	defer resp.Body.Close()

	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0 && rangeStartsAt(resp, offset):
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		// The whole blob: the server ignored the range, or the blob changed.
		flags |= os.O_TRUNC
		offset, h = 0, sha256.New()
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable || resp.StatusCode == http.StatusPartialContent:
		// A part the server cannot continue: start over on the next try.
		os.Remove(part)
		return false, fmt.Errorf("%w (HTTP %d)", errRestart, resp.StatusCode)
	default:
		se := readServerError(resp)
		if se.transient() {
			return false, fmt.Errorf("%w (HTTP %d)", se, se.Status)
		}
		return false, failf(CodeDownloadFailed, "app %s: download refused: %s (HTTP %d)", app.Name, se.Error(), se.Status)
	}

	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
	}
	defer f.Close()
	d.progress.start(app, offset)
	body := &watchedReader{r: resp.Body, timer: time.AfterFunc(stallTimeout, func() { cancel(errStalled) })}
	defer body.timer.Stop()
	// One byte more than the manifest says is enough to know the bytes are wrong.
	n, err := io.CopyBuffer(io.MultiWriter(f, h, d.progress), io.LimitReader(body, app.Size-offset+1), make([]byte, copyBuffer))
	gained = n > 0
	if err != nil {
		if context.Cause(ctx) == errStalled {
			err = errStalled
		}
		return gained, err
	}
	if err := f.Close(); err != nil {
		return gained, failf(CodeDownloadFailed, "app %s: %w", app.Name, err)
	}
	// The body ended cleanly: the server sent all it has.
	return gained, d.verify(app, part, h, offset+n)
}

// verify checks a finished part against the manifest; a mismatch removes it.
func (d *downloader) verify(app packages.ManifestApp, part string, h hash.Hash, size int64) error {
	if size != app.Size || hex.EncodeToString(h.Sum(nil)) != app.SHA256 {
		os.Remove(part)
		return failf(CodeDigestMismatch, "app %s: downloaded bytes do not match the manifest's SHA-256", app.Name)
	}
	d.progress.finish(app)
	return nil
}

// resumeFrom hashes what an earlier try left in part and says where to go on.
// A part longer than the app is dropped.
func resumeFrom(part string, app packages.ManifestApp) (int64, hash.Hash, error) {
	h := sha256.New()
	f, err := os.Open(part)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, h, nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	n, err := io.Copy(h, io.LimitReader(f, app.Size+1))
	if err != nil {
		return 0, nil, err
	}
	if n > app.Size {
		f.Close()
		return 0, sha256.New(), os.Remove(part)
	}
	return n, h, nil
}

// hasDigest says whether path holds exactly the app's bytes.
func hasDigest(path string, app packages.ManifestApp) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, app.Size+1))
	if err != nil {
		return false, err
	}
	if n == app.Size && hex.EncodeToString(h.Sum(nil)) == app.SHA256 {
		return true, nil
	}
	f.Close()
	return false, os.Remove(path)
}

// rangeStartsAt checks that a 206 answer continues where the part ends.
func rangeStartsAt(resp *http.Response, offset int64) bool {
	cr := resp.Header.Get("Content-Range") // bytes 100-199/200
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return false
	}
	start, _, ok := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	return ok && err == nil && n == offset
}

// watchedReader pushes the stall timer back on every read that brings bytes.
type watchedReader struct {
	r     io.Reader
	timer *time.Timer
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.timer.Reset(stallTimeout)
	}
	return n, err
}
