//go:build unix

package prosodytest

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// watchdog starts a process that kills pid if this test binary ends without
// stopping the server itself: the kernel closes the pipe however the binary
// ends, so a panic or a -timeout leaves no server behind. The returned
// function, called once the server has been stopped, lets the watchdog go
// without killing anything. The watchdog has a session of its own, so that
// a Ctrl-C meant for the tests does not end it before it has done its job.
func watchdog(pid int) (release func()) {
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	// read succeeds on the line release writes, and fails on end of file.
	cmd := exec.Command("/bin/sh", "-c", `read _ || kill -KILL "$1" 2>/dev/null`, "sh", strconv.Itoa(pid))
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return func() {}
	}
	return func() {
		w.Write([]byte("\n"))
		w.Close()
		cmd.Wait()
	}
}
