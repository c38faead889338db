package server

import (
	"context"
	"path/filepath"
	"testing"

	"provportal/bootloader"
	"provportal/packages/activation"
	"provportal/portal/gormstore"
)

// BenchmarkActivation measures whole enterprise activations (password set,
// key exchange, policy, service books, install, slow sync) against a portal
// on loopback, with production's argon2id cost on both sides.
func BenchmarkActivation(b *testing.B) {
	benchBackends(b, func(b *testing.B, st *gormstore.Store) {
		e := newPortal(b, st, func(c *Config) { c.ActivationKDF = activation.DefaultArgon2Params() })
		uid := activationUser(b, e, `{"password_required":true}`)
		exe := standInExecutable(b)
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
