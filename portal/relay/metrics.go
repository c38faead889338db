package relay

import "github.com/prometheus/client_golang/prometheus"

// metrics are what /metrics shows about the relay's traffic; they name
// aliases nowhere, so the relay's metrics carry no customer's name either.
type metrics struct {
	portals    prometheus.Gauge
	streams    prometheus.Gauge
	toPortal   prometheus.Counter
	toDevice   prometheus.Counter
	connects   *prometheus.CounterVec
	handshakes *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "relay_bytes_relayed_total", Help: "Bytes copied between devices and portals, by direction.",
	}, []string{"direction"})
	m := &metrics{
		portals: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_portals_connected", Help: "Portals holding an alias on this relay now.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relay_streams_open", Help: "Device connections being relayed to a portal now.",
		}),
		toPortal: bytes.WithLabelValues("to_portal"),
		toDevice: bytes.WithLabelValues("to_device"),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_device_connections_total", Help: "Device connection requests, by result.",
		}, []string{"result"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relay_portal_handshakes_total", Help: "Portal handshakes, by result.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.portals, m.streams, bytes, m.connects, m.handshakes)
	return m
}

// Results counted in relay_device_connections_total.
const (
	connectRelayed      = "relayed"
	connectNotConnected = "not_connected"
	connectRefused      = "refused"
)
