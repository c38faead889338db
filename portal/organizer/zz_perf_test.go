package organizer

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestZZPerf(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxItems; i++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART;TZID=Berlin:20240105T090000\r\nDTEND;TZID=Berlin:20240105T100000\r\nSUMMARY:Event %d\r\nDESCRIPTION:Some text\\, here\r\nATTENDEE;CN=Bob:mailto:bob@example.com\r\nBEGIN:VALARM\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\n", i, i)
	}
	src := calendar("", berlinZone, b.String())
	start := time.Now()
	items, ie, err := ParseICS(strings.NewReader(src))
	fmt.Println(len(src)>>20, "MiB", len(items), ie, err, time.Since(start))

	// adversarial: lines of max-length param values
	pv := strings.Repeat("x", maxParamValue)
	line := "X-A;P=" + pv + ";Q=" + pv + ":v\r\n"
	var c strings.Builder
	c.WriteString("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20240101T000000Z\r\n")
	for c.Len() < MaxInputBytes-len(line)-100 {
		c.WriteString(line)
	}
	c.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	start = time.Now()
	items, ie, err = ParseICS(strings.NewReader(c.String()))
	fmt.Println(len(items), ie, err, time.Since(start))
}
