package bootloader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"provportal/packages"
)

// maxSettingsFile bounds what is read of a settings file.
const maxSettingsFile = 64 << 10

// withSettings lays the settings file beside the bootloader
// (packages.SettingsFile), then on Windows the registry values under
// HKCU\Software\Provportal\Provisioning, over the stamped configuration, so
// a migration package's routing can change after it was built. Flags and
// the environment still win: they arrive in Options, which resolve reads
// before the stamp.
func withSettings(stamp packages.BootConfig, exe string) (packages.BootConfig, error) {
	path := filepath.Join(filepath.Dir(exe), packages.SettingsFile)
	s, err := readSettingsFile(path)
	if err != nil {
		return stamp, err
	}
	if stamp, err = overlaySettings(stamp, s); err != nil {
		return stamp, fmt.Errorf("the settings file %s: %w", path, err)
	}
	s, err = registrySettings()
	if err != nil {
		return stamp, err
	}
	if stamp, err = overlaySettings(stamp, s); err != nil {
		return stamp, fmt.Errorf("the registry values under %s: %w", registryKey, err)
	}
	return stamp, nil
}

// readSettingsFile reads a settings file; a missing one is no settings.
func readSettingsFile(path string) (packages.Settings, error) {
	var s packages.Settings
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read the settings file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSettingsFile+1))
	if err != nil {
		return s, fmt.Errorf("read the settings file %s: %w", path, err)
	}
	if len(b) > maxSettingsFile {
		return s, fmt.Errorf("the settings file %s is larger than %d bytes", path, maxSettingsFile)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("the settings file %s is not what this bootloader understands (%v): it takes server, host, port, alias and relay", path, err)
	}
	return s, nil
}

// overlaySettings lays s over cfg. Direct settings (server, host, port)
// replace an alias; an alias replaces an address; host and port change only
// the host and port of the address beneath them.
func overlaySettings(cfg packages.BootConfig, s packages.Settings) (packages.BootConfig, error) {
	s.Server, s.Host, s.Alias, s.Relay = strings.TrimSpace(s.Server), strings.TrimSpace(s.Host), strings.TrimSpace(s.Alias), strings.TrimSpace(s.Relay)
	if err := s.Check(); err != nil {
		return cfg, err
	}
	switch {
	case s.Direct():
		base := cfg.PortalURL
		if s.Server != "" {
			base = s.Server
		}
		u, err := withHostPort(base, s.Host, s.Port)
		if err != nil {
			return cfg, err
		}
		cfg.PortalURL, cfg.Alias, cfg.Relay = u, "", ""
	case s.Alias != "":
		cfg.PortalURL, cfg.Alias = "", s.Alias
	}
	if s.Relay != "" {
		cfg.Relay = s.Relay
	}
	return cfg, nil
}

// withHostPort is base with its host and port replaced by those given; with
// no base, host[:port] read as --server reads it.
func withHostPort(base, host string, port int) (string, error) {
	if strings.ContainsAny(host, "/@?# ") {
		return "", fmt.Errorf("host %q is not a host name or IP address", host)
	}
	host = strings.Trim(host, "[]")
	if base == "" {
		if host == "" {
			return "", errors.New("port is set, but no host and no portal address to apply it to")
		}
		addr := host
		if port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(port))
		} else if strings.Contains(host, ":") {
			addr = "[" + host + "]"
		}
		u, err := ParsePortalAddress(addr)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	u, err := ParsePortalAddress(base)
	if err != nil {
		return "", err
	}
	h, p := u.Hostname(), u.Port()
	if host != "" {
		h = host
	}
	if port != 0 {
		p = strconv.Itoa(port)
	}
	switch {
	case p != "":
		u.Host = net.JoinHostPort(h, p)
	case strings.Contains(h, ":"):
		u.Host = "[" + h + "]"
	default:
		u.Host = h
	}
	return u.String(), nil
}
