package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// genBlock is the block size of genReader's output.
const genBlock = 64 << 10

// genPattern is a fixed pseudo-random block from which genReader builds its
// stream; it is computed once so reading allocates nothing.
var genPattern = func() []byte {
	b := make([]byte, genBlock)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}()

// genReader is a deterministic, allocation-free io.Reader of size bytes:
// block k is genPattern with its first 8 bytes replaced by k^seed, so no two
// blocks (and no two seeds) give the same bytes. It is not a byte slice and
// has no WriteTo, so consumers must really stream it.
type genReader struct {
	seed, size, off int64
	cur             int64 // index of the block held in buf, -1 if none
	buf             []byte
}

func newGenReader(seed, size int64) *genReader {
	return &genReader{seed: seed, size: size, cur: -1, buf: make([]byte, genBlock)}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	if k := g.off / genBlock; k != g.cur {
		copy(g.buf, genPattern)
		binary.LittleEndian.PutUint64(g.buf, uint64(k^g.seed))
		g.cur = k
	}
	within := g.off % genBlock
	end := min(int64(genBlock), within+(g.size-g.off))
	n := copy(p, g.buf[within:end])
	g.off += int64(n)
	return n, nil
}

// genDigest hashes genReader's output independently of the store.
func genDigest(t testing.TB, seed, size int64) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, newGenReader(seed, size)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

var errBoom = errors.New("boom: connection reset")

// failingReader yields n bytes of r and then fails with errBoom.
type failingReader struct {
	r io.Reader
	n int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBoom
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// hookReader calls hook before the read that would pass offset after.
type hookReader struct {
	r     io.Reader
	after int64
	off   int64
	hook  func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil && h.off >= h.after {
		h.hook()
		h.hook = nil
	}
	n, err := h.r.Read(p)
	h.off += int64(n)
	return n, err
}

func newStore(t testing.TB, maxSize int64) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := Open(dir, maxSize)
	if err != nil {
		t.Fatalf("Open(%q, %d): %v", dir, maxSize, err)
	}
	return s, dir
}

// entries lists everything (files and directories) below root, relative.
func entries(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// regularFiles lists the regular files below root, relative.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	for _, e := range entries(t, root) {
		fi, err := os.Lstat(filepath.Join(root, e))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() {
			out = append(out, e)
		}
	}
	return out
}

// assertNothingStored fails unless sha256/ and tmp/ are both empty.
func assertNothingStored(t testing.TB, dir string) {
	t.Helper()
	for _, sub := range []string{objDirName, tmpDirName} {
		if got := entries(t, filepath.Join(dir, sub)); len(got) != 0 {
			t.Errorf("%s/ holds %q, want it empty", sub, got)
		}
	}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPutRoundTripKnownDigests(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"quick brown fox", "The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
		{"million a spanning copy buffers", strings.Repeat("a", 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newStore(t, 0)
			ctx := t.Context()

			b, err := s.Put(ctx, strings.NewReader(tt.content))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got, want := b, (Blob{SHA256: tt.want, Size: int64(len(tt.content))}); got != want {
				t.Fatalf("Put = %+v, want %+v", got, want)
			}

			wantPath := filepath.Join(dir, "sha256", tt.want[:2], tt.want)
			if got, err := s.Path(tt.want); err != nil || got != wantPath {
				t.Errorf("Path = %q, %v; want %q, nil", got, err, wantPath)
			}
			fi, err := os.Stat(wantPath)
			if err != nil {
				t.Fatalf("stored file: %v", err)
			}
			if got, want := fi.Mode().Perm(), fs.FileMode(0o640); got != want {
				t.Errorf("file mode = %v, want %v", got, want)
			}

			f, size, err := s.Open(tt.want)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer f.Close()
			if got, want := size, int64(len(tt.content)); got != want {
				t.Errorf("Open size = %d, want %d", got, want)
			}
			data, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(data), tt.content; got != want {
				t.Errorf("Open content = %.40q (%d bytes), want %.40q (%d bytes)", got, len(got), want, len(want))
			}

			st, err := s.Stat(tt.want)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if got, want := st, b; got != want {
				t.Errorf("Stat = %+v, want %+v", got, want)
			}
			if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
				t.Errorf("tmp/ holds %q after success, want it empty", got)
			}
		})
	}
}

func TestPutDedupSameContentTwice(t *testing.T) {
	s, dir := newStore(t, 0)
	content := []byte("same artifact bytes")

	first, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatalf("first Put: %v", err)
	}
	second, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if got, want := second, first; got != want {
		t.Errorf("second Put = %+v, want %+v", got, want)
	}
	files := regularFiles(t, filepath.Join(dir, "sha256"))
	if got, want := len(files), 1; got != want {
		t.Errorf("files under sha256/ = %d (%q), want %d", got, files, want)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want it empty", got)
	}
}

func TestPutReplacesDamagedBlobOfWrongSize(t *testing.T) {
	s, _ := newStore(t, 0)
	content := []byte("the full artifact content")
	digest := hexSum(content)
	p, err := s.Path(digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content[:5], 0o640); err != nil { // truncated
		t.Fatal(err)
	}

	if _, err := s.Put(t.Context(), bytes.NewReader(content)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := content; !bytes.Equal(got, want) {
		t.Errorf("stored content = %q, want %q", got, want)
	}
}

func TestPutSizeLimit(t *testing.T) {
	const maxSize = 100_000 // not a multiple of any buffer size
	tests := []struct {
		name    string
		size    int64
		wantErr error
	}{
		{"one below the limit", maxSize - 1, nil},
		{"exactly the limit", maxSize, nil},
		{"one byte over the limit", maxSize + 1, ErrTooLarge},
		{"input far over the limit", 16 << 20, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newStore(t, maxSize)
			cr := &countingReader{r: newGenReader(3, tt.size)}

			b, err := s.Put(t.Context(), cr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertNothingStored(t, dir)
				// It must stop reading as soon as the limit is passed.
				if got, want := cr.n, int64(maxSize+1); got > want {
					t.Errorf("bytes read = %d, want at most %d", got, want)
				}
				return
			}
			want := Blob{SHA256: genDigest(t, 3, tt.size), Size: tt.size}
			if got := b; got != want {
				t.Errorf("Put = %+v, want %+v", got, want)
			}
			if _, err := s.Stat(want.SHA256); err != nil {
				t.Errorf("Stat after Put: %v", err)
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		want    int64
	}{
		{"zero means no limit", 0, 0},
		{"negative means no limit", -1, 0},
		{"positive is kept", 1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, tt.maxSize)
			if got := s.MaxSize(); got != tt.want {
				t.Errorf("MaxSize() = %d, want %d", got, tt.want)
			}
			// With or without a limit, 1 MiB+1 goes in unless limited below it.
			_, err := s.Put(t.Context(), newGenReader(1, 1<<20+1))
			var wantErr error
			if tt.want > 0 && tt.want < 1<<20+1 {
				wantErr = ErrTooLarge
			}
			if !errors.Is(err, wantErr) {
				t.Errorf("Put 1 MiB+1 error = %v, want %v", err, wantErr)
			}
		})
	}
}

func TestPutReaderErrorMidwayLeavesNothing(t *testing.T) {
	tests := []struct {
		name      string
		failAfter int64
	}{
		{"fails before any byte", 0},
		{"fails inside the first buffer", 5_000},
		{"fails after several buffers", 3<<20 + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newStore(t, 0)
			r := &failingReader{r: newGenReader(5, 1<<30), n: tt.failAfter}

			_, err := s.Put(t.Context(), r)
			if !errors.Is(err, errBoom) {
				t.Fatalf("Put error = %v, want %v", err, errBoom)
			}
			assertNothingStored(t, dir)
		})
	}
}

func TestPutContextCancelledAbortsAndCleansUp(t *testing.T) {
	tests := []struct {
		name        string
		cancelAfter int64 // -1: cancel before Put
	}{
		{"cancelled before Put", -1},
		{"cancelled mid-stream", 2<<20 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newStore(t, 0)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var r io.Reader = newGenReader(9, 64<<20)
			if tt.cancelAfter < 0 {
				cancel()
			} else {
				r = &hookReader{r: r, after: tt.cancelAfter, hook: cancel}
			}
			cr := &countingReader{r: r}

			_, err := s.Put(ctx, cr)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put error = %v, want %v", err, context.Canceled)
			}
			assertNothingStored(t, dir)
			// It stops at the next read after cancellation, not at EOF: the
			// hook fires at the first read boundary past cancelAfter, and
			// that one read still completes.
			if got, limit := cr.n, max(tt.cancelAfter, 0)+2*genBlock; got > limit {
				t.Errorf("bytes read = %d, want at most %d", got, limit)
			}
		})
	}
}

func TestPutExpected(t *testing.T) {
	content := []byte("firmware image v1.2.3")
	right := hexSum(content)
	wrong := hexSum([]byte("something else"))
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"matching digest is stored", right, nil},
		{"matching digest in uppercase is stored", strings.ToUpper(right), nil},
		{"wrong digest is refused", wrong, ErrBadDigest},
		{"malformed digest is refused", "not-a-digest", ErrBadDigest},
		{"empty digest is refused", "", ErrBadDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newStore(t, 0)

			b, err := s.PutExpected(t.Context(), bytes.NewReader(content), tt.want)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("PutExpected error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertNothingStored(t, dir)
				if _, err := s.Stat(right); !errors.Is(err, ErrNotFound) {
					t.Errorf("Stat after refused PutExpected error = %v, want %v", err, ErrNotFound)
				}
				return
			}
			if got, want := b, (Blob{SHA256: right, Size: int64(len(content))}); got != want {
				t.Errorf("PutExpected = %+v, want %+v", got, want)
			}
		})
	}
}

func TestBadDigestIsNotFound(t *testing.T) {
	valid := hexSum([]byte("x"))
	tests := []struct {
		name   string
		digest string
	}{
		{"path traversal", "../../etc/passwd"},
		{"path traversal padded to 64 chars", "../../../../../../../../../../../../../../../../../../etc/passwd00"},
		{"uppercase hex", strings.ToUpper(valid)},
		{"short", valid[:63]},
		{"long", valid + "0"},
		{"empty", ""},
		{"non-hex letter", valid[:63] + "g"},
		{"slash inside", valid[:10] + "/" + valid[11:]},
		{"sha256: prefix", "sha256:" + valid[:57]},
	}
	s, _ := newStore(t, 0)
	// Store the valid blob so that a lax check would find something.
	if _, err := s.Put(t.Context(), strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.digest) == 64 && validDigest(tt.digest) {
				t.Fatalf("test digest %q is valid", tt.digest)
			}
			f, size, err := s.Open(tt.digest)
			if f != nil {
				f.Close()
			}
			if !errors.Is(err, ErrNotFound) || f != nil || size != 0 {
				t.Errorf("Open(%q) = %v, %d, %v; want nil, 0, %v", tt.digest, f, size, err, ErrNotFound)
			}
			if _, err := s.Stat(tt.digest); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%q) error = %v, want %v", tt.digest, err, ErrNotFound)
			}
			if p, err := s.Path(tt.digest); !errors.Is(err, ErrNotFound) || p != "" {
				t.Errorf("Path(%q) = %q, %v; want \"\", %v", tt.digest, p, err, ErrNotFound)
			}
		})
	}
}

func TestOpenMissingBlobIsNotFound(t *testing.T) {
	s, _ := newStore(t, 0)
	digest := hexSum([]byte("never stored"))

	f, _, err := s.Open(digest)
	if f != nil {
		f.Close()
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Open error = %v, want %v", err, ErrNotFound)
	}
	if _, err := s.Stat(digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat error = %v, want %v", err, ErrNotFound)
	}
}

func TestPutLargeStreamKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	const (
		size     = 256 << 20
		seed     = 42
		maxAlloc = 64 << 20 // far below size: the content is never held whole
	)
	s, _ := newStore(t, 0)
	want := Blob{SHA256: genDigest(t, seed, size), Size: size}
	r := newGenReader(seed, size)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := s.Put(t.Context(), r)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got >= maxAlloc {
		t.Errorf("Put of %d bytes allocated %d bytes, want < %d", size, got, maxAlloc)
	} else {
		t.Logf("Put of %d bytes allocated %d bytes", size, got)
	}
	if got := b; got != want {
		t.Errorf("Put = %+v, want %+v", got, want)
	}

	// The bytes on disk hash to the digest too.
	f, n, err := s.Open(b.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(size); got != want {
		t.Errorf("Open size = %d, want %d", got, want)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), b.SHA256; got != want {
		t.Errorf("digest of stored file = %s, want %s", got, want)
	}
}

func TestPutConcurrentSameContentAllSucceed(t *testing.T) {
	const (
		workers = 8
		size    = 3<<20 + 11
		seed    = 7
	)
	s, dir := newStore(t, 0)
	want := Blob{SHA256: genDigest(t, seed, size), Size: size}

	results := make([]Blob, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Put(t.Context(), newGenReader(seed, size))
		})
	}
	close(start)
	wg.Wait()

	for i := range workers {
		if errs[i] != nil {
			t.Errorf("Put #%d: %v", i, errs[i])
			continue
		}
		if got := results[i]; got != want {
			t.Errorf("Put #%d = %+v, want %+v", i, got, want)
		}
	}
	files := regularFiles(t, filepath.Join(dir, "sha256"))
	if got, want := len(files), 1; got != want {
		t.Errorf("files under sha256/ = %d (%q), want %d", got, files, want)
	}
	if got := entries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want it empty", got)
	}
	if got, err := s.Stat(want.SHA256); err != nil || got != want {
		t.Errorf("Stat = %+v, %v; want %+v, nil", got, err, want)
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	_, dir := newStore(t, 0)
	for _, sub := range []string{"", "tmp", "sha256"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("stat %q: %v", sub, err)
		}
		if !fi.IsDir() {
			t.Errorf("%q is %v, want a directory", sub, fi.Mode())
		}
	}
	// Re-opening an existing store works.
	if _, err := Open(dir, 0); err != nil {
		t.Errorf("second Open: %v", err)
	}
}

func TestOpenRemovesStaleTempFiles(t *testing.T) {
	_, dir := newStore(t, 0)
	tmp := filepath.Join(dir, "tmp")
	old := time.Now().Add(-25 * time.Hour)
	tests := []struct {
		name     string
		file     string
		mtime    time.Time
		wantKept bool
	}{
		{"stale temp file is removed", "put-1111", old, false},
		{"fresh temp file is kept", "put-2222", time.Now(), true},
		{"stale file that is not ours is kept", "other-3333", old, true},
	}
	for _, tt := range tests {
		p := filepath.Join(tmp, tt.file)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, tt.mtime, tt.mtime); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := Open(dir, 0); err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := os.Stat(filepath.Join(tmp, tt.file))
			if got := err == nil; got != tt.wantKept {
				t.Errorf("%s kept = %v (stat error %v), want %v", tt.file, got, err, tt.wantKept)
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	const size = 64 << 20
	s, _ := newStore(b, 0)
	ctx := b.Context()
	b.SetBytes(size)
	b.ReportAllocs()
	var seed int64
	for b.Loop() {
		seed++ // new content each time: the full write+fsync+rename path
		blob, err := s.Put(ctx, newGenReader(seed, size))
		if err != nil {
			b.Fatal(err)
		}
		p, _ := s.Path(blob.SHA256)
		if err := os.Remove(p); err != nil { // keep disk use flat
			b.Fatal(err)
		}
	}
}
