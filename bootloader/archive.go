package bootloader

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// artifactKind is how an app's bytes are installed.
type artifactKind int

const (
	kindFile  artifactKind = iota // placed as is
	kindTarGz                     // unpacked
	kindZip                       // unpacked
)

// Unpacking limits: an archive may not grow past 20 times its size (at least
// 64 MiB, at most 4 GiB) nor hold more than 100 000 entries.
const (
	unpackRatio      = 20
	unpackFloor      = 64 << 20
	unpackCeiling    = 4 << 30
	maxEntries       = 100_000
	maxSymlinkTarget = 4096
)

func unpackLimit(archiveSize int64) int64 {
	return min(max(archiveSize*unpackRatio, unpackFloor), unpackCeiling)
}

// detectKind decides by the file name when it has an extension (so an .apk,
// .jar or .docx, which are zip files, stays whole) and otherwise by the
// first bytes: a zip, or a gzip stream holding a tar.
func detectKind(filename, path string) (artifactKind, error) {
	lower := strings.ToLower(filename)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return kindTarGz, nil
	case strings.HasSuffix(lower, ".zip"):
		return kindZip, nil
	case filepath.Ext(lower) != "":
		return kindFile, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return kindFile, err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return kindFile, err
		}
		if holdsTar(f) {
			return kindTarGz, nil
		}
	}
	return kindFile, nil
}

// holdsTar says whether a gzip stream starts with a POSIX or GNU tar header.
func holdsTar(r io.Reader) bool {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return false
	}
	block := make([]byte, 512)
	if _, err := io.ReadFull(zr, block); err != nil {
		return false
	}
	return bytes.HasPrefix(block[257:], []byte("ustar"))
}

// unsafeArchive refuses an archive; it fails the whole install.
func unsafeArchive(format string, a ...any) error {
	return &Error{Code: CodeUnsafeArchive, Err: fmt.Errorf("unsafe archive: "+format, a...)}
}

// extractor writes archive entries under root, refusing anything that would
// land outside it: absolute paths, .. components, writes through a symlink,
// symlinks pointing out, hard links, device files, and more bytes or entries
// than the limits.
type extractor struct {
	root    string
	limit   int64 // bytes the archive may unpack to
	used    int64
	entries int
}

func newExtractor(root string, archiveSize int64) *extractor {
	return &extractor{root: root, limit: unpackLimit(archiveSize)}
}

func unpackTarGz(src, root string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	x := newExtractor(root, fi.Size())
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("damaged tar archive: %w", err)
		}
		if err := x.count(hdr.Name); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = x.dir(hdr.Name)
		case tar.TypeReg:
			err = x.file(hdr.Name, fs.FileMode(hdr.Mode), hdr.Size, tr)
		case tar.TypeSymlink:
			err = x.symlink(hdr.Name, hdr.Linkname)
		case tar.TypeLink:
			err = unsafeArchive("entry %q is a hard link", hdr.Name)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			err = unsafeArchive("entry %q is a device file or pipe", hdr.Name)
		case tar.TypeXGlobalHeader:
			continue
		default:
			err = unsafeArchive("entry %q has tar type %q, which this bootloader does not unpack", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
	return x.checkSymlinks()
}

func unpackZip(src, root string) error {
	zr, err := zip.OpenReader(src)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("damaged zip archive: %w", err)
	}
	defer zr.Close()
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	x := newExtractor(root, fi.Size())
	for _, zf := range zr.File {
		if err := x.count(zf.Name); err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
			err = x.dir(zf.Name)
		case mode&fs.ModeSymlink != 0:
			err = x.zipSymlink(zf)
		case mode.IsRegular():
			err = x.zipFile(zf)
		default:
			err = unsafeArchive("entry %q is a device file, pipe or socket", zf.Name)
		}
		if err != nil {
			return err
		}
	}
	return x.checkSymlinks()
}

func (x *extractor) zipFile(zf *zip.File) error {
	size := int64(zf.UncompressedSize64)
	if size < 0 { // past what an int64 holds: surely too large
		size = x.limit + 1
	}
	r, err := zf.Open()
	if err != nil {
		return fmt.Errorf("damaged zip entry %q: %w", zf.Name, err)
	}
	defer r.Close()
	return x.file(zf.Name, zf.Mode(), size, r)
}

func (x *extractor) zipSymlink(zf *zip.File) error {
	r, err := zf.Open()
	if err != nil {
		return fmt.Errorf("damaged zip entry %q: %w", zf.Name, err)
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, maxSymlinkTarget+1))
	if err != nil {
		return fmt.Errorf("damaged zip entry %q: %w", zf.Name, err)
	}
	if len(target) > maxSymlinkTarget {
		return unsafeArchive("symlink %q has a target longer than %d bytes", zf.Name, maxSymlinkTarget)
	}
	return x.symlink(zf.Name, string(target))
}

func (x *extractor) count(name string) error {
	x.entries++
	if x.entries > maxEntries {
		return unsafeArchive("more than %d entries", maxEntries)
	}
	return nil
}

// entryPath checks an entry's name and returns it as a local, slash-separated
// path; "." is the root itself. Backslashes count as separators, as Windows
// tools write them.
func entryPath(name string) (string, error) {
	slashed := strings.ReplaceAll(name, `\`, "/")
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return "", unsafeArchive("an entry has an empty or malformed name")
	case strings.HasPrefix(slashed, "/") || hasDriveLetter(slashed) || filepath.IsAbs(name):
		return "", unsafeArchive("entry %q has an absolute path", name)
	}
	for _, part := range strings.Split(slashed, "/") {
		if part == ".." {
			return "", unsafeArchive("entry %q climbs out of the app folder (..)", name)
		}
	}
	clean := path.Clean(slashed)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", unsafeArchive("entry %q is not a path inside the app folder", name)
	}
	return clean, nil
}

func hasDriveLetter(p string) bool {
	return len(p) >= 2 && p[1] == ':' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
}

// parent makes the folders above rel, refusing to go through anything that
// is not a real folder, such as a symlink an earlier entry made.
func (x *extractor) parent(rel, name string) error {
	dir := x.root
	parts := strings.Split(rel, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return unsafeArchive("entry %q goes through a symlink", name)
		case !fi.IsDir():
			return unsafeArchive("entry %q goes through a file", name)
		}
	}
	return nil
}

// target checks the entry's own path: it may replace a file an earlier entry
// wrote, never a symlink or a folder.
func (x *extractor) target(name string) (rel, full string, err error) {
	if rel, err = entryPath(name); err != nil {
		return "", "", err
	}
	if rel == "." {
		return "", "", unsafeArchive("entry %q names the app folder itself", name)
	}
	if err := x.parent(rel, name); err != nil {
		return "", "", err
	}
	full = filepath.Join(x.root, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return rel, full, nil
	case err != nil:
		return "", "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", "", unsafeArchive("entry %q goes through a symlink", name)
	case fi.IsDir():
		return "", "", unsafeArchive("entry %q replaces a folder", name)
	}
	return rel, full, os.Remove(full)
}

func (x *extractor) dir(name string) error {
	rel, err := entryPath(name)
	if err != nil || rel == "." {
		return err
	}
	if err := x.parent(rel+"/.", name); err != nil {
		return err
	}
	return nil
}

func (x *extractor) file(name string, mode fs.FileMode, declared int64, r io.Reader) error {
	left := x.limit - x.used
	if declared > left {
		return unsafeArchive("it unpacks to more than %s", humanBytes(x.limit))
	}
	_, full, err := x.target(name)
	if err != nil {
		return err
	}
	// Only permission bits (no setuid, setgid, sticky), and always readable
	// and writable by their owner.
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm()|0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpack %q: %w", name, err)
	}
	if n > left {
		return unsafeArchive("it unpacks to more than %s", humanBytes(x.limit))
	}
	x.used += n
	return nil
}

// symlink makes a link whose target, read from the link's own folder, stays
// inside the app folder; checkSymlinks verifies that again once every entry
// is in place, since links may point through one another.
func (x *extractor) symlink(name, target string) error {
	rel, err := entryPath(name)
	if err != nil {
		return err
	}
	t := strings.ReplaceAll(target, `\`, "/")
	if t == "" || strings.HasPrefix(t, "/") || hasDriveLetter(t) || filepath.IsAbs(target) {
		return unsafeArchive("symlink %q points outside the app folder (%q)", name, target)
	}
	if resolved := path.Join(path.Dir(rel), t); resolved == ".." || strings.HasPrefix(resolved, "../") {
		return unsafeArchive("symlink %q points outside the app folder (%q)", name, target)
	}
	_, full, err := x.target(name)
	if err != nil {
		return err
	}
	if err := os.Symlink(filepath.FromSlash(t), full); err != nil {
		return fmt.Errorf("unpack symlink %q: %w", name, err)
	}
	return nil
}

// checkSymlinks resolves every symlink under root and refuses one that ends
// outside it, or nowhere.
func (x *extractor) checkSymlinks() error {
	root, err := filepath.EvalSymlinks(x.root)
	if err != nil {
		return err
	}
	return filepath.WalkDir(x.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		name, _ := filepath.Rel(x.root, p)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return unsafeArchive("symlink %q points to nothing inside the app folder", filepath.ToSlash(name))
		}
		if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) && rel != "." {
			return unsafeArchive("symlink %q points outside the app folder", filepath.ToSlash(name))
		}
		return nil
	})
}
