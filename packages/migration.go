package packages

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// SettingsFile is the settings file a migration package puts beside its
// bootloader. Editing it changes where the bootloader goes without
// rebuilding the package: it ranks above the stamped configuration and
// below the environment and flags.
const SettingsFile = "provisioning.json"

// Settings is the routing a settings file (or, on Windows, the registry)
// gives a bootloader. Server, or Host and Port, reach the portal directly;
// Alias (with Relay) reaches it through a relay; a source that sets both
// kinds is refused. Host and Port change the host and port of the address
// beneath them (Server, else the stamped address), keeping its scheme.
type Settings struct {
	Server string `json:"server,omitempty"`
	Host   string `json:"host,omitempty"`
	Port   int    `json:"port,omitempty"`
	Alias  string `json:"alias,omitempty"`
	Relay  string `json:"relay,omitempty"`
}

// Direct says whether the settings name the portal's address.
func (s Settings) Direct() bool { return s.Server != "" || s.Host != "" || s.Port != 0 }

// Check refuses settings that contradict themselves.
func (s Settings) Check() error {
	switch {
	case s.Direct() && s.Alias != "":
		return errors.New("alias and host (or server) are both set: set one")
	case s.Direct() && s.Relay != "":
		return errors.New("relay goes with alias, not with host (or server)")
	case s.Port < 0 || s.Port > 65535:
		return fmt.Errorf("port %d is not from 1 to 65535", s.Port)
	}
	return nil
}

// LegacyClient is the device-management client a migration package
// replaces: its install paths, its service, and the command that
// uninstalls it. Any part may be empty.
type LegacyClient struct {
	Paths     []string `json:"paths,omitempty"`
	Service   string   `json:"service,omitempty"`
	Uninstall string   `json:"uninstall,omitempty"`
}

// Empty says whether there is nothing to remove.
func (l *LegacyClient) Empty() bool {
	return l == nil || (len(l.Paths) == 0 && l.Service == "" && l.Uninstall == "")
}

// Limits of a legacy client's description.
const (
	MaxLegacyPaths     = 64
	maxLegacyPath      = 1024
	maxLegacyUninstall = 4096
)

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,254}$`)

// LegacyError names the part of a legacy client's description at fault.
type LegacyError struct {
	Field string // "paths", "service" or "uninstall"
	Msg   string
}

func (e *LegacyError) Error() string { return "legacy." + e.Field + ": " + e.Msg }

// Check refuses a description the bootloader of goos ("linux", "windows",
// "darwin") could not follow safely: relative paths, paths with .., a
// filesystem's root, a service name with spaces or shell characters, an
// uninstall command spanning lines. The device checks more (its home and
// install dirs) before it removes anything.
func (l *LegacyClient) Check(goos string) error {
	if l == nil {
		return nil
	}
	if len(l.Paths) > MaxLegacyPaths {
		return &LegacyError{"paths", fmt.Sprintf("lists more than %d paths", MaxLegacyPaths)}
	}
	for _, p := range l.Paths {
		if err := checkLegacyPath(p, goos); err != nil {
			return &LegacyError{"paths", fmt.Sprintf("%q %v", p, err)}
		}
	}
	if l.Service != "" && !serviceNameRE.MatchString(l.Service) {
		return &LegacyError{"service", fmt.Sprintf("%q is not a service name (letters, digits and _ . @ : + -)", l.Service)}
	}
	switch {
	case len(l.Uninstall) > maxLegacyUninstall:
		return &LegacyError{"uninstall", fmt.Sprintf("is longer than %d characters", maxLegacyUninstall)}
	case strings.ContainsFunc(l.Uninstall, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &LegacyError{"uninstall", "must be one line without control characters"}
	}
	return nil
}

var windowsDriveRE = regexp.MustCompile(`^[A-Za-z]:[\\/]`)

func checkLegacyPath(p, goos string) error {
	switch {
	case p == "" || len(p) > maxLegacyPath:
		return errors.New("is empty or too long")
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("holds a control character")
	}
	if goos == "windows" {
		if !windowsDriveRE.MatchString(p) {
			return errors.New(`is not an absolute path with a drive letter (C:\...)`)
		}
		rest := strings.Split(strings.ReplaceAll(p[3:], `\`, "/"), "/")
		if cleanParts(rest) == 0 {
			return errors.New("is the root of a drive")
		}
		for _, part := range rest {
			if part == ".." || part == "." {
				return errors.New("holds a . or .. part")
			}
		}
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return errors.New("is not an absolute path")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." {
			return errors.New("holds a . or .. part")
		}
	}
	if path.Clean(p) == "/" {
		return errors.New("is the root of the filesystem")
	}
	return nil
}

func cleanParts(parts []string) int {
	n := 0
	for _, p := range parts {
		if p != "" {
			n++
		}
	}
	return n
}
