package bootloader

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"provportal/packages"
)

// Files and folders in the install dir.
const (
	deviceFile   = "device.json" // identity: written after logon
	stateFile    = "state.json"  // what this bootloader installed
	policyFile   = "policy.json" // the manifest's IT policy
	appsDir      = "apps"        // apps/<name>/
	binDir       = "bin"         // bin/bootloader[.exe]: the installed client
	downloadsDir = ".downloads"  // <sha256>.part while downloading, <sha256> when verified
	stagingGlob  = ".staging-"   // .staging-*: an install being prepared
	asideGlob    = ".old-"       // .old-*: what an install replaced, removed after it
)

// identity is device.json: who this device is to which portal, and the
// portal key it trusts.
type identity struct {
	DeviceID  string `json:"device_id,omitempty"`
	PortalURL string `json:"portal_url,omitempty"`
	// Alias and Relay instead of PortalURL: a portal reached through a relay.
	Alias       string `json:"alias,omitempty"`
	Relay       string `json:"relay,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// DeviceToken is the token the portal gave at the last logon or
	// activation; installed apps use it, through `bootloader chat`, for the
	// collaboration service.
	DeviceToken string `json:"device_token,omitempty"`
	// CollaborationKey, on an enterprise-activated device, is the key from
	// its activation with which `bootloader chat` seals the messaging
	// password for the portal. A directory logon leaves none.
	CollaborationKey []byte `json:"collaboration_key,omitempty"`
}

// origin names the portal as config.origin does.
func (id identity) origin() string {
	if id.Alias != "" {
		return "alias:" + id.Alias
	}
	return id.PortalURL
}

func readIdentity(dir string) (identity, error) {
	var id identity
	err := readJSON(filepath.Join(dir, deviceFile), &id)
	if errors.Is(err, fs.ErrNotExist) {
		return identity{}, nil
	}
	return id, err
}

func writeIdentity(dir string, id identity) error {
	return writeJSON(filepath.Join(dir, deviceFile), id, 0o600)
}

// State is state.json: the apps this bootloader installed, so a later run
// knows which folders under apps/ are its own to replace or remove.
type State struct {
	Version     int                     `json:"version"`
	PortalURL   string                  `json:"portal_url"` // or "alias:NAME" for a portal reached through a relay
	DeviceID    string                  `json:"device_id"`
	InstalledAt time.Time               `json:"installed_at"`
	Apps        map[string]InstalledApp `json:"apps"`
}

// InstalledApp is one app in state.json.
type InstalledApp struct {
	Version  string `json:"version"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Unpacked bool   `json:"unpacked"` // an archive unpacked into apps/<name>/, not a file placed there
}

const stateVersion = 1

func readState(dir string) (State, error) {
	var s State
	err := readJSON(filepath.Join(dir, stateFile), &s)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Apps: map[string]InstalledApp{}}, nil
	}
	if err != nil {
		return State{}, err
	}
	if s.Apps == nil {
		s.Apps = map[string]InstalledApp{}
	}
	return s, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is damaged (%v): remove it and run again", path, err)
	}
	return nil
}

// writeJSON replaces path with v atomically, making its folder first.
func writeJSON(path string, v any, perm fs.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return packages.WriteFileAtomic(path, append(b, '\n'), perm)
}
