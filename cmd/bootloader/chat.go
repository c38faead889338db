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
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"provportal/bootloader"
	"provportal/packages"
)

const chatUsage = `usage: bootloader chat [flags]

Logs on to your organisation's instant-messaging server through the portal,
as the user this device was installed for, and stays logged on: received
messages and presence are printed as JSON lines, one frame each, such as
  {"type":"message","from":"bob@example.com/phone","body":"hello"}
A status heartbeat tells the portal the device is in coverage. After a cut
the session is resumed within the portal's grace window, without a new logon
at the messaging server. Ctrl-C (or SIGTERM) logs off.

The portal and the device token come from device.json in the install dir,
written when the bootloader installed this device. On a device installed by
enterprise activation the password is sealed with a key from the activation
before it leaves the device, so only the portal can read it.

Flags:
  --password-stdin       read the messaging password from the first line of
                         standard input; each later line is a frame to send,
                         as JSON: {"to":"bob","body":"hi"} is a message,
                         {"type":"presence","show":"away","status":"..."}
                         a presence
  --to ADDRESS           send --message to this address (bob, or
  --message TEXT           bob@example.com) once logged on
  --resource NAME        the messaging resource (default: one per device)
  --status-interval D    how often to send a status (default: as the portal says)
  --for D                log off after this long (default: stay logged on)
  --install-dir DIR      where device.json is [BOOTLOADER_INSTALL_DIR]

Exit status 0 after a logoff; 1 when the portal refuses the logon or ends
the session (the reason on standard error); 2 for a bad command line.
`

// runChat is `bootloader chat`.
func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := bootloader.ChatOptions{InstallDir: os.Getenv("BOOTLOADER_INSTALL_DIR")}
	fs := flag.NewFlagSet("bootloader chat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	passwordStdin := fs.Bool("password-stdin", false, "")
	to := fs.String("to", "", "")
	message := fs.String("message", "", "")
	fs.StringVar(&o.Resource, "resource", "", "")
	fs.DurationVar(&o.StatusInterval, "status-interval", 0, "")
	stay := fs.Duration("for", 0, "")
	fs.StringVar(&o.InstallDir, "install-dir", o.InstallDir, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, chatUsage)
			return err
		}
		return usageError{fmt.Errorf("chat: %v (see bootloader chat --help)", err)}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("chat: unexpected argument %q (see bootloader chat --help)", fs.Arg(0))}
	case (*to == "") != (*message == ""):
		return usageError{errors.New("chat: --to and --message go together")}
	case o.StatusInterval < 0 || *stay < 0:
		return usageError{errors.New("chat: durations must not be negative")}
	}
	in := bufio.NewReader(io.LimitReader(stdin, 64<<20))
	var err error
	if o.Password, err = chatPassword(in, stdin, *passwordStdin, stderr); err != nil {
		return err
	}
	if exe, err := os.Executable(); err == nil {
		o.Executable = exe
	}
	out := &jsonLines{w: stdout}
	o.Notify = func(s string) { fmt.Fprintln(stderr, "bootloader chat:", s) }

	chat, err := bootloader.OpenChat(ctx, o)
	var refused *bootloader.ChatRefused
	if errors.As(err, &refused) {
		out.write(packages.ChatFrame{Type: packages.ChatRefused, Code: refused.Code, Message: refused.Message})
	}
	if err != nil {
		return err
	}
	if *to != "" {
		if err := chat.Send(ctx, *to, *message); err != nil {
			chat.Logoff(context.Background())
			return fmt.Errorf("chat: send: %w", err)
		}
	}
	if *passwordStdin {
		go sendLines(ctx, chat, in, stderr)
	}
	var timeout <-chan time.Time
	if *stay > 0 {
		timeout = time.After(*stay)
	}
relay:
	for {
		select {
		case f, ok := <-chat.Frames():
			if !ok {
				return chat.Err()
			}
			out.write(f)
		case <-ctx.Done():
			break relay
		case <-timeout:
			break relay
		}
	}
	chat.Logoff(context.Background())
	for f := range chat.Frames() {
		out.write(f)
	}
	return nil
}

// chatPassword reads the messaging password from standard input, or asks
// for it on a terminal.
func chatPassword(in *bufio.Reader, stdin io.Reader, fromStdin bool, stderr io.Writer) (string, error) {
	if fromStdin {
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--password-stdin: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", errors.New("--password-stdin: standard input gave no password")
		}
		return line, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{errors.New("chat: no messaging password: pass --password-stdin and write it on standard input")}
	}
	fmt.Fprint(stderr, "Messaging password: ")
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil || len(pw) == 0 {
		return "", errors.New("chat: no messaging password given")
	}
	return string(pw), nil
}

// sendLines sends each line of standard input as a frame.
func sendLines(ctx context.Context, chat *bootloader.Chat, in *bufio.Reader, stderr io.Writer) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var f packages.ChatFrame
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			fmt.Fprintf(stderr, "bootloader chat: not a JSON frame, not sent: %v\n", err)
			continue
		}
		if f.Type == "" {
			f.Type = packages.ChatMessage
		}
		if f.Type != packages.ChatMessage && f.Type != packages.ChatPresence && f.Type != packages.ChatStatus {
			fmt.Fprintf(stderr, "bootloader chat: a %q frame cannot be sent\n", f.Type)
			continue
		}
		if err := chat.SendFrame(ctx, f); err != nil {
			fmt.Fprintf(stderr, "bootloader chat: not sent: %v\n", err)
		}
	}
}

// jsonLines prints frames, one JSON object a line.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *jsonLines) write(f packages.ChatFrame) {
	f.ResumeToken = "" // the portal's secret for this device, not for whoever reads the output
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.w.Write(append(b, '\n'))
}
