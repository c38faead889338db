package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestOutboxSender(t *testing.T) {
	var buf bytes.Buffer
	o := &OutboxSender{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	r, err := o.Send(context.Background(), testTo, "set up at https://p.example/p/x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.SID, "outbox-") || len(r.SID) <= len("outbox-") || r.Status != "stored" {
		t.Errorf("receipt = %+v, want outbox-<random>, stored", r)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if rec["msg"] != "sms outbox" || rec["to"] != testTo || rec["body"] != "set up at https://p.example/p/x" {
		t.Errorf("log = %v, want msg \"sms outbox\" with to and body", rec)
	}
	r2, _ := o.Send(context.Background(), testTo, "again")
	if r2.SID == r.SID {
		t.Errorf("two messages got one SID %s", r.SID)
	}
	if _, found, err := o.Find(context.Background(), testTo, "set up at https://p.example/p/x"); found || err != nil {
		t.Errorf("Find = %v, %v; want not found", found, err)
	}
}
