package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors; test for them with errors.Is.
var (
	ErrTooLarge  = errors.New("blob: larger than the size limit")
	ErrNotFound  = errors.New("blob: not found")
	ErrBadDigest = errors.New("blob: content does not match the expected SHA-256")
)

const (
	tmpDirName  = "tmp"
	objDirName  = "sha256"
	tmpPrefix   = "put-"
	dirPerm     = 0o750
	filePerm    = 0o640
	staleAfter  = 24 * time.Hour
	copyBufSize = 128 << 10
)

// Store is a content-addressed blob store rooted at a local directory.
// A Store is safe for concurrent use, also by several processes sharing
// the same directory.
type Store struct {
	dir     string
	maxSize int64 // 0 means no limit
}

// Blob describes a stored blob.
type Blob struct {
	SHA256 string // lowercase hex, 64 characters
	Size   int64
}

// Open opens the store rooted at dir, creating dir (0o750) and its tmp/
// and sha256/ subfolders if needed. maxSize <= 0 means no size limit.
//
// Open also removes, best effort, temp files in tmp/ that were last
// modified more than 24 hours ago: they are left-overs of crashed uploads
// (an upload in progress keeps its temp file's mtime fresh).
func Open(dir string, maxSize int64) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blob: open: empty directory name")
	}
	if maxSize < 0 {
		maxSize = 0
	}
	s := &Store{dir: filepath.Clean(dir), maxSize: maxSize}
	for _, d := range []string{s.dir, s.tmpDir(), s.objDir()} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("blob: open: %w", err)
		}
	}
	s.removeStaleTemps(time.Now().Add(-staleAfter))
	return s, nil
}

// MaxSize returns the size limit in bytes; 0 means no limit.
func (s *Store) MaxSize() int64 { return s.maxSize }

// Put streams r into the store and returns the stored blob.
//
// The content goes to a temp file in tmp/ while its SHA-256 is computed on
// the way; nothing is buffered whole in memory. If more than MaxSize bytes
// arrive, Put stops reading and returns ErrTooLarge. A complete upload is
// fsynced and atomically renamed to sha256/<first 2 hex>/<hex> with mode
// 0o640; if that blob already exists the temp file is dropped instead. On
// any error (including ctx being done, which is checked between reads) the
// temp file is removed and nothing is left under sha256/.
//
// Put never interrupts a Read that is blocked in r; readers tied to ctx,
// such as an http.Request body, return on their own when it is cancelled.
func (s *Store) Put(ctx context.Context, r io.Reader) (Blob, error) {
	return s.put(ctx, r, "")
}

// PutExpected is Put that also fails with ErrBadDigest, storing nothing,
// when the SHA-256 of the content is not want (hex, case-insensitive).
// A want that is not a hex SHA-256 fails with ErrBadDigest before r is read.
func (s *Store) PutExpected(ctx context.Context, r io.Reader, want string) (Blob, error) {
	want = strings.ToLower(want)
	if !validDigest(want) {
		return Blob{}, fmt.Errorf("%w: expected digest is not 64 hex characters", ErrBadDigest)
	}
	return s.put(ctx, r, want)
}

func (s *Store) put(ctx context.Context, r io.Reader, want string) (Blob, error) {
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	f, err := os.CreateTemp(s.tmpDir(), tmpPrefix+"*")
	if err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	tmpName := f.Name()
	closed, renamed := false, false
	defer func() {
		if !closed {
			_ = f.Close()
		}
		if !renamed {
			_ = os.Remove(tmpName)
		}
	}()

	var src io.Reader = ctxReader{ctx: ctx, r: r}
	limited := s.maxSize > 0 && s.maxSize < math.MaxInt64
	if limited {
		// One byte more than allowed is enough to know it is too large.
		src = io.LimitReader(src, s.maxSize+1)
	}
	h := sha256.New()
	// The wrappers hide any WriterTo/ReaderFrom, so io.CopyBuffer really
	// streams through buf and every byte passes the limit and ctx checks.
	n, err := io.CopyBuffer(io.MultiWriter(h, f), src, make([]byte, copyBufSize))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Blob{}, fmt.Errorf("blob: put: %w", cerr)
		}
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	if limited && n > s.maxSize {
		return Blob{}, fmt.Errorf("%w of %d bytes", ErrTooLarge, s.maxSize)
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return Blob{}, fmt.Errorf("%w: got %s, want %s", ErrBadDigest, sum, want)
	}
	b := Blob{SHA256: sum, Size: n}

	final := s.path(sum)
	// Dedup: an existing blob of the right size already has this content.
	// (A wrong size means a damaged file; the rename below replaces it.)
	if fi, err := os.Lstat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == n {
		return b, nil
	}
	if err := f.Chmod(filePerm); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	shard := filepath.Dir(final)
	_, shardErr := os.Stat(shard)
	if err := os.MkdirAll(shard, dirPerm); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	// Concurrent Puts of the same content may both get here; rename is
	// atomic and both files hold the same bytes, so either outcome is fine.
	if err := os.Rename(tmpName, final); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	renamed = true
	// Make the new directory entries durable too.
	if err := syncDir(shard); err != nil {
		return Blob{}, fmt.Errorf("blob: put: %w", err)
	}
	if shardErr != nil {
		if err := syncDir(s.objDir()); err != nil {
			return Blob{}, fmt.Errorf("blob: put: %w", err)
		}
	}
	return b, nil
}

// Open returns the blob with the given digest opened for reading, and its
// size. The caller must close the file. It is an *os.File so that callers
// can use http.ServeContent and the kernel's sendfile. A missing blob, and a
// digest that is not 64 lowercase hex characters, give ErrNotFound.
func (s *Store) Open(digest string) (*os.File, int64, error) {
	p, err := s.Path(digest)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, digest)
		}
		return nil, 0, fmt.Errorf("blob: open %s: %w", digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("blob: open %s: %w", digest, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return f, fi.Size(), nil
}

// Stat reports the blob with the given digest without opening it.
// Like Open, it returns ErrNotFound for missing blobs and malformed digests.
func (s *Store) Stat(digest string) (Blob, error) {
	p, err := s.Path(digest)
	if err != nil {
		return Blob{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Blob{}, fmt.Errorf("%w: %s", ErrNotFound, digest)
		}
		return Blob{}, fmt.Errorf("blob: stat %s: %w", digest, err)
	}
	if !fi.Mode().IsRegular() {
		return Blob{}, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return Blob{SHA256: digest, Size: fi.Size()}, nil
}

// Path returns the file path where the blob with the given digest is (or
// would be) stored; it does not check that the blob exists. A digest that
// is not 64 lowercase hex characters gives ErrNotFound, so no path is ever
// built from unvalidated input.
func (s *Store) Path(digest string) (string, error) {
	if !validDigest(digest) {
		return "", fmt.Errorf("%w: malformed digest", ErrNotFound)
	}
	return s.path(digest), nil
}

// path builds the blob path; digest must have been validated.
func (s *Store) path(digest string) string {
	return filepath.Join(s.objDir(), digest[:2], digest)
}

func (s *Store) tmpDir() string { return filepath.Join(s.dir, tmpDirName) }
func (s *Store) objDir() string { return filepath.Join(s.dir, objDirName) }

// removeStaleTemps deletes temp files last modified before cutoff.
// Errors are ignored: this is housekeeping, not correctness.
func (s *Store) removeStaleTemps(cutoff time.Time) {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		_ = os.Remove(filepath.Join(s.tmpDir(), e.Name()))
	}
}

// validDigest reports whether d is exactly 64 lowercase hex characters.
func validDigest(d string) bool {
	if len(d) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
