package bootloader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// shellCommand runs a command line with cmd.exe, which parses it itself.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "cmd.exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd.exe /d /s /c "` + command + `"`}
	return cmd
}

// systemDirs are Windows's own folders and the per-user base folders,
// never deleted whole.
func systemDirs() []string {
	var dirs []string
	for _, v := range []string{"SystemRoot", "windir", "ProgramFiles", "ProgramFiles(x86)", "ProgramW6432",
		"ProgramData", "CommonProgramFiles", "CommonProgramFiles(x86)", "PUBLIC", "APPDATA", "LOCALAPPDATA", "USERPROFILE"} {
		if d := os.Getenv(v); d != "" {
			dirs = append(dirs, d)
		}
	}
	if sd := os.Getenv("SystemDrive"); sd != "" {
		dirs = append(dirs, filepath.Join(sd+`\`, "Users"))
	}
	return dirs
}

// stopService stops a Windows service and waits for it; a service that
// does not exist, or is not running, is not there to stop.
func stopService(ctx context.Context, name string, out io.Writer) error {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return fmt.Errorf("open the service manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	s, err := windows.OpenService(m, n, windows.SERVICE_STOP|windows.SERVICE_QUERY_STATUS)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		fmt.Fprintf(out, "Legacy client: service %s is not installed.\n", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer windows.CloseServiceHandle(s)
	var st windows.SERVICE_STATUS
	if err := windows.ControlService(s, windows.SERVICE_CONTROL_STOP, &st); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stop service %s: %w", name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for st.CurrentState != windows.SERVICE_STOPPED {
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s did not stop within a minute", name)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		if err := windows.QueryServiceStatus(s, &st); err != nil {
			return fmt.Errorf("query service %s: %w", name, err)
		}
	}
	fmt.Fprintf(out, "Legacy client: service %s stopped.\n", name)
	return nil
}
