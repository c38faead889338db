package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"provportal/bootloader"
	"provportal/packages/activation"
	"provportal/portal/gormstore"
	"provportal/portal/testdb"
)

// BenchmarkActivation measures whole enterprise activations (password set,
// key exchange, policy, service books, install, slow sync) against a portal
// on loopback, with production's argon2id cost on both sides.
func BenchmarkActivation(b *testing.B) {
	for _, backend := range []struct {
		name string
		cfg  func(t testing.TB) gormstore.Config
	}{
		{"sqlite", func(t testing.TB) gormstore.Config { return gormstore.Config{SQLitePath: testdb.SQLitePath(t)} }},
		{"postgres", func(t testing.TB) gormstore.Config { return gormstore.Config{DatabaseURL: testdb.PostgresURL(t)} }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			st, err := gormstore.Open(backend.cfg(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			e := newPortal(b, st, func(c *Config) { c.ActivationKDF = activation.DefaultArgon2Params() })
			uid := activationUser(b, e, `{"password_required":true}`)
			exe := filepath.Join(b.TempDir(), "bl")
			os.WriteFile(exe, []byte("stand-in"), 0o755)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pw := activationPassword(b, e, uid, `{}`)
				if err := bootloader.Run(context.Background(), bootloader.Options{Server: e.URL, Email: "dave@example.com",
					ActivationPassword: pw, InstallDir: filepath.Join(b.TempDir(), "i"), NonInteractive: true, Executable: exe}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "activations/s")
		})
	}
}
