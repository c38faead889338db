package collab

import "github.com/prometheus/client_golang/prometheus"

// metrics are the service's counters in /metrics.
type metrics struct {
	refusals  *prometheus.CounterVec
	logons    prometheus.Counter
	resumes   prometheus.Counter
	evictions prometheus.Counter
}

// refusalReasons are the reasons a logon is refused, counted from zero so
// they show in /metrics before the first refusal.
var refusalReasons = []string{"not_permitted", "server_busy", "failed", "bad_credentials"}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_collaboration_refusals_total", Help: "Collaboration logons and resumes refused, by reason (the code the device is told).",
		}, []string{"reason"}),
		logons: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portal_collaboration_logons_total", Help: "Collaboration sessions logged on to the messaging server.",
		}),
		resumes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portal_collaboration_resumes_total", Help: "Collaboration sessions taken up again by their device within the grace window.",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portal_collaboration_evictions_total", Help: "Idle collaboration sessions evicted to admit another logon.",
		}),
	}
	for _, r := range refusalReasons {
		m.refusals.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.refusals, m.logons, m.resumes, m.evictions)
	}
	return m
}
