//go:build unix

package testdb

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// startCluster creates and starts a throwaway PostgreSQL cluster in a new
// temporary directory, and returns the URL of its postgres database and a
// function that stops it and removes the directory.
func startCluster() (u url.URL, stop func(), err error) {
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return u, nil, errors.New("initdb not found on PATH")
	}
	// pg_ctl must come from the same installation as initdb.
	pgCtl := filepath.Join(filepath.Dir(initdb), "pg_ctl")

	dir, err := os.MkdirTemp("", "testdb-")
	if err != nil {
		return u, nil, err
	}
	data := filepath.Join(dir, "data")
	logFile := filepath.Join(dir, "server.log")

	attr := &syscall.SysProcAttr{}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root, so root runs it as the postgres
		// user, who then needs to own the directory.
		uid, gid, err := postgresUser()
		if err == nil {
			err = os.Chown(dir, uid, gid)
		}
		if err != nil {
			os.RemoveAll(dir)
			return u, nil, fmt.Errorf("running as root, which PostgreSQL refuses: %w", err)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = attr
		cmd.Dir = dir // the test's working directory may be closed to the postgres user
		return cmd
	}

	stop, err = watchdog(command, pgCtl, data, dir)
	if err != nil {
		os.RemoveAll(dir)
		return u, nil, err
	}
	fail := func(format string, args ...any) (url.URL, func(), error) {
		stop()
		return url.URL{}, nil, fmt.Errorf(format, args...)
	}

	// --no-locale: the environment's locale may not exist on every machine,
	// and C makes sorting the same everywhere.
	out, err := command(initdb, "-D", data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput()
	if err != nil {
		return fail("initdb: %v\n%s", err, tail(out))
	}

	// Settings go in the config file rather than on the command line, where
	// pg_ctl would pass the directory through a shell unquoted. Durability is
	// pointless for a cluster deleted at the end, and turning it off makes
	// CREATE DATABASE and commits much faster.
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
`, strings.ReplaceAll(dir, "'", "''"))
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return fail("configuring: %v", err)
	}

	// The free port is only free until it is closed, so another process may
	// take it before the server binds it; a few attempts make that harmless.
	var port int
	for attempt := 1; ; attempt++ {
		if port, err = freePort(); err != nil {
			return fail("finding a free port: %v", err)
		}
		err = command(pgCtl, "-D", data, "-l", logFile, "-o", "-p "+strconv.Itoa(port),
			"-w", "-t", "60", "start").Run()
		if err == nil {
			break
		}
		if attempt == 3 {
			log, _ := os.ReadFile(logFile)
			return fail("pg_ctl start: %v; server log:\n%s", err, tail(log))
		}
	}

	return url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}, stop, nil
}

// watchdog starts a process that, once this test binary closes its stdin,
// stops the cluster and removes dir, and returns the function that does the
// closing and waits. The kernel closes the pipe however the binary ends, so
// a panic, a -timeout, or a missing Main still leaves no server behind. It
// runs in a session of its own so that a Ctrl-C meant for the tests does not
// kill it before it has cleaned up.
func watchdog(command func(string, ...string) *exec.Cmd, pgCtl, data, dir string) (func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := command("/bin/sh", "-c", `read _; "$1" -D "$2" -m immediate stop >/dev/null 2>&1; rm -rf "$3"`,
		"sh", pgCtl, data, dir)
	attr := *cmd.SysProcAttr
	attr.Setsid = true
	cmd.SysProcAttr = &attr
	cmd.Stdin = r
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("starting cleanup process: %w", err)
	}
	// w stays open, and so the server up, as long as the returned function,
	// held by the package's server variable, is reachable.
	return func() {
		w.Close()
		cmd.Wait()
		os.RemoveAll(dir) // in case the postgres user could not remove dir itself
	}, nil
}

// postgresUser returns the ids of the postgres OS user.
func postgresUser() (uid, gid int, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func appendFile(name, s string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tail returns the last lines of a log, where the reason for a failure is.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
