package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"

	"provportal/packages/blob"
	"provportal/portal/auth"
	"provportal/portal/ios"
)

// newIOS wires iPhone and iPad provisioning: profiles signed with the
// certificate kept in the data dir (made on first start), and challenges
// signed with a key every portal process on the database shares.
func newIOS(ctx context.Context, cfg Config, store Store, blobs *blob.Store, log *slog.Logger) (*ios.Service, error) {
	name := cfg.OrgName
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		name = u.Hostname()
	}
	signer, err := ios.LoadSigner(cfg.DataDir, name)
	if err != nil {
		return nil, err
	}
	if signer.SelfSigned() {
		log.Info("iPhones and iPads will show profiles as not verified: they are signed with the portal's self-signed certificate; see README to replace it",
			"file", ios.SigningFile, "fingerprint", signer.Fingerprint())
	}
	key, err := store.Secret(ctx, ios.ChallengeKeyName, auth.NewSigningKey)
	if err != nil {
		return nil, fmt.Errorf("profile service challenge key: %w", err)
	}
	return ios.New(ios.Config{Store: store, Blobs: blobs, Signer: signer, ChallengeKey: key,
		PublicURL: cfg.PublicURL, OrgName: cfg.OrgName, Log: log}), nil
}
