package bootloader

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"provportal/packages"
)

// progress shows how a download moves (a bar on a terminal, otherwise a line
// at most every 10 %) and tells the portal now and then, not per chunk.
type progress struct {
	out      io.Writer
	terminal bool
	report   func(percent int) // the portal's "installing" progress; best effort

	total        int64 // bytes of every download of this run
	done         int64 // bytes of the downloads finished
	lastReported int   // percent of total last reported to the portal

	app        packages.ManifestApp // the download under way
	cur        int64                // its bytes so far
	lastDecile int                  // its last 10 % step printed
	bar        *progressbar.ProgressBar
}

// Downloads count for the first 90 % of the progress the portal sees; the
// install and the final report for the rest.
const downloadShare = 90

func newProgress(out io.Writer, total int64, report func(int)) *progress {
	f, ok := out.(*os.File)
	return &progress{
		out:      out,
		terminal: ok && term.IsTerminal(int(f.Fd())),
		report:   report,
		total:    total,
	}
}

// start begins (or, after a cut, resumes) the app's download at offset.
func (p *progress) start(app packages.ManifestApp, offset int64) {
	resumed := p.app.SHA256 == app.SHA256
	p.app, p.cur = app, offset
	if p.terminal {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(app.Size,
				progressbar.OptionSetWriter(p.out),
				progressbar.OptionSetDescription(app.Name+" "+app.Version),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.out) }),
			)
		}
		p.bar.Set64(offset)
		return
	}
	p.lastDecile = decile(offset, app.Size)
	switch {
	case offset > 0:
		fmt.Fprintf(p.out, "resuming %s %s at %s\n", app.Name, app.Version, p.status())
	case resumed:
		fmt.Fprintf(p.out, "restarting %s %s from the first byte\n", app.Name, app.Version)
	default:
		fmt.Fprintf(p.out, "downloading %s %s: %s\n", app.Name, app.Version, p.status())
	}
}

// Write counts bytes as they are stored.
func (p *progress) Write(b []byte) (int, error) {
	p.cur += int64(len(b))
	if p.bar != nil {
		p.bar.Set64(p.cur)
	} else if d := decile(p.cur, p.app.Size); d > p.lastDecile {
		p.lastDecile = d
		fmt.Fprintf(p.out, "downloading %s %s: %s\n", p.app.Name, p.app.Version, p.status())
	}
	p.tellPortal()
	return len(b), nil
}

// finish closes the app's download once its hash is checked.
func (p *progress) finish(app packages.ManifestApp) {
	if p.bar != nil {
		p.bar.Finish()
	} else if p.lastDecile < 10 {
		p.cur = app.Size
		fmt.Fprintf(p.out, "downloading %s %s: %s\n", app.Name, app.Version, p.status())
	}
	p.done += app.Size
	p.app, p.cur, p.bar = packages.ManifestApp{}, 0, nil
	p.tellPortal()
}

// reused notes an app whose bytes an earlier run downloaded and checked.
func (p *progress) reused(app packages.ManifestApp) {
	fmt.Fprintf(p.out, "%s %s: already downloaded\n", app.Name, app.Version)
	p.done += app.Size
	p.tellPortal()
}

func (p *progress) status() string {
	pct := 100
	if p.app.Size > 0 {
		pct = int(p.cur * 100 / p.app.Size)
	}
	return fmt.Sprintf("%d%% (%s of %s)", pct, humanBytes(p.cur), humanBytes(p.app.Size))
}

func (p *progress) tellPortal() {
	pct := 100
	if p.total > 0 {
		pct = int((p.done + p.cur) * 100 / p.total)
	}
	if pct >= p.lastReported+10 {
		p.lastReported = pct - pct%10
		p.report(pct * downloadShare / 100)
	}
}

// decile is the last 10 % step n of size has reached, 0 to 10.
func decile(n, size int64) int {
	if size <= 0 {
		return 10
	}
	return int(n * 10 / size)
}

// humanBytes writes a size in decimal units, as disks and networks count.
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
}
