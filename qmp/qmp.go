// Package qmp drives QEMU's live migration over the QEMU Machine Protocol (JSON over
// a unix socket): it sets the migration parameters (bandwidth cap, downtime limit),
// starts the migration, follows query-migrate until it ends, and turns the outcome
// into what cemon's migration model records (total time, downtime, bytes
// transferred, dirty-sync rounds, dirty page rate).
//
// It is an edge package: it does I/O and reads the clock; the model it feeds
// (package migration) does neither.
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrQMP wraps an error QEMU answered a command with.
var ErrQMP = errors.New("qmp: command failed")

// Client is one QMP connection. Commands are serialised; asynchronous events are
// kept (the last 256) for Events.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	mu   sync.Mutex // one command at a time

	evMu   sync.Mutex
	events []Event
}

// Event is an asynchronous QMP event (MIGRATION, STOP, RESUME, ...).
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
	At   time.Time
}

// Dial connects to the QMP socket at path, reads QEMU's greeting and enters command
// mode.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var greeting struct {
		QMP *struct {
			Version struct {
				QEMU struct{ Major, Minor, Micro int } `json:"qemu"`
			} `json:"version"`
		} `json:"QMP"`
	}
	line, err := c.r.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &greeting)
	}
	if err != nil || greeting.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("qmp: %s: no QMP greeting: %v", path, err)
	}
	_ = conn.SetDeadline(time.Time{})
	if err := c.Execute(ctx, "qmp_capabilities", nil, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Events returns the events received so far and forgets them.
func (c *Client) Events() []Event {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	out := c.events
	c.events = nil
	return out
}

// Execute runs command with arguments args (nil: none) and decodes its return value
// into out (nil: ignore it).
func (c *Client) Execute(ctx context.Context, command string, args, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
		defer c.conn.SetDeadline(time.Time{})
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("qmp: %s: %w", command, err)
	}
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("qmp: %s: %w", command, err)
		}
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event     string          `json:"event"`
			Data      json.RawMessage `json:"data"`
			Timestamp struct {
				Seconds      int64 `json:"seconds"`
				Microseconds int64 `json:"microseconds"`
			} `json:"timestamp"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("qmp: %s: bad answer %q: %w", command, line, err)
		}
		switch {
		case resp.Event != "":
			c.evMu.Lock()
			c.events = append(c.events, Event{Name: resp.Event, Data: resp.Data,
				At: time.Unix(resp.Timestamp.Seconds, resp.Timestamp.Microseconds*1000)})
			if len(c.events) > 256 {
				c.events = c.events[len(c.events)-256:]
			}
			c.evMu.Unlock()
		case resp.Error != nil:
			return fmt.Errorf("%w: %s: %s: %s", ErrQMP, command, resp.Error.Class, resp.Error.Desc)
		default:
			if out != nil && len(resp.Return) > 0 {
				if err := json.Unmarshal(resp.Return, out); err != nil {
					return fmt.Errorf("qmp: %s: decoding the answer: %w", command, err)
				}
			}
			return nil
		}
	}
}

// Parameters are the migration parameters cemon sets.
type Parameters struct {
	// MaxBandwidth caps the pre-copy transfer rate in bytes per second (QEMU's
	// max-bandwidth); 0 leaves it as it is. QEMU does not apply it to the final
	// stop-and-copy, so limit the link too for a realistic downtime.
	MaxBandwidth int64
	// DowntimeLimit is how long the final stop-and-copy may take; 0 leaves it.
	DowntimeLimit time.Duration
}

// SetParameters sets the migration parameters.
func (c *Client) SetParameters(ctx context.Context, p Parameters) error {
	args := map[string]any{}
	if p.MaxBandwidth > 0 {
		args["max-bandwidth"] = p.MaxBandwidth
	}
	if p.DowntimeLimit > 0 {
		args["downtime-limit"] = p.DowntimeLimit.Milliseconds()
	}
	if len(args) == 0 {
		return nil
	}
	return c.Execute(ctx, "migrate-set-parameters", args, nil)
}

// RAM is query-migrate's ram section.
type RAM struct {
	Transferred    int64   `json:"transferred"`
	Remaining      int64   `json:"remaining"`
	Total          int64   `json:"total"`
	Duplicate      int64   `json:"duplicate"` // zero pages
	Normal         int64   `json:"normal"`
	NormalBytes    int64   `json:"normal-bytes"`
	DirtyPagesRate int64   `json:"dirty-pages-rate"`
	Mbps           float64 `json:"mbps"`
	DirtySyncCount int64   `json:"dirty-sync-count"`
	PageSize       int64   `json:"page-size"`
	PrecopyBytes   int64   `json:"precopy-bytes"`
	DowntimeBytes  int64   `json:"downtime-bytes"`
}

// Info is what query-migrate reports.
type Info struct {
	Status           string `json:"status"` // setup, active, device, completed, failed, cancelled, ...
	TotalTimeMs      int64  `json:"total-time"`
	ExpectedDowntime int64  `json:"expected-downtime"`
	DowntimeMs       int64  `json:"downtime"`
	SetupTimeMs      int64  `json:"setup-time"`
	RAM              *RAM   `json:"ram"`
	ErrorDesc        string `json:"error-desc"`
}

// Done reports whether the migration has ended, one way or another.
func (i Info) Done() bool {
	switch i.Status {
	case "completed", "failed", "cancelled":
		return true
	}
	return false
}

// QueryMigrate returns the migration's state.
func (c *Client) QueryMigrate(ctx context.Context) (Info, error) {
	var i Info
	err := c.Execute(ctx, "query-migrate", nil, &i)
	return i, err
}

// Migrate starts migrating to uri (tcp:HOST:PORT).
func (c *Client) Migrate(ctx context.Context, uri string) error {
	return c.Execute(ctx, "migrate", map[string]any{"uri": uri}, nil)
}

// MigrateIncoming makes a QEMU started with -incoming defer listen on uri.
func (c *Client) MigrateIncoming(ctx context.Context, uri string) error {
	return c.Execute(ctx, "migrate-incoming", map[string]any{"uri": uri}, nil)
}

// Cancel cancels a migration in progress.
func (c *Client) Cancel(ctx context.Context) error { return c.Execute(ctx, "migrate_cancel", nil, nil) }

// Follow polls query-migrate every period until the migration ends, ctx ends, or
// timeout passes (then it cancels the migration and returns the last state with
// status "cancelled", and the figures of the last state read before the cancel).
// samples, if not nil, receives every state read.
func (c *Client) Follow(ctx context.Context, period, timeout time.Duration, samples func(Info)) (Info, error) {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		i, err := c.QueryMigrate(ctx)
		if err != nil {
			return i, err
		}
		if samples != nil {
			samples(i)
		}
		if i.Done() {
			return i, nil
		}
		if timeout > 0 && time.Now().After(deadline) {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Cancel(cctx); err != nil {
				return i, err
			}
			for k := 0; k < 100; k++ {
				j, err := c.QueryMigrate(cctx)
				if err != nil || j.Done() {
					if err == nil {
						if j.RAM == nil { // QEMU forgets the transfer's figures once cancelled
							j.RAM, j.TotalTimeMs = i.RAM, i.TotalTimeMs
						}
						return j, nil
					}
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			i.Status = "cancelled"
			return i, nil
		}
		select {
		case <-ctx.Done():
			return i, ctx.Err()
		case <-t.C:
		}
	}
}

// Outcome is a finished migration as cemon's model records it.
type Outcome struct {
	Completed       bool
	TotalTime       time.Duration
	Downtime        time.Duration
	TransferredByte int64 // bytes QEMU sent (what the network carried, less TCP/IP)
	Rounds          int64 // dirty-sync count: pre-copy passes
	DirtyPagesRate  int64 // pages per second, as QEMU last measured
	PageSize        int64
}

// OutcomeOf turns a final query-migrate state into an Outcome.
func OutcomeOf(i Info) Outcome {
	o := Outcome{Completed: i.Status == "completed", TotalTime: time.Duration(i.TotalTimeMs) * time.Millisecond,
		Downtime: time.Duration(i.DowntimeMs) * time.Millisecond}
	if i.RAM != nil {
		o.TransferredByte = i.RAM.Transferred
		o.Rounds = i.RAM.DirtySyncCount
		o.DirtyPagesRate = i.RAM.DirtyPagesRate
		o.PageSize = i.RAM.PageSize
	}
	return o
}

// DirtyRate is query-dirty-rate's answer.
type DirtyRate struct {
	Status      string `json:"status"` // unstarted, measuring, measured
	DirtyRateMB int64  `json:"dirty-rate"`
	CalcTime    int64  `json:"calc-time"`
	SamplePages int64  `json:"sample-pages"`
	Mode        string `json:"mode"`
}

// MeasureDirtyRate has QEMU measure the guest's dirty rate over period (whole
// seconds, at least 1) by sampling samplePagesPerGiB pages per GiB of guest
// memory (0: QEMU's default, 512) and hashing them at both ends
// (calc-dirty-rate in page-sampling mode, which needs no dirty log and so
// works under TCG). It returns QEMU's rate in MiB/s converted to MB/s.
func (c *Client) MeasureDirtyRate(ctx context.Context, period time.Duration, samplePagesPerGiB int) (float64, error) {
	secs := max(int64(period/time.Second), 1)
	args := map[string]any{"calc-time": secs}
	if samplePagesPerGiB > 0 {
		args["sample-pages"] = samplePagesPerGiB
	}
	if err := c.Execute(ctx, "calc-dirty-rate", args, nil); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(time.Duration(secs)*time.Second + 10*time.Second)
	for {
		var r DirtyRate
		if err := c.Execute(ctx, "query-dirty-rate", nil, &r); err != nil {
			return 0, err
		}
		if r.Status == "measured" {
			return float64(r.DirtyRateMB) * (1 << 20) / 1e6, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("qmp: dirty rate still %q after %v", r.Status, time.Duration(secs)*time.Second+10*time.Second)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
