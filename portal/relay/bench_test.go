package relay_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"provportal/packages"
	"provportal/portal/relay"
)

// TestMain lets a benchmark run this test binary as a relay of its own, so
// the relay's memory is measured apart from the portals and devices.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RELAY_TEST_CHILD_DATA_DIR"); dir != "" {
		serveChildRelay(dir)
		return
	}
	os.Exit(m.Run())
}

// serveChildRelay serves a relay and /test/memstats, the heap after a
// collection, and prints its address; it stops when standard input closes.
func serveChildRelay(dir string) {
	cfg := relay.Defaults()
	cfg.DataDir = dir
	r, err := relay.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/", r.Handler())
	mux.HandleFunc("/test/memstats", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		json.NewEncoder(w).Encode(memStats{HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: runtime.NumGoroutine()})
	})
	go http.Serve(ln, mux)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	r.Close()
}

type memStats struct {
	HeapInuse, StackInuse uint64
	Goroutines            int
}

func (m memStats) bytes() float64 { return float64(m.HeapInuse + m.StackInuse) }

func childMemStats(b *testing.B, url string) memStats {
	b.Helper()
	res, err := http.Get(url + "/test/memstats")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var m memStats
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkRelayMemory reports what the relay holds per connected portal
// and per open device connection (one TLS handshake and a 64 KiB answer
// done, then idle), measured in a relay process of its own. Run it once:
// go test -run - -bench RelayMemory -benchtime 1x ./portal/relay
func BenchmarkRelayMemory(b *testing.B) {
	const portals, streams = 200, 500
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RELAY_TEST_CHILD_DATA_DIR="+b.TempDir())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	addr := strings.TrimSpace(line)
	if strings.HasPrefix(addr, "error") || addr == "" {
		b.Fatalf("child relay: %q", line)
	}
	url := "http://" + addr

	before := childMemStats(b, url)
	var ups []*testPortal
	for i := range portals {
		ups = append(ups, startPortal(b, "p", url, fmt.Sprintf("portal-%d@example.com", i), newKey(b)))
	}
	eventually(b, "every portal holds its alias", func() bool {
		for _, p := range ups {
			if !p.Uplink.Connected() {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // the relay registers right after the portal hears "connected"
	withPortals := childMemStats(b, url)

	p := ups[0]
	c := deviceClient(url, p.Alias, fingerprint(p.Key))
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = streams
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range streams {
		wg.Go(func() {
			<-start
			res, err := c.Get("https://" + packages.RelayPortalHost + "/bytes?n=65536")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
	}
	close(start)
	wg.Wait()
	time.Sleep(1500 * time.Millisecond) // idle connections give back their receive buffers after a second
	withStreams := childMemStats(b, url)
	m := metrics(b, url)
	open := metricValue(m, "relay_streams_open")

	perPortal := (withPortals.bytes() - before.bytes()) / portals
	perStream := (withStreams.bytes() - withPortals.bytes()) / open
	b.ReportMetric(perPortal, "B/portal")
	b.ReportMetric(perStream, "B/stream")
	b.ReportMetric(open, "streams")
	b.Logf("relay heap+stacks: %.1f MiB idle, %.1f MiB with %d portals, %.1f MiB with %v open streams; goroutines %d, %d, %d",
		before.bytes()/(1<<20), withPortals.bytes()/(1<<20), portals, withStreams.bytes()/(1<<20), open,
		before.Goroutines, withPortals.Goroutines, withStreams.Goroutines)
	c.CloseIdleConnections()
}

// BenchmarkDownload100MiB compares one 100 MiB download from a portal
// through the relay with the same download from the portal directly (TLS
// 1.3 with the same certificate and pinning, and plain HTTP). Everything
// runs in this process on loopback, so the relay's share of the CPU shows.
func BenchmarkDownload100MiB(b *testing.B) {
	const size = 100 << 20
	key := newKey(b)
	path := fmt.Sprintf("https://%s/bytes?n=%d", packages.RelayPortalHost, size)
	download := func(b *testing.B, c *http.Client, url string) {
		b.SetBytes(size)
		b.ResetTimer()
		for range b.N {
			res, err := c.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || n != size {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	}
	b.Run("relay", func(b *testing.B) {
		r := startRelay(b, b.TempDir(), "")
		p := startPortal(b, "p", r.URL, alias, key)
		held(b, r, p)
		download(b, deviceClient(r.URL, alias, fingerprint(key)), path)
	})
	b.Run("direct_tls", func(b *testing.B) {
		cfg, err := relay.PortalTLS(key)
		if err != nil {
			b.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			b.Fatal(err)
		}
		hs := &http.Server{Handler: portalHandler("direct"), ErrorLog: stdlog.New(io.Discard, "", 0)}
		go hs.Serve(ln)
		defer hs.Close()
		c := deviceClient("", alias, fingerprint(key))
		c.Transport.(*http.Transport).DialTLSContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d tls.Dialer
			d.Config = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, NextProtos: []string{"http/1.1"}}
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		}
		download(b, c, path)
	})
	b.Run("direct_http", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		hs := &http.Server{Handler: portalHandler("direct")}
		go hs.Serve(ln)
		defer hs.Close()
		download(b, &http.Client{}, fmt.Sprintf("http://%s/bytes?n=%d", ln.Addr(), size))
	})
}
