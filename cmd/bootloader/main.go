// Command bootloader is the device client: it logs on to the provisioning
// portal, installs the apps and IT policy the portal hands this user, and
// reports back. Run it with --help for its flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"provportal/bootloader"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: bootloader [flags]

Installs the apps and IT policy your organisation's provisioning portal has
for you. A bootloader downloaded from the portal knows its portal already:
it needs only your logon, which it asks for on a terminal.

Where the portal is (a flag wins over the environment, which wins over
provisioning.json beside this bootloader and, on Windows, the registry values
Alias, Relay, Host and Port under HKCU\Software\Provportal\Provisioning,
which win over the configuration stamped in a downloaded bootloader):
  --server URL           the portal: https://host[:port][/path], or host:port
                         (http for port 80 and localhost, https otherwise)
                         [BOOTLOADER_SERVER]
  --alias NAME           the portal's alias on a switching relay, such as
                         it@example.com, instead of --server
  --relay URL            the relay the alias is on (http(s)://host[:port]);
                         TLS runs to the portal itself inside the relay
  --fingerprint FP       the portal's key to trust (sha256:<64 hex>); without
                         one, the key is fetched and trusted on first use, and
                         remembered [BOOTLOADER_FINGERPRINT]
  --invitation TOKEN     the token of a provisioning link

Logon:
  --username NAME        your directory username
  --password-stdin       read the password from the first line of standard input
  --email ADDRESS        enterprise activation: your e-mail address, with the
                         one-time activation password your administrator gave you
  --activation-password-stdin
                         read the activation password from standard input

Install:
  --install-dir DIR      where apps, policy and state go [BOOTLOADER_INSTALL_DIR]
                         default: the installed client's own folder, else
                         "provportal" in your configuration folder
                         (~/.config on Linux, ~/Library/Application Support
                         on macOS, %AppData% on Windows)
  --non-interactive      never ask; missing input is an error naming its flag
  --version              print the version and exit

Set by the Android app's launcher:
  BOOTLOADER_PACKAGE     the app's APK, whose stamped configuration is read
  BOOTLOADER_DNS         the network's DNS servers, comma-separated

Collaboration (instant messaging through the portal, once installed):
  bootloader chat --password-stdin [--to ADDRESS --message TEXT]
                         see bootloader chat --help

Exit status 0 only when everything is installed and the portal was told;
otherwise 1 (2 for a bad command line), with one line on standard error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "bootloader:", oneLine(err.Error()))
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bootloader:", oneLine(err.Error()))
		os.Exit(1)
	}
}

// usageError is a command line this bootloader cannot follow.
type usageError struct{ error }

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "chat" {
		return runChat(ctx, args[1:], stdin, stdout, os.Stderr)
	}
	o := bootloader.Options{
		Server:      os.Getenv("BOOTLOADER_SERVER"),
		Fingerprint: os.Getenv("BOOTLOADER_FINGERPRINT"),
		InstallDir:  os.Getenv("BOOTLOADER_INSTALL_DIR"),
		Package:     os.Getenv("BOOTLOADER_PACKAGE"),
		Stdin:       stdin,
		Stdout:      stdout,
	}
	if err := useNameServers(os.Getenv("BOOTLOADER_DNS")); err != nil {
		return usageError{err}
	}
	fs := flag.NewFlagSet("bootloader", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed on one line by main
	fs.Usage = func() {}
	fs.StringVar(&o.Server, "server", o.Server, "")
	fs.StringVar(&o.Alias, "alias", "", "")
	fs.StringVar(&o.Relay, "relay", "", "")
	fs.StringVar(&o.Fingerprint, "fingerprint", o.Fingerprint, "")
	fs.StringVar(&o.Invitation, "invitation", "", "")
	fs.StringVar(&o.Username, "username", "", "")
	passwordStdin := fs.Bool("password-stdin", false, "")
	fs.StringVar(&o.Email, "email", "", "")
	activationStdin := fs.Bool("activation-password-stdin", false, "")
	fs.StringVar(&o.InstallDir, "install-dir", o.InstallDir, "")
	fs.BoolVar(&o.NonInteractive, "non-interactive", false, "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return err
		}
		return usageError{fmt.Errorf("%v (see --help)", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))}
	}
	if *showVersion {
		fmt.Fprintf(stdout, "bootloader %s %s\n", version, bootloader.Platform())
		return nil
	}
	if *passwordStdin && *activationStdin {
		return usageError{errors.New("--password-stdin and --activation-password-stdin both read standard input: give one")}
	}
	if *activationStdin && o.Email == "" {
		return usageError{errors.New("--activation-password-stdin needs --email")}
	}
	if *activationStdin {
		pw, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("--activation-password-stdin: %w", err)
		}
		o.ActivationPassword = pw
	}
	if *passwordStdin {
		pw, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("--password-stdin: %w", err)
		}
		o.Password = pw
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this bootloader's own file: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	o.Executable = exe
	return bootloader.Run(ctx, o)
}

// readLine reads the first line of r, without its line ending.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("standard input gave no password")
	}
	return line, nil
}

// oneLine keeps a failure to the one line the contract promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
