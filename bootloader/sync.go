package bootloader

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"provportal/packages"
	"provportal/packages/activation"
)

// syncFile keeps an unfinished slow synchronisation, so a run cut short
// resumes where it stopped. It holds the session's keys: owner-only.
const syncFile = ".activation.json"

// organizerDir is where synchronised organizer data lands, one file per item.
const organizerDir = "organizer"

type syncState struct {
	PortalURL string                  `json:"portal_url"`
	SessionID string                  `json:"session_id"`
	Channel   []byte                  `json:"channel"`
	Cursor    string                  `json:"cursor"`
	Pending   *packages.SealedMessage `json:"pending,omitempty"`
}

func readSyncState(dir string) (*syncState, error) {
	b, err := os.ReadFile(filepath.Join(dir, syncFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st syncState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", syncFile, err)
	}
	return &st, nil
}

func (s *activationSession) saveSync(dir, portalURL, cursor string, pending *packages.SealedMessage) error {
	ch, err := s.channel.MarshalState()
	if err != nil {
		return err
	}
	b, err := json.Marshal(syncState{PortalURL: portalURL, SessionID: s.id, Channel: ch, Cursor: cursor, Pending: pending})
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, syncFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, syncFile))
}

// slowSync pulls the user's organizer data page by page, calendar first,
// writing each item to its own file (so an item delivered twice is still
// kept once) and the cursor after each page.
func (s *activationSession) slowSync(ctx context.Context, dir, portalURL, cursor string, pending *packages.SealedMessage, out io.Writer) error {
	for {
		var msg packages.SealedMessage
		if pending != nil {
			msg = *pending
		} else {
			b, err := json.Marshal(packages.ActivationPayload{Type: packages.MsgSyncRequest, Cursor: cursor})
			if err != nil {
				return err
			}
			env := s.channel.Seal(b, []byte(s.id))
			msg = packages.SealedMessage{SessionID: s.id, Seq: env.Seq, CT: base64.StdEncoding.EncodeToString(env.CT)}
		}
		// Saved before sending: a reply lost on the way is asked for again
		// with this very message, which the portal answers the same way.
		if err := s.saveSync(dir, portalURL, cursor, &msg); err != nil {
			return fmt.Errorf("remember the sync: %w", err)
		}
		var answer packages.SealedMessage
		if err := s.pc.call(ctx, http.MethodPost, routeActivationMessage, msg, &answer); err != nil {
			return refused(err)
		}
		page, err := s.open(answer)
		if err != nil {
			return err
		}
		if page.Type != packages.MsgSyncPage {
			return fmt.Errorf("expected organizer data, got %q", page.Type)
		}
		for _, it := range page.Items {
			if err := writeItem(dir, it); err != nil {
				return err
			}
		}
		pending, cursor = nil, page.Next
		if err := s.saveSync(dir, portalURL, cursor, nil); err != nil {
			return fmt.Errorf("remember the sync: %w", err)
		}
		fmt.Fprintf(out, "Slow sync: %d%%\n", page.Progress)
		if page.Next == "" {
			if err := restoreOptions(dir); err != nil {
				return fmt.Errorf("restore device options: %w", err)
			}
			if err := s.backupOptions(ctx, dir); err != nil {
				return fmt.Errorf("back up device options: %w", err)
			}
			return os.Remove(filepath.Join(dir, syncFile))
		}
	}
}

func writeItem(dir string, it packages.SyncItem) error {
	if it.Kind == "" || filepath.Base(it.Kind) != it.Kind || it.Kind == "." || it.Kind == ".." {
		return fmt.Errorf("the portal sent an item of kind %q", it.Kind)
	}
	sum := sha256.Sum256([]byte(it.UID))
	d := filepath.Join(dir, organizerDir, it.Kind)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, hex.EncodeToString(sum[:])+".json"), b, 0o600)
}

// resumeSync finishes a slow synchronisation an earlier run left unfinished.
func resumeSync(ctx context.Context, c *config, pc *portalClient, st *syncState, out io.Writer) error {
	ch, err := activation.RestoreChannel(st.Channel)
	if err != nil {
		return fmt.Errorf("resume the sync: %w", err)
	}
	fmt.Fprintln(out, "Resuming the slow sync where it stopped.")
	s := &activationSession{pc: pc, id: st.SessionID, channel: ch}
	return s.slowSync(ctx, c.installDir, c.origin(), st.Cursor, st.Pending, out)
}

// optionsFile holds the device's own options (name to value), backed up to
// the portal after a sync and restored by the user's next activation.
const optionsFile = "options.json"

// optionUID names an option as the portal's organizer data does, so a
// device's backup and an admin's import of the same option are one item.
func optionUID(name string) string {
	sum := sha256.Sum256([]byte("options\x00" + name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

type deviceOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// restoreOptions writes options.json from the options the sync delivered,
// unless the device already has its own.
func restoreOptions(dir string) error {
	path := filepath.Join(dir, optionsFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	files, err := os.ReadDir(filepath.Join(dir, organizerDir, "options"))
	if errors.Is(err, os.ErrNotExist) || len(files) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	opts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, organizerDir, "options", f.Name()))
		if err != nil {
			return err
		}
		var it packages.SyncItem
		var o deviceOption
		if json.Unmarshal(b, &it) == nil && json.Unmarshal(it.Data, &o) == nil && o.Name != "" {
			opts[o.Name] = o.Value
		}
	}
	b, err := json.MarshalIndent(opts, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// backupOptions sends the device's options to the portal, sealed.
func (s *activationSession) backupOptions(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, optionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var opts map[string]string
	if err := json.Unmarshal(b, &opts); err != nil {
		return fmt.Errorf("%s is not a JSON object of names to values: %w", optionsFile, err)
	}
	items := make([]packages.SyncItem, 0, len(opts))
	for name, value := range opts {
		data, _ := json.Marshal(deviceOption{Name: name, Value: value})
		items = append(items, packages.SyncItem{Kind: "options", UID: optionUID(name), Summary: name, Data: data})
	}
	if len(items) == 0 {
		return nil
	}
	_, err = s.send(ctx, packages.ActivationPayload{Type: packages.MsgBackup, Options: items})
	return err
}
