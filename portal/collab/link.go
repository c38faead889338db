package collab

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"provportal/packages"
)

// linkBuffer is how many frames may wait for a slow device before it is
// treated as gone.
const linkBuffer = 512

// writeTimeout bounds one frame's write to the device.
const writeTimeout = 15 * time.Second

// deviceLink is a device's WebSocket: frames to the device go through one
// writer goroutine, so nobody blocks on a slow device. The writer runs only
// while there is something to write, and frames wait in a slice rather than
// a buffered channel, so an idle link holds neither a goroutine nor a buffer.
type deviceLink struct {
	ws *websocket.Conn

	mu       sync.Mutex
	queue    []packages.ChatFrame
	writing  bool // a writer goroutine is running
	finished bool
	last     *packages.ChatFrame
	status   websocket.StatusCode
	closed   bool          // the writer has closed the WebSocket
	done     chan struct{} // closed with it
}

func newLink(ws *websocket.Conn) *deviceLink {
	return &deviceLink{ws: ws, done: make(chan struct{})}
}

// send queues a frame for the device; false if the device is not keeping
// up or the link is finishing.
func (l *deviceLink) send(f packages.ChatFrame) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished || len(l.queue) >= linkBuffer {
		return false
	}
	l.queue = append(l.queue, f)
	l.startWriter()
	return true
}

// startWriter starts the writer unless it runs; l.mu is held.
func (l *deviceLink) startWriter() {
	if !l.writing && !l.closed {
		l.writing = true
		go l.write()
	}
}

// finish sends what is queued, then last (unless its Type is empty), then
// closes the WebSocket with status. Only the first call counts.
func (l *deviceLink) finish(last packages.ChatFrame, status websocket.StatusCode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished {
		return
	}
	l.finished = true
	if last.Type != "" {
		l.last = &last
	}
	l.status = status
	l.startWriter()
}

// wait returns once the writer has closed the WebSocket.
func (l *deviceLink) wait() { <-l.done }

// write drains the queue, then returns; after finish it also writes the
// last frame and closes the WebSocket.
func (l *deviceLink) write() {
	for {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		finished, last, status := l.finished, l.last, l.status
		if len(batch) == 0 && !finished {
			l.writing = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		ok := true
		for _, f := range batch {
			if ok = l.writeFrame(f); !ok {
				break
			}
		}
		if ok && !finished {
			continue
		}
		// Nothing is queued after finish, so the batch held the rest.
		if ok && last != nil {
			l.writeFrame(*last)
		}
		l.ws.Close(status, "")
		l.mu.Lock()
		l.closed, l.writing, l.finished = true, false, true
		l.mu.Unlock()
		close(l.done)
		return
	}
}

func (l *deviceLink) writeFrame(f packages.ChatFrame) bool {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := wsjson.Write(ctx, l.ws, f); err != nil {
		l.ws.CloseNow()
		return false
	}
	return true
}
