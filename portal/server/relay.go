package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"provportal/packages"
	"provportal/portal/relay"
)

// validateRelay checks --relay and --alias: both or neither.
func (c Config) validateRelay() error {
	switch {
	case c.RelayURL == "" && c.Alias == "":
		return nil
	case c.RelayURL == "":
		return errors.New("--alias needs the relay to hold it on: --relay URL (PORTAL_RELAY_URL)")
	case c.Alias == "":
		return errors.New("--relay needs the alias devices will ask it for: --alias NAME (PORTAL_ALIAS)")
	}
	if _, err := relay.ParseRelayURL(c.RelayURL); err != nil {
		return err
	}
	_, err := packages.CheckAlias(c.Alias)
	return err
}

// relayAlias is the alias as the relay and bootloaders spell it; empty
// without a relay.
func (c Config) relayAlias() string {
	a, _ := packages.CheckAlias(c.Alias)
	return a
}

// relayConnected reports the uplink's state to the console; nil without a relay.
func relayConnected(u *relay.Uplink) func() bool {
	if u == nil {
		return nil
	}
	return u.Connected
}

// newUplink prepares the portal's connection to its relay, when it has one,
// and the listener relayed devices arrive on.
func newUplink(cfg Config, key ed25519.PrivateKey, log *slog.Logger, reg prometheus.Registerer) (*relay.Uplink, net.Listener, error) {
	if cfg.RelayURL == "" {
		return nil, nil, nil
	}
	up, err := relay.NewUplink(relay.UplinkConfig{RelayURL: cfg.RelayURL, Alias: cfg.Alias, Key: key, Log: log})
	if err != nil {
		return nil, nil, err
	}
	ln, err := up.Listener()
	if err != nil {
		return nil, nil, err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portal_relay_connected", Help: "1 while the relay holds this portal's alias, 0 otherwise.",
	}, func() float64 {
		if up.Connected() {
			return 1
		}
		return 0
	}))
	return up, ln, nil
}

// serveRelay answers devices that come through the relay with the same
// HTTP server, and holds the alias until the returned stop is called. The
// caller stops it after the server has shut down, so relayed requests in
// flight finish like any others.
func (s *Server) serveRelay(ctx context.Context, hs *http.Server) (stop func()) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { s.uplink.Run(rctx) })
	wg.Go(func() {
		if err := hs.Serve(s.relayLn); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("serving relayed devices stopped", "err", err)
		}
	})
	return func() {
		cancel()
		s.relayLn.Close()
		wg.Wait()
	}
}
