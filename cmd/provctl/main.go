// Command provctl is the admin API from the command line: log on once, then
// build migration packages, import users, send provisioning messages and
// list devices. Run it with --help for its commands.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"provportal/admin/apiclient"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: provctl [--server URL] COMMAND [flags]

The provisioning portal's admin API from the command line.

  --server URL     the portal, e.g. https://portal.example.com [PROVCTL_SERVER];
                   default: the one provctl login last logged on to

Commands:
  login --username NAME [--password-stdin]
        log on as an administrator and keep the token, readable only by you,
        in provportal/provctl.json in your configuration folder
        (PROVCTL_TOKEN, when set, is used instead of a kept token)
  logout
        forget the kept token
  migration-package --platform P (--alias NAME | --host HOST --port N)
        [--legacy-path PATH]... [--legacy-service NAME] [--legacy-uninstall CMD]
        [--expires-in DURATION] [-o FILE]
        build a migration package and save it (default: the portal's file
        name in this folder; - for standard output)
  users import FILE.csv [--dry-run]
        create or update users from a CSV file; prints what happened to each
        row, and exits 1 when a row was refused
  sms send (--group NAME | --user NAME [--user NAME]...)
        queue a personalised provisioning message to each user
  devices list [--status STATUS] [--json]
        list devices, as a table or as JSON
  version
        print provctl's version

Errors are one line on standard error, with exit status 1 (2 for a bad
command line).
`

// usageError is a command line provctl cannot follow.
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{os.Getenv}, os.Stdin, os.Stdout)
	stop()
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "provctl:", oneLine(err.Error()))
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "provctl:", oneLine(err.Error()))
		os.Exit(1)
	}
}

// env reads the environment; tests give their own.
type env struct{ get func(string) string }

// cli is one invocation: where to find the portal, and where to write.
type cli struct {
	server string // --server, PROVCTL_SERVER, or the kept one
	token  string // PROVCTL_TOKEN, or the kept one
	stdin  io.Reader
	stdout io.Writer
}

func run(ctx context.Context, args []string, e env, stdin io.Reader, stdout io.Writer) error {
	c := &cli{server: e.get("PROVCTL_SERVER"), stdin: stdin, stdout: stdout}
	fs := newFlagSet("provctl")
	fs.StringVar(&c.server, "server", c.server, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return err
		}
		return usageError{fmt.Errorf("%v (see --help)", err)}
	}
	args = fs.Args()
	if len(args) == 0 {
		return usageError{errors.New("no command (see --help)")}
	}
	cmd, args := args[0], args[1:]
	if cmd == "version" {
		fmt.Fprintf(stdout, "provctl %s\n", version)
		return nil
	}
	if cmd == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	kept, err := readKept()
	if err != nil {
		return err
	}
	c.token = e.get("PROVCTL_TOKEN")
	switch cmd {
	case "login":
		return c.login(ctx, args, kept)
	case "logout":
		return c.logout(kept)
	}
	sub := ""
	if cmd == "users" || cmd == "sms" || cmd == "devices" {
		if len(args) == 0 {
			return usageError{fmt.Errorf("%s needs a subcommand (see --help)", cmd)}
		}
		sub, args = args[0], args[1:]
	}
	switch cmd + " " + sub {
	case "migration-package ":
		return c.withAPI(kept, args, c.migrationPackage(ctx))
	case "users import":
		return c.withAPI(kept, args, c.importUsers(ctx))
	case "sms send":
		return c.withAPI(kept, args, c.sendSMS(ctx))
	case "devices list":
		return c.withAPI(kept, args, c.listDevices(ctx))
	}
	return usageError{fmt.Errorf("unknown command %q (see --help)", strings.TrimSpace(cmd+" "+sub))}
}

// command is a subcommand: its flags, then what it does with the API and its arguments.
type command struct {
	flags func(fs *flag.FlagSet)
	run   func(api *apiclient.Client, args []string) error
}

// withAPI parses a command's flags (anywhere among its arguments, --server
// too) and runs it with a client of the portal, logged on.
func (c *cli) withAPI(kept keptSession, args []string, cmd command) error {
	fs := newFlagSet("provctl")
	fs.StringVar(&c.server, "server", c.server, "")
	cmd.flags(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return c.helped(err)
	}
	if c.server == "" {
		c.server = kept.Server
	}
	if c.server == "" {
		return usageError{errors.New("which portal? pass --server URL (or set PROVCTL_SERVER), or run provctl login --server URL first")}
	}
	if c.token == "" && sameServer(kept.Server, c.server) {
		c.token = kept.Token
	}
	if c.token == "" {
		return errors.New("not logged on to " + c.server + ": run provctl login --server " + c.server + " --username NAME (or set PROVCTL_TOKEN)")
	}
	return cmd.run(c.api(), rest)
}

// helped prints the usage when err asked for it.
func (c *cli) helped(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, usage)
	}
	return err
}

func (c *cli) api() *apiclient.Client {
	return &apiclient.Client{Server: strings.TrimRight(c.server, "/"), Token: c.token, UserAgent: "provctl/" + version}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{fmt.Errorf("%v (see --help)", err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// ------------------------------------------------------------------ login

// keptSession is provctl.json: the portal last logged on to and its token.
type keptSession struct {
	Server    string    `json:"server"`
	Token     string    `json:"token"`
	Username  string    `json:"username"`
	ExpiresAt time.Time `json:"expires_at"`
}

func keptPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration folder to keep the token in (%v): set PROVCTL_TOKEN instead", err)
	}
	return filepath.Join(dir, "provportal", "provctl.json"), nil
}

func readKept() (keptSession, error) {
	var k keptSession
	path, err := keptPath()
	if err != nil {
		return k, nil // nothing kept; PROVCTL_TOKEN may still do
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return k, fmt.Errorf("%s is damaged (%v): run provctl login again", path, err)
	}
	return k, nil
}

func writeKept(k keptSession) (string, error) {
	path, err := keptPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("keep the token: %w", err)
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("keep the token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("keep the token: %w", err)
	}
	return path, nil
}

func sameServer(a, b string) bool {
	return a != "" && strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

func (c *cli) login(ctx context.Context, args []string, kept keptSession) error {
	fs := newFlagSet("login")
	fs.StringVar(&c.server, "server", c.server, "")
	username := fs.String("username", "", "")
	passwordStdin := fs.Bool("password-stdin", false, "")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return c.helped(err)
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (see --help)", rest[0])}
	}
	if c.server == "" {
		c.server = kept.Server
	}
	if c.server == "" {
		return usageError{errors.New("which portal? pass --server URL (or set PROVCTL_SERVER)")}
	}
	if *username == "" {
		return usageError{errors.New("login needs --username")}
	}
	password, err := c.readPassword(*passwordStdin, *username)
	if err != nil {
		return err
	}
	c.token = ""
	s, err := c.api().Login(ctx, *username, password)
	if err != nil {
		return err
	}
	path, err := writeKept(keptSession{Server: strings.TrimRight(c.server, "/"), Token: s.Token, Username: *username, ExpiresAt: s.ExpiresAt})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Logged on to %s as %s until %s; the token is kept in %s.\n",
		c.server, *username, s.ExpiresAt.Local().Format(time.DateTime), path)
	return nil
}

// readPassword reads the first line of standard input, or asks on a terminal.
func (c *cli) readPassword(fromStdin bool, username string) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read standard input: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", errors.New("standard input gave no password")
		}
		return line, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{errors.New("no password: pass --password-stdin and write it on standard input")}
	}
	fmt.Fprintf(c.stdout, "Password for %s: ", username)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(c.stdout)
	if err != nil || len(b) == 0 {
		return "", errors.New("no password typed")
	}
	return string(b), nil
}

func (c *cli) logout(kept keptSession) error {
	path, err := keptPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forget the token: %w", err)
	}
	if kept.Server != "" {
		fmt.Fprintf(c.stdout, "Forgot the token for %s.\n", kept.Server)
	}
	return nil
}

// ------------------------------------------------------------ commands

// repeated is a flag that may be given more than once.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func (c *cli) migrationPackage(ctx context.Context) command {
	var (
		req    apiclient.MigrationPackageRequest
		legacy apiclient.LegacyClient
		paths  repeated
		output string
		port   int
	)
	return command{
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&req.Platform, "platform", "", "")
			fs.StringVar(&req.Alias, "alias", "", "")
			fs.StringVar(&req.Host, "host", "", "")
			fs.IntVar(&port, "port", 0, "")
			fs.Var(&paths, "legacy-path", "")
			fs.StringVar(&legacy.Service, "legacy-service", "", "")
			fs.StringVar(&legacy.Uninstall, "legacy-uninstall", "", "")
			fs.StringVar(&req.ExpiresIn, "expires-in", "", "")
			fs.StringVar(&output, "o", "", "")
			fs.StringVar(&output, "output", "", "")
		},
		run: func(api *apiclient.Client, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q (see --help)", args[0])}
			}
			if req.Platform == "" {
				return usageError{errors.New("migration-package needs --platform")}
			}
			req.Port = port
			legacy.Paths = paths
			if len(legacy.Paths) > 0 || legacy.Service != "" || legacy.Uninstall != "" {
				req.Legacy = &legacy
			}
			return c.savePackage(ctx, api, req, output)
		},
	}
}

// savePackage writes the package to output (a file, or - for standard
// output) only once it has arrived whole.
func (c *cli) savePackage(ctx context.Context, api *apiclient.Client, req apiclient.MigrationPackageRequest, output string) error {
	if output == "-" {
		_, err := api.MigrationPackage(ctx, req, c.stdout)
		return err
	}
	dir := "."
	if output != "" {
		dir = filepath.Dir(output)
	}
	tmp, err := os.CreateTemp(dir, ".provctl-package-*")
	if err != nil {
		return fmt.Errorf("save the package: %w", err)
	}
	defer os.Remove(tmp.Name())
	f, err := api.MigrationPackage(ctx, req, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("save the package: %w", cerr)
	}
	if err != nil {
		return err
	}
	if output == "" {
		output = filepath.Base(f.Filename)
		if output == "." || output == "/" || output == "" {
			output = "migration-" + req.Platform
		}
	}
	// It carries an enrolment secret: readable only by its owner until handed to the channel.
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("save the package: %w", err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("save the package: %w", err)
	}
	fmt.Fprintf(c.stdout, "Wrote %s (%d bytes): migration package %s for %s.\n", output, f.Size, f.ID, req.Platform)
	return nil
}

func (c *cli) importUsers(ctx context.Context) command {
	var dryRun bool
	return command{
		flags: func(fs *flag.FlagSet) { fs.BoolVar(&dryRun, "dry-run", false, "") },
		run: func(api *apiclient.Client, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("users import needs one CSV file (see --help)")}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			r, err := api.ImportUsers(ctx, f, dryRun)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ROW\tUSERNAME\tRESULT\tREASON")
			for _, row := range r.Rows {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", row.Row, row.Username, row.Result, row.Message)
			}
			w.Flush()
			what := "Imported"
			if dryRun {
				what = "Dry run, nothing changed"
			}
			fmt.Fprintf(c.stdout, "%s: %d created, %d updated, %d refused.\n", what, r.Created, r.Updated, r.Refused)
			if r.Refused > 0 {
				return fmt.Errorf("%d of %d rows refused", r.Refused, len(r.Rows))
			}
			return nil
		},
	}
}

func (c *cli) sendSMS(ctx context.Context) command {
	var (
		group string
		users repeated
	)
	return command{
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&group, "group", "", "")
			fs.Var(&users, "user", "")
		},
		run: func(api *apiclient.Client, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q (see --help)", args[0])}
			}
			if (group == "") == (len(users) == 0) {
				return usageError{errors.New("sms send needs --group NAME or --user NAME (one or more), not both")}
			}
			var req apiclient.SendRequest
			names := map[string]string{}
			if group != "" {
				g, err := api.Group(ctx, group)
				if err != nil {
					return err
				}
				req.GroupID = g.ID
			}
			for _, name := range users {
				u, err := api.User(ctx, name)
				if err != nil {
					return err
				}
				req.UserIDs = append(req.UserIDs, u.ID)
				names[u.ID] = u.Username
			}
			res, err := api.SendSMS(ctx, req)
			if err != nil {
				return err
			}
			if group != "" && (len(res.Queued) > 0 || len(res.Skipped) > 0) {
				all, err := api.Users(ctx, "")
				if err != nil {
					return err
				}
				for _, u := range all {
					names[u.ID] = u.Username
				}
			}
			for _, q := range res.Queued {
				fmt.Fprintf(c.stdout, "queued   %s  %s\n", names[q.UserID], q.To)
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(c.stdout, "skipped  %s  %s\n", names[s.UserID], s.Reason)
			}
			fmt.Fprintf(c.stdout, "%d message(s) queued, %d user(s) skipped.\n", len(res.Queued), len(res.Skipped))
			return nil
		},
	}
}

func (c *cli) listDevices(ctx context.Context) command {
	var (
		status string
		asJSON bool
	)
	return command{
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&status, "status", "", "")
			fs.BoolVar(&asJSON, "json", false, "")
		},
		run: func(api *apiclient.Client, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q (see --help)", args[0])}
			}
			devices, err := api.Devices(ctx, status)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(devices)
			}
			users, err := api.Users(ctx, "")
			if err != nil {
				return err
			}
			names := map[string]string{}
			for _, u := range users {
				names[u.ID] = u.Username
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSER\tNAME\tPLATFORM\tSTATUS\tPROGRESS\tLAST SEEN")
			for _, d := range devices {
				seen := "never"
				if d.LastSeenAt != nil {
					seen = d.LastSeenAt.Local().Format(time.DateTime)
				}
				st := d.Status
				if d.Error != nil {
					st += " (" + d.Error.Code + ")"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\n", d.ID, names[d.UserID], d.Name, d.Platform, st, d.Progress, seen)
			}
			return w.Flush()
		},
	}
}

// oneLine keeps an error to one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
