package apk_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"provportal/packages"
	"provportal/packages/apk"
)

const v2ID = 0x7109871a // APK Signature Scheme v2

// unsignedZip is a small ZIP with a comment, as an APK before signing.
func unsignedZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{"AndroidManifest.xml": "manifest", "classes.dex": "dex\n035", "lib/arm64-v8a/libbootloader.so": "\x7fELF"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	zw.SetComment("built for a test")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// signed inserts a signing block holding pairs before the central
// directory of z, as apksigner does.
func signed(t testing.TB, z []byte, pairs ...apk.Pair) []byte {
	t.Helper()
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	cd := int(binary.LittleEndian.Uint32(z[eocd+16:]))
	var body bytes.Buffer
	for _, p := range pairs {
		binary.Write(&body, binary.LittleEndian, uint64(4+len(p.Value)))
		binary.Write(&body, binary.LittleEndian, p.ID)
		body.Write(p.Value)
	}
	n := uint64(body.Len() + 24)
	var block bytes.Buffer
	binary.Write(&block, binary.LittleEndian, n)
	block.Write(body.Bytes())
	binary.Write(&block, binary.LittleEndian, n)
	block.WriteString("APK Sig Block 42")

	out := append([]byte(nil), z[:cd]...)
	out = append(out, block.Bytes()...)
	out = append(out, z[cd:]...)
	binary.LittleEndian.PutUint32(out[eocd+block.Len()+16:], uint32(cd+block.Len()))
	return out
}

func signedAPK(t testing.TB) []byte {
	return signed(t, unsignedZip(t), apk.Pair{ID: v2ID, Value: []byte("a v2 signature stands here")})
}

func withValue(t *testing.T, file []byte, id uint32, value []byte) []byte {
	t.Helper()
	r, n, err := apk.WithValue(bytes.NewReader(file), int64(len(file)), id, value)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(out)) != n {
		t.Fatalf("WithValue promised %d bytes, gave %d", n, len(out))
	}
	return out
}

func TestWithValueAddsAPair(t *testing.T) {
	orig := signedAPK(t)
	got := withValue(t, orig, 0x1234, []byte("hello"))

	v, err := apk.Value(bytes.NewReader(got), int64(len(got)), 0x1234)
	if err != nil || string(v) != "hello" {
		t.Fatalf("Value = %q, %v; want hello", v, err)
	}
	pairs, err := apk.Pairs(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].ID != v2ID || string(pairs[0].Value) != "a v2 signature stands here" {
		t.Errorf("pairs = %+v; want the v2 signature kept, then the new pair", pairs)
	}

	// What the signature covers is unchanged: the entries before the block,
	// the central directory and the end record but its offset field.
	cd := bytes.LastIndex(orig, []byte("APK Sig Block 42")) + 16
	blockStart := cd - 8 - int(binary.LittleEndian.Uint64(orig[cd-24:]))
	if !bytes.Equal(got[:blockStart], orig[:blockStart]) {
		t.Error("the bytes before the signing block changed")
	}
	added := len(got) - len(orig)
	if added != 8+4+5 {
		t.Errorf("the file grew by %d bytes, want one pair's 17", added)
	}
	origEOCD := bytes.LastIndex(orig, []byte("PK\x05\x06"))
	if !bytes.Equal(got[cd+added:len(got)-len(orig)+origEOCD], orig[cd:origEOCD]) {
		t.Error("the central directory changed")
	}

	// Still a ZIP whose entries read back.
	zr, err := zip.NewReader(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatalf("the result is no longer a ZIP: %v", err)
	}
	if zr.Comment != "built for a test" || len(zr.File) != 3 {
		t.Errorf("ZIP comment %q with %d files", zr.Comment, len(zr.File))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		if _, err := io.ReadAll(rc); err != nil {
			t.Errorf("read %s: %v", f.Name, err)
		}
		rc.Close()
	}
}

func TestWithValueReplacesThePair(t *testing.T) {
	once := withValue(t, signedAPK(t), 0x1234, []byte("first, and longer"))
	twice := withValue(t, once, 0x1234, []byte("second"))
	pairs, err := apk.Pairs(bytes.NewReader(twice), int64(len(twice)))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	for _, p := range pairs {
		ids = append(ids, p.ID)
	}
	if !reflect.DeepEqual(ids, []uint32{v2ID, 0x1234}) {
		t.Errorf("pair IDs %x, want the v2 signature and one 0x1234", ids)
	}
	if v, _ := apk.Value(bytes.NewReader(twice), int64(len(twice)), 0x1234); string(v) != "second" {
		t.Errorf("value %q, want the second", v)
	}
	if len(twice) != len(signedAPK(t))+8+4+len("second") {
		t.Errorf("restamped size %d: the old pair was not taken out", len(twice))
	}
}

func TestEmptyValue(t *testing.T) {
	got := withValue(t, signedAPK(t), 7, nil)
	v, err := apk.Value(bytes.NewReader(got), int64(len(got)), 7)
	if err != nil || len(v) != 0 {
		t.Errorf("Value = %q, %v; want empty", v, err)
	}
}

func TestBlockPresentOrNot(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want error // from Value for an ID the file lacks
	}{
		{"signed_apk", signedAPK(t), apk.ErrNoPair},
		{"unsigned_zip", unsignedZip(t), apk.ErrNoSigningBlock},
		{"empty_block", signed(t, unsignedZip(t)), apk.ErrNoPair},
		{"executable", []byte("\x7fELF" + strings.Repeat("x", 100)), apk.ErrNotZip},
		{"empty_file", nil, apk.ErrNotZip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apk.Value(bytes.NewReader(tc.file), int64(len(tc.file)), 0x99)
			if !errors.Is(err, tc.want) {
				t.Errorf("Value: %v, want %v", err, tc.want)
			}
			_, err = apk.ReadStamp(bytes.NewReader(tc.file), int64(len(tc.file)))
			if !errors.Is(err, packages.ErrNoStamp) {
				t.Errorf("ReadStamp: %v, want ErrNoStamp", err)
			}
		})
	}
	z := unsignedZip(t)
	if _, _, err := apk.WithValue(bytes.NewReader(z), int64(len(z)), 1, []byte("x")); !errors.Is(err, apk.ErrNoSigningBlock) {
		t.Errorf("WithValue on an unsigned ZIP: %v, want ErrNoSigningBlock", err)
	}
}

// corrupt returns a copy of b with f applied.
func corrupt(b []byte, f func(b []byte)) []byte {
	c := append([]byte(nil), b...)
	f(c)
	return c
}

func TestRefusesMalformedBlocks(t *testing.T) {
	good := signedAPK(t)
	magic := bytes.LastIndex(good, []byte("APK Sig Block 42"))
	footSize := magic - 8
	n := int(binary.LittleEndian.Uint64(good[footSize:]))
	start := magic + 16 - n - 8
	eocd := bytes.LastIndex(good, []byte("PK\x05\x06"))
	tests := []struct {
		name string
		file []byte
	}{
		{"sizes_differ", corrupt(good, func(b []byte) { b[start]++ })},
		{"size_past_the_start", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[footSize:], uint64(magic+100)) })},
		{"size_below_the_footer", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[footSize:], 3) })},
		{"size_huge", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[footSize:], 1<<63) })},
		{"pair_length_past_the_block", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[start+8:], 1<<40) })},
		{"pair_length_overflows", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[start+8:], ^uint64(0)) })},
		{"pair_length_under_its_id", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint64(b[start+8:], 2) })},
		{"central_directory_off_the_record", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint32(b[eocd+16:], 5) })},
		{"central_directory_past_the_end", corrupt(good, func(b []byte) { binary.LittleEndian.PutUint32(b[eocd+16:], 1<<31) })},
		{"zip64", func() []byte {
			loc := make([]byte, 20)
			binary.LittleEndian.PutUint32(loc, 0x07064b50)
			b := append(append(append([]byte(nil), good[:eocd]...), loc...), good[eocd:]...)
			binary.LittleEndian.PutUint32(b[eocd+20+12:], binary.LittleEndian.Uint32(b[eocd+20+12:])+20)
			return b
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := apk.Value(bytes.NewReader(tc.file), int64(len(tc.file)), v2ID); err == nil {
				t.Errorf("Value accepted it: %q", v)
			}
			if _, _, err := apk.WithValue(bytes.NewReader(tc.file), int64(len(tc.file)), 1, []byte("x")); err == nil {
				t.Error("WithValue accepted it")
			}
			if _, err := apk.ReadStamp(bytes.NewReader(tc.file), int64(len(tc.file))); err == nil {
				t.Error("ReadStamp accepted it")
			}
		})
	}
}

// TestNoPanics cuts and damages a stamped APK every way near its block and
// end record: every answer is a value or an error, never a panic.
func TestNoPanics(t *testing.T) {
	good := withValue(t, signedAPK(t), apk.StampID, []byte(`{"portal_url":"https://portal.example.com"}`))
	start := bytes.Index(good, []byte("APK Sig Block 42")) - 200
	for cut := 0; cut <= len(good); cut++ {
		b := good[:cut]
		apk.Pairs(bytes.NewReader(b), int64(len(b)))
		apk.ReadStamp(bytes.NewReader(b), int64(len(b)))
	}
	for i := max(start, 0); i < len(good); i++ {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := corrupt(good, func(b []byte) { b[i] ^= x })
			apk.ReadStamp(bytes.NewReader(b), int64(len(b)))
			if r, _, err := apk.WithValue(bytes.NewReader(b), int64(len(b)), 9, []byte("v")); err == nil {
				io.Copy(io.Discard, r)
			}
		}
	}
}

func FuzzPairs(f *testing.F) {
	f.Add(signedAPK(f))
	f.Add(unsignedZip(f))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := apk.Pairs(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		r, n, err := apk.WithValue(bytes.NewReader(b), int64(len(b)), 42, []byte("v"))
		if err != nil {
			return
		}
		out, _ := io.ReadAll(r)
		if int64(len(out)) != n {
			t.Fatalf("WithValue promised %d bytes, gave %d", n, len(out))
		}
		again, err := apk.Pairs(bytes.NewReader(out), n)
		if err != nil {
			t.Fatalf("the written file does not read back: %v", err)
		}
		if len(again) < 1 || again[len(again)-1].ID != 42 || len(again) > len(pairs)+1 {
			t.Fatalf("pairs %d before, %+v after", len(pairs), again)
		}
	})
}
