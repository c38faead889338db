package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"provportal/packages"
)

// Files in the relay's data dir.
const (
	BindingsFile = "bindings.json" // alias -> the key that holds it; written by the relay
	AliasesFile  = "aliases.json"  // alias -> keys allowed to hold it; written by an operator, read at start
)

// bindings says which portal key may hold each alias: the operator's list
// first, then the first key that registered the alias.
type bindings struct {
	path   string
	listed map[string][]string // from aliases.json

	mu    sync.Mutex
	bound map[string]binding
}

type binding struct {
	Fingerprint string    `json:"fingerprint"`
	BoundAt     time.Time `json:"bound_at"`
}

type bindingsFile struct {
	Aliases map[string]binding `json:"aliases"`
}

func openBindings(dataDir string) (*bindings, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create the data dir: %w", err)
	}
	b := &bindings{path: filepath.Join(dataDir, BindingsFile), bound: map[string]binding{}}
	var f bindingsFile
	if err := readJSONFile(b.path, &f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for alias, bd := range f.Aliases {
		b.bound[alias] = bd
	}
	listed, err := readAliases(filepath.Join(dataDir, AliasesFile))
	if err != nil {
		return nil, err
	}
	b.listed = listed
	return b, nil
}

// readAliases reads the operator's list; a missing file lists nothing.
func readAliases(path string) (map[string][]string, error) {
	var raw map[string][]string
	err := readJSONFile(path, &raw)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for alias, fps := range raw {
		a, err := packages.CheckAlias(alias)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, fp := range fps {
			n, err := normalizeFingerprint(fp)
			if err != nil {
				return nil, fmt.Errorf("%s: alias %s: %w", path, a, err)
			}
			out[a] = append(out[a], n)
		}
	}
	return out, nil
}

func normalizeFingerprint(s string) (string, error) {
	hex := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a key fingerprint (sha256: and 64 hex digits)", s)
	}
	return "sha256:" + hex, nil
}

// admit says whether the key with this fingerprint may hold the alias,
// binding an alias nobody holds yet to it. A refusal is a *Refusal.
func (b *bindings) admit(alias, fingerprint string, now time.Time) error {
	taken := &Refusal{Code: CodeAliasBound, Message: "alias " + alias + " is bound to another portal key on the relay"}
	if allowed, ok := b.listed[alias]; ok {
		for _, fp := range allowed {
			if fp == fingerprint {
				return nil
			}
		}
		return taken
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bd, ok := b.bound[alias]; ok {
		if bd.Fingerprint != fingerprint {
			return taken
		}
		return nil
	}
	b.bound[alias] = binding{Fingerprint: fingerprint, BoundAt: now.UTC()}
	if err := b.save(); err != nil {
		delete(b.bound, alias)
		return fmt.Errorf("record the binding of alias %s: %w", alias, err)
	}
	return nil
}

// save writes every binding through a temporary file and a rename, so a
// crash leaves the old file or the new, never a part. Called with mu held.
func (b *bindings) save() error {
	data, err := json.MarshalIndent(bindingsFile{Aliases: b.bound}, "", "  ")
	if err != nil {
		return err
	}
	return packages.WriteFileAtomic(b.path, append(data, '\n'), 0o600)
}

func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not valid JSON: %v", path, err)
	}
	return nil
}
