package relay

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/prometheus/client_golang/prometheus"
)

// copyBufferSize is each direction's buffer, held for as long as the
// connection is open; it is also the largest frame a relayed connection puts
// on a portal's session at once. A TLS record is at most 16 KiB, so a larger
// buffer gains little.
const copyBufferSize = 16 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// pipe copies bytes between a device and its stream to the portal until
// both directions have ended: one direction in the calling goroutine, the
// other in its own. The end of one direction is passed on as a half-close
// (FIN on the stream, CloseWrite on the device's connection), so each side
// can still finish what it is sending; a failure either way ends both, as
// closing the device's connection and aborting the stream's read unblock
// the other direction.
func (r *Relay) pipe(device net.Conn, st *yamux.Stream) {
	r.metrics.streams.Inc()
	defer r.metrics.streams.Dec()
	stream := &portalStream{Stream: st}
	fail := func(err error) {
		if err != nil {
			r.log.Debug("relayed connection failed", "err", err)
			device.Close()
			stream.abort()
		}
	}
	toDevice := make(chan struct{})
	go func() {
		defer close(toDevice)
		err := copyCounted(device, stream, r.metrics.toDevice)
		closeWrite(device)
		fail(err)
	}()
	err := copyCounted(stream, device, r.metrics.toPortal)
	stream.Close() // yamux: a FIN, reads go on
	fail(err)
	<-toDevice
	device.Close()
	stream.Close()
}

// idleShrink is how long a relayed connection waits for its portal's bytes
// before it gives back the stream's receive buffer: an idle connection
// then holds no copy of the largest burst it ever carried.
const idleShrink = time.Second

// portalStream is the relay's end of a stream to a portal.
type portalStream struct {
	*yamux.Stream
	aborted atomic.Bool
}

// Read waits for the portal's bytes, shrinking the receive buffer once the
// wait has lasted idleShrink.
func (s *portalStream) Read(p []byte) (int, error) {
	s.SetReadDeadline(time.Now().Add(idleShrink))
	n, err := s.Stream.Read(p)
	if !errors.Is(err, yamux.ErrTimeout) || s.aborted.Load() {
		return n, err
	}
	s.Shrink()
	s.SetReadDeadline(time.Time{})
	// abort sets its flag before its deadline: one of the two is seen here.
	if s.aborted.Load() {
		return 0, net.ErrClosed
	}
	return s.Stream.Read(p)
}

// abort ends a Read that is waiting.
func (s *portalStream) abort() {
	s.aborted.Store(true)
	s.SetReadDeadline(time.Now())
}

// copyCounted copies src to dst until src ends, counting the bytes; the end
// of src is no error.
func copyCounted(dst io.Writer, src io.Reader, bytes prometheus.Counter) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			bytes.Add(float64(n))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
