package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"provportal/bootloader"
	"provportal/packages"
	"provportal/portal"
	"provportal/portal/auth"
	"provportal/portal/xmpp"
	"provportal/portal/xmpp/prosodytest"
)

// echoBot answers every message with the same text, straight from Prosody.
func echoBot(b testing.TB, srv *prosodytest.Server, name, password string) {
	bot := directClient(b, srv, name, password)
	go func() {
		for ev := range bot.Events() {
			if m, ok := ev.(xmpp.Message); ok && m.Body != "" {
				bot.Send(context.Background(), xmpp.Message{To: m.From, Body: m.Body})
			}
		}
	}()
}

// reportLatencies reports the median and the 99th percentile of a message's round trip.
func reportLatencies(b *testing.B, rtts []time.Duration) {
	if len(rtts) == 0 {
		return
	}
	slices.Sort(rtts)
	at := func(q float64) time.Duration { return rtts[min(int(q*float64(len(rtts))), len(rtts)-1)] }
	b.ReportMetric(float64(at(0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(at(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op") // the percentiles say it better than the mean
}

// BenchmarkCollaborationRoundTrip times a message to a user who answers it
// at once, and the answer's way back: from a device through the portal, and
// from a client connected straight to Prosody.
//
//	go test ./portal/server -run '^$' -bench CollaborationRoundTrip -benchtime 2000x
func BenchmarkCollaborationRoundTrip(b *testing.B) {
	e := newCollabEnv(b, prosodytest.Options{}, map[string]any{"grace_window": "1m"})
	e.xmpp.AddUser(b, "echo", "echo-im-secret")
	echoBot(b, e.xmpp, "echo", "echo-im-secret")
	e.chatUser(b, "dev", true, "dev-im-secret")
	e.xmpp.AddUser(b, "direct", "direct-im-secret")
	dir, _ := e.device(b, "dev", e.URL)
	chat := mustChat(b, bootloader.ChatOptions{InstallDir: dir, Password: "dev-im-secret"})
	straight := directClient(b, e.xmpp, "direct", "direct-im-secret")
	echo := "echo@" + e.xmpp.Domain
	ctx := context.Background()

	b.Run("through_portal", func(b *testing.B) {
		rtts := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			body := "ping " + strconv.Itoa(i)
			start := time.Now()
			if err := chat.Send(ctx, echo, body); err != nil {
				b.Fatal(err)
			}
			for f := range chat.Frames() {
				if f.Type == packages.ChatMessage && f.Body == body {
					break
				}
			}
			rtts = append(rtts, time.Since(start))
		}
		reportLatencies(b, rtts)
	})
	b.Run("straight_to_prosody", func(b *testing.B) {
		rtts := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			body := "ping " + strconv.Itoa(i)
			start := time.Now()
			if _, err := straight.Send(ctx, xmpp.Message{To: echo, Body: body}); err != nil {
				b.Fatal(err)
			}
			for ev := range straight.Events() {
				if m, ok := ev.(xmpp.Message); ok && m.Body == body {
					break
				}
			}
			rtts = append(rtts, time.Since(start))
		}
		reportLatencies(b, rtts)
	})
}

// loadHelperEnv makes the test binary, run again, the devices of
// BenchmarkCollaborationSessions: a separate process, so the portal's
// memory is measured alone.
const loadHelperEnv = "PROVPORTAL_COLLAB_LOAD"

// loadPlan is what the helper process is told.
type loadPlan struct {
	URL      string
	Tokens   []string
	Password string
}

// BenchmarkCollaborationSessions opens b.N sessions on one portal, from
// devices in another process, each logged on to Prosody as its own user,
// and reports the portal process's memory per session.
//
//	go test ./portal/server -run '^$' -bench CollaborationSessions -benchtime 2000x
func BenchmarkCollaborationSessions(b *testing.B) {
	if b.N == 1 {
		return // the probe run; -benchtime Nx sizes the real one
	}
	e := newCollabEnv(b, prosodytest.Options{}, nil)
	const imPassword = "load-im-secret"
	e.xmpp.AddUser(b, "load0", imPassword)
	cloneAccounts(b, e.xmpp, "load0", b.N)

	// Users, devices and device tokens straight from the store and the
	// portal's own device token key: a logon per device would spend the
	// setup in argon2.
	ctx := context.Background()
	key, err := e.Store.Secret(ctx, auth.DeviceKeyName, auth.NewSigningKey)
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := auth.NewDeviceTokens(key, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	plan := loadPlan{URL: e.URL, Password: imPassword}
	for i := range b.N {
		u := &portal.User{Username: "load" + strconv.Itoa(i), Collaboration: true}
		if err := e.Store.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		d := &portal.Device{UserID: u.ID, Name: "load", Platform: "linux-amd64", Status: packages.StatusActivationComplete}
		if err := e.Store.CreateDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
		token, _, err := tokens.IssueDevice(d.ID, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		plan.Tokens = append(plan.Tokens, token)
	}
	planFile := filepath.Join(b.TempDir(), "plan.json")
	raw, _ := json.Marshal(plan)
	if err := os.WriteFile(planFile, raw, 0o600); err != nil {
		b.Fatal(err)
	}

	before := memory()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCollaborationLoadHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), loadHelperEnv+"="+planFile)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	b.ResetTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ready") {
			ready = true
			break
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
	took := time.Since(start)
	b.StopTimer()
	if !ready {
		b.Fatal("the load helper did not open its sessions")
	}
	live, err := e.Srv.collab.Sessions(ctx)
	if err != nil || len(live) != b.N {
		b.Fatalf("live sessions: %d (%v), want %d", len(live), err, b.N)
	}
	after := memory()
	n := float64(b.N)
	b.ReportMetric(float64(after.heap-before.heap)/n, "heap-B/session")
	b.ReportMetric(float64(after.rss-before.rss)/n, "rss-B/session")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/n, "goroutines/session")
	b.ReportMetric(n/took.Seconds(), "logons/s")
	b.ReportMetric(0, "ns/op")
}

type memoryUse struct {
	heap, rss  uint64
	goroutines int
}

// memory is this process's live heap after a collection, its resident set and its goroutines.
func memory() memoryUse {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memoryUse{heap: ms.HeapInuse + ms.StackInuse, goroutines: runtime.NumGoroutine()}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.SplitSeq(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.rss = kb << 10
			}
		}
	}
	return m
}

// cloneAccounts gives users name1 ... name(n-1) the account of name0 (the
// same password) by copying Prosody's account file, which prosodyctl would
// take minutes to write one by one.
func cloneAccounts(b testing.TB, srv *prosodytest.Server, first string, n int) {
	files, _ := filepath.Glob(filepath.Join(srv.Dir, "data", "*", "accounts", first+".dat"))
	if len(files) != 1 {
		b.Fatalf("Prosody's account file for %s: found %v", first, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	prefix := strings.TrimSuffix(first, "0")
	for i := 1; i < n; i++ {
		if err := os.WriteFile(filepath.Join(filepath.Dir(files[0]), prefix+strconv.Itoa(i)+".dat"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCollaborationLoadHelper is the devices of BenchmarkCollaborationSessions,
// when the benchmark runs the test binary again; otherwise it does nothing.
func TestCollaborationLoadHelper(t *testing.T) {
	planFile := os.Getenv(loadHelperEnv)
	if planFile == "" {
		t.Skip("runs only as BenchmarkCollaborationSessions' helper process")
	}
	raw, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var plan loadPlan
	if err := json.Unmarshal(raw, &plan); err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(plan.URL, "http") + packages.CollaborationRoute
	conns := make([]*websocket.Conn, len(plan.Tokens))
	var wg sync.WaitGroup
	work := make(chan int)
	var failed sync.Once
	for range 32 {
		wg.Go(func() {
			for i := range work {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
					HTTPHeader:   http.Header{"Authorization": {"Bearer " + plan.Tokens[i]}},
					Subprotocols: []string{packages.CollaborationProtocol}, CompressionMode: websocket.CompressionNoContextTakeover,
				})
				var answer packages.ChatFrame
				if err == nil {
					err = wsjson.Write(ctx, ws, packages.ChatFrame{Type: packages.ChatLogon, Password: plan.Password})
				}
				if err == nil {
					err = wsjson.Read(ctx, ws, &answer)
				}
				cancel()
				if err != nil || answer.Type != packages.ChatAccepted {
					failed.Do(func() { t.Errorf("session %d: %v %+v", i, err, answer) })
					continue
				}
				conns[i] = ws
				go func() {
					for {
						if _, _, err := ws.Read(context.Background()); err != nil {
							return
						}
					}
				}()
			}
		})
	}
	for i := range plan.Tokens {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	fmt.Println("ready", len(conns))
	io.Copy(io.Discard, os.Stdin)
	for _, ws := range conns {
		ws.CloseNow()
	}
}
