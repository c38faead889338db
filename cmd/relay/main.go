// Command relay is the shared switching relay: portals connect out to it
// and hold an alias; bootloaders ask for the alias and get a pipe to that
// portal, with TLS running end to end inside it. serve, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"provportal/portal/relay"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: relay <command> [flags]

commands:
  serve     start the relay (see: relay serve -h)
  version   print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd := os.Args[1]; cmd {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "version", "--version":
		fmt.Println("relay", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "relay: unknown command %q\n%s", strings.Join(os.Args[1:], " "), usage)
		os.Exit(2)
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &ue):
		os.Exit(2) // the flag package has printed the problem and the usage
	case err != nil:
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

// flags binds serve's configuration. Defaults come from the environment,
// so a flag given on the command line wins over it.
func flags(cfg *relay.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("relay serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", env("RELAY_ADDR", cfg.Addr), "address to listen on, for portals and bootloaders alike (RELAY_ADDR)")
	fs.StringVar(&cfg.DataDir, "data-dir", env("RELAY_DATA_DIR", cfg.DataDir), "data directory: bindings.json, and the optional aliases.json (RELAY_DATA_DIR)")
	fs.IntVar(&cfg.MaxPerAddress, "max-conns-per-address", envInt("RELAY_MAX_CONNS_PER_ADDRESS", cfg.MaxPerAddress), "device connections open at once from one address; 0: 64 (RELAY_MAX_CONNS_PER_ADDRESS)")
	fs.IntVar(&cfg.MaxPerAlias, "max-conns-per-alias", envInt("RELAY_MAX_CONNS_PER_ALIAS", cfg.MaxPerAlias), "device connections open at once to one alias; 0: 4096 (RELAY_MAX_CONNS_PER_ALIAS)")
	return fs
}

// usageError is a command line the relay cannot follow.
type usageError struct{ error }

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func newLogger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if os.Getenv("RELAY_LOG_FORMAT") == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func serve(ctx context.Context, args []string) error {
	cfg := relay.Defaults()
	if err := flags(&cfg).Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	log := newLogger()
	r, err := relay.New(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("relay started", "version", version, "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	return r.Serve(ctx, ln)
}
