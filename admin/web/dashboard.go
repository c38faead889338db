package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// deviceStatuses are the stages a device moves through, in order, then where
// an iPhone or iPad stops (the portal sees no further than delivering its
// profile), then the two ways a device stops on an error. They are the
// statuses the device API and the iOS profile service record.
var deviceStatuses = []string{
	"activating", "verifying_encryption", "waiting_for_services", "services_received",
	"installing", "activation_complete", "slow_sync", "synchronised",
	portal.StatusProfileDelivered,
	"failed", "it_policy_rejected",
}

// failedStatuses are the statuses of a device that is stuck with an error.
var failedStatuses = []string{"failed", "it_policy_rejected"}

var smsStatuses = []string{
	portal.SMSQueued, portal.SMSSending, portal.SMSSent, portal.SMSDelivered,
	portal.SMSUndelivered, portal.SMSFailed, portal.SMSOptedOut,
}

var statusLabels = map[string]string{
	"activating": "Activating", "verifying_encryption": "Verifying encryption",
	"waiting_for_services": "Waiting for services", "services_received": "Services received",
	"installing": "Installing", "activation_complete": "Activation complete",
	"slow_sync": "Slow sync", "synchronised": "Synchronised", portal.StatusProfileDelivered: "Profile delivered",
	"failed": "Failed", "it_policy_rejected": "IT policy rejected",
	portal.SMSQueued: "Queued", portal.SMSSending: "Sending", portal.SMSSent: "Sent",
	portal.SMSDelivered: "Delivered", portal.SMSUndelivered: "Undelivered", portal.SMSOptedOut: "Opted out",
}

// statusLabel is the template function that names a status in words.
func statusLabel(s string) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return strings.ReplaceAll(s, "_", " ")
}

// The chart is drawn in a 360-unit-wide box that scales to the page, so it
// stays legible on a 390-pixel phone.
const (
	chartWidth  = 360
	chartLabelW = 158
	chartCountW = 36
	chartRowH   = 28
	chartBarH   = 18
)

type chartBar struct {
	Status string
	Label  string
	Count  int
	Failed bool
	Y      int // top of the row
	BarY   int
	TextY  int
	X      int // where the bar starts
	Width  int // of the bar
	Track  int // of the space the bar could fill
	CountX int
}

type deviceChart struct {
	Bars        []chartBar
	Width       int
	Height      int
	Total       int
	Other       int // devices in a status the chart does not name
	Description string
}

type failure struct {
	Device portal.Device
	User   string
	Fix    portal.Troubleshooting
	Known  bool
}

type dashboardPage struct {
	Devices  deviceChart
	SMS      []statusCount
	SMSTotal int
	Failures []failure
}

type statusCount struct {
	Status string
	Count  int
}

func (c *Console) dashboard(ec echo.Context) error {
	ctx := ec.Request().Context()
	chart, err := c.deviceChart(ctx)
	if err != nil {
		return err
	}
	p := dashboardPage{Devices: chart}
	for _, s := range smsStatuses {
		page, err := c.store.SMSMessages(ctx, portal.SMSFilter{ListOptions: portal.ListOptions{Limit: 1}, Status: s})
		if err != nil {
			return err
		}
		p.SMS = append(p.SMS, statusCount{s, page.Total})
		p.SMSTotal += page.Total
	}
	if p.Failures, err = c.recentFailures(ctx, 10); err != nil {
		return err
	}
	return c.page(ec, http.StatusOK, "dashboard", "Dashboard", "dashboard", p)
}

// deviceChart counts devices per status, one count query per status: the
// store pages lists and reports their totals.
func (c *Console) deviceChart(ctx context.Context) (deviceChart, error) {
	ch := deviceChart{Width: chartWidth, Height: chartRowH * len(deviceStatuses)}
	counted := 0
	most := 1
	for _, s := range deviceStatuses {
		page, err := c.store.Devices(ctx, portal.DeviceFilter{ListOptions: portal.ListOptions{Limit: 1}, Status: s})
		if err != nil {
			return ch, err
		}
		ch.Bars = append(ch.Bars, chartBar{Status: s, Label: statusLabel(s), Count: page.Total, Failed: slices.Contains(failedStatuses, s)})
		counted += page.Total
		most = max(most, page.Total)
	}
	all, err := c.store.Devices(ctx, portal.DeviceFilter{ListOptions: portal.ListOptions{Limit: 1}})
	if err != nil {
		return ch, err
	}
	ch.Total, ch.Other = all.Total, max(all.Total-counted, 0)

	barSpace := chartWidth - chartLabelW - chartCountW
	var desc []string
	for i := range ch.Bars {
		b := &ch.Bars[i]
		b.Y = i * chartRowH
		b.BarY = b.Y + (chartRowH-chartBarH)/2
		b.TextY = b.Y + chartRowH/2 + 5
		b.X, b.Track = chartLabelW, barSpace
		b.Width = b.Count * barSpace / most
		if b.Count > 0 {
			b.Width = max(b.Width, 2)
		}
		b.CountX = b.X + b.Width + 6
		desc = append(desc, fmt.Sprintf("%s: %d", b.Label, b.Count))
	}
	ch.Description = strings.Join(desc, ", ")
	return ch, nil
}

// recentFailures are the devices most recently stopped by an error, each
// with the troubleshooting catalogue's cause and fix for its code.
func (c *Console) recentFailures(ctx context.Context, n int) ([]failure, error) {
	var devices []portal.Device
	for _, s := range failedStatuses {
		page, err := c.store.Devices(ctx, portal.DeviceFilter{ListOptions: portal.ListOptions{Limit: n}, Status: s})
		if err != nil {
			return nil, err
		}
		devices = append(devices, page.Items...)
	}
	slices.SortFunc(devices, func(a, b portal.Device) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	devices = devices[:min(n, len(devices))]

	users := map[string]string{}
	out := make([]failure, 0, len(devices))
	for _, d := range devices {
		f := failure{Device: d}
		if d.Error != nil {
			f.Fix, f.Known = portal.Troubleshoot(d.Error.Code)
		}
		name, ok := users[d.UserID]
		if !ok {
			name = d.UserID
			if u, err := c.store.User(ctx, d.UserID); err == nil {
				name = u.Username
			} else if !portal.IsNotFound(err) {
				return nil, err
			}
			users[d.UserID] = name
		}
		f.User = name
		out = append(out, f)
	}
	return out, nil
}

// ago says how long ago t was, roughly, for people.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
