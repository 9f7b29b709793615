// Package qmptest provides a fake QEMU Machine Protocol server for tests: it
// answers the commands cemon's migration driver sends and plays a scripted
// sequence of query-migrate states.
package qmptest

import (
	"bufio"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Fake is one fake QMP socket.
type Fake struct {
	Path string
	ln   net.Listener

	mu       sync.Mutex
	states   []map[string]any
	next     int
	commands []Command
	wg       sync.WaitGroup
	// dirtyQueries counts query-dirty-rate since the last calc-dirty-rate.
	dirtyQueries int
	// stopAt and resumeAt time the STOP and RESUME events (zero: none);
	// stopSent and resumeSent say whether they went out.
	stopAt, resumeAt     time.Time
	stopSent, resumeSent bool
	stayPaused           bool
}

// StayPaused makes the fake answer query-status as a destination that has
// finished its incoming migration and stays paused (QEMU started with -S).
func (f *Fake) StayPaused() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stayPaused = true
}

// StopAt makes the fake send QEMU's STOP event, timestamped at, before its
// first answer of a completed query-migrate state (the guest stopped for the
// stop-and-copy).
func (f *Fake) StopAt(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopAt = at
}

// ResumeAt makes the fake send QEMU's RESUME event, timestamped at, before its
// first answer to query-status (the destination's guest running again).
func (f *Fake) ResumeAt(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumeAt = at
}

// event is a QMP event as QEMU writes it.
func event(name string, at time.Time) map[string]any {
	return map[string]any{"event": name, "timestamp": map[string]int64{
		"seconds": at.Unix(), "microseconds": int64(at.Nanosecond() / 1000)}}
}

// Command is one command the fake received.
type Command struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments"`
}

// New listens on a unix socket in t's temporary directory; query-migrate
// answers states one by one, then the last one again. Closed at t's cleanup.
func New(t testing.TB, name string, states ...map[string]any) *Fake {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".qmp")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Path: path, ln: ln, states: states}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

// Commands returns the commands received so far.
func (f *Fake) Commands() []Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Command(nil), f.commands...)
}

func (f *Fake) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.conn(c)
		}()
	}
}

func (f *Fake) conn(c net.Conn) {
	enc := json.NewEncoder(c)
	_ = enc.Encode(map[string]any{"QMP": map[string]any{"version": map[string]any{"qemu": map[string]int{"major": 10, "minor": 0, "micro": 0}}}})
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var cmd Command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			_ = enc.Encode(map[string]any{"error": map[string]string{"class": "GenericError", "desc": "bad JSON"}})
			continue
		}
		f.mu.Lock()
		f.commands = append(f.commands, cmd)
		var ret any = map[string]any{}
		var events []map[string]any
		switch cmd.Execute {
		case "query-migrate":
			if len(f.states) > 0 {
				st := f.states[min(f.next, len(f.states)-1)]
				ret = st
				f.next++
				if st["status"] == "completed" && !f.stopAt.IsZero() && !f.stopSent {
					f.stopSent = true
					events = append(events, event("STOP", f.stopAt))
				}
			}
		case "query-status":
			ret = map[string]any{"status": "inmigrate", "running": false}
			if f.stayPaused {
				ret = map[string]any{"status": "paused", "running": false}
			}
			if !f.resumeAt.IsZero() {
				if !f.resumeSent {
					f.resumeSent = true
					events = append(events, event("RESUME", f.resumeAt))
				}
				ret = map[string]any{"status": "running", "running": true}
			}
		case "query-dirty-rate":
			// A measurement of 3 MiB/s, taking one query to finish.
			if f.dirtyQueries++; f.dirtyQueries == 1 {
				ret = map[string]any{"status": "measuring"}
			} else {
				ret = map[string]any{"status": "measured", "dirty-rate": 3, "calc-time": 1, "sample-pages": 512, "mode": "page-sampling"}
			}
		case "calc-dirty-rate":
			f.dirtyQueries = 0
		case "migrate_cancel":
			f.states = append(f.states[:min(f.next, len(f.states))], map[string]any{"status": "cancelled"})
		case "qmp_capabilities", "migrate", "migrate-incoming", "migrate-set-parameters":
		default:
			f.mu.Unlock()
			_ = enc.Encode(map[string]any{"error": map[string]string{"class": "CommandNotFound", "desc": "unknown command " + cmd.Execute}})
			continue
		}
		f.mu.Unlock()
		for _, e := range events {
			_ = enc.Encode(e)
		}
		_ = enc.Encode(map[string]any{"return": ret})
	}
}

// Active is a query-migrate state of a migration in progress.
func Active(transferred, syncs int64) map[string]any {
	return map[string]any{"status": "active", "total-time": 100, "ram": map[string]any{
		"transferred": transferred, "dirty-sync-count": syncs, "page-size": 4096, "dirty-pages-rate": 1000}}
}

// Completed is the final state of a migration that completed.
func Completed(totalMs, downtimeMs, transferred, syncs int64) map[string]any {
	return map[string]any{"status": "completed", "total-time": totalMs, "downtime": downtimeMs, "ram": map[string]any{
		"transferred": transferred, "dirty-sync-count": syncs, "page-size": 4096, "dirty-pages-rate": 1000}}
}
