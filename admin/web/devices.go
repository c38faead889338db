package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"provportal/portal"
)

// deviceRow is one device of the list, with its user's name and, when it
// is stopped by an error, the troubleshooting catalogue's entry.
type deviceRow struct {
	Device portal.Device
	User   string
	Fix    portal.Troubleshooting
	Known  bool
}

type statusChoice struct {
	Value, Label string
	Selected     bool
}

type devicesPage struct {
	Devices    []deviceRow
	List       listPage
	Status     string // the filter, as a valid status or empty
	Statuses   []statusChoice
	QueryError string
}

func (c *Console) listDevices(ec echo.Context) error {
	ctx := ec.Request().Context()
	var p devicesPage
	opt, queryError, err := queryOptions(ec)
	if err != nil {
		return err
	}
	p.QueryError = queryError
	status, choices, problem := statusFilter(ec, deviceStatuses, "device")
	if problem != "" {
		p.QueryError = problem
	}
	p.Status, p.Statuses = status, choices
	page, err := c.store.Devices(ctx, portal.DeviceFilter{ListOptions: opt, Status: status})
	if err != nil {
		return err
	}
	users := userNames{}
	for _, d := range page.Items {
		r := deviceRow{Device: d}
		if r.User, err = users.name(ctx, c.store, d.UserID); err != nil {
			return err
		}
		if d.Error != nil {
			r.Fix, r.Known = portal.Troubleshoot(d.Error.Code)
		}
		p.Devices = append(p.Devices, r)
	}
	p.List = pagingWith("/admin/devices", opt, page.Total, len(page.Items), url.Values{"status": {status}})
	return c.page(ec, listCode(p.QueryError), "devices", "Devices", "devices", p)
}

type devicePage struct {
	Device deviceRow
	Events []portal.DeviceEvent
}

func (c *Console) showDevice(ec echo.Context) error {
	ctx := ec.Request().Context()
	d, err := c.store.Device(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	p := devicePage{Device: deviceRow{Device: *d}}
	if p.Device.User, err = (userNames{}).name(ctx, c.store, d.UserID); err != nil {
		return err
	}
	if d.Error != nil {
		p.Device.Fix, p.Device.Known = portal.Troubleshoot(d.Error.Code)
	}
	if p.Events, err = c.store.DeviceEvents(ctx, d.ID); err != nil {
		return err
	}
	title := d.Name
	if title == "" {
		title = "A " + d.Platform + " device"
	}
	return c.page(ec, http.StatusOK, "device", title, "devices", p)
}

// userNames names users by ID, asking the store once for each.
type userNames map[string]string

func (n userNames) name(ctx context.Context, s portal.UserStore, id string) (string, error) {
	if name, ok := n[id]; ok {
		return name, nil
	}
	name := id
	if u, err := s.User(ctx, id); err == nil {
		name = u.Username
	} else if !portal.IsNotFound(err) {
		return "", err
	}
	n[id] = name
	return name, nil
}

// humanBytes is the template function "bytes": a size for people.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.0f %s", v, units[i])
}

// when is the template function that writes a moment exactly, in UTC.
func when(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
