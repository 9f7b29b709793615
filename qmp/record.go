package qmp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/migration"
)

// Rounds follows the states query-migrate reports during a migration and cuts
// them into pre-copy rounds: a round ends when QEMU's dirty-sync count grows
// (QEMU synchronises the dirty bitmap at the start of every pass over memory).
// The zero value is ready to use; feed it every state read (Follow's samples).
type Rounds struct {
	started   bool
	start     time.Time
	sync      int64
	sentStart int64
	last      Info
	lastAt    time.Time
	done      []span
	pause     Pause
}

// Pause is when a migrated guest stopped at the source (QEMU's STOP event) and
// ran again at the destination (its RESUME event), by QEMU's own timestamps
// (both QEMUs read the same host clock when they run on one machine).
type Pause struct {
	Stopped, Resumed time.Time
}

// Duration is how long the guest ran nowhere: from its stop at the source to
// its resume at the destination; 0 when either is unknown. QEMU's own
// downtime (query-migrate's) ends when the source has written its last byte
// into the socket, so it leaves out what the socket and the network still
// held then, and how long the destination took to load it and resume.
func (p Pause) Duration() time.Duration {
	if p.Stopped.IsZero() || p.Resumed.IsZero() || p.Resumed.Before(p.Stopped) {
		return 0
	}
	return p.Resumed.Sub(p.Stopped)
}

// Pause returns the guest's pause as Move.Run saw it (the zero Pause when the
// migration did not complete or the events were not seen).
func (r *Rounds) Pause() Pause {
	if r == nil {
		return Pause{}
	}
	return r.pause
}

// span is one finished round as measured: how long it took and what it sent.
type span struct {
	dur  time.Duration
	sent int64
}

// Observe takes one state read at time at.
func (r *Rounds) Observe(at time.Time, i Info) {
	if i.RAM == nil {
		return
	}
	if !r.started {
		r.started, r.start, r.sync, r.sentStart = true, at, i.RAM.DirtySyncCount, 0
	}
	if i.RAM.DirtySyncCount > r.sync && i.Status == "active" {
		r.done = append(r.done, span{dur: at.Sub(r.start), sent: i.RAM.Transferred - r.sentStart})
		r.start, r.sync, r.sentStart = at, i.RAM.DirtySyncCount, i.RAM.Transferred
	}
	r.last, r.lastAt = i, at
}

// Trace returns the rounds of a migration whose final state is final, in the
// model's terms (package migration): each pre-copy round's duration and the
// memory it sent; the memory dirtied during it at dirtyMBs (the rate measured
// before the move); and, for every round after the first, the memory dirtied in
// the round before that it did not send (W_i, never negative). A completed
// migration's last round is the stop-and-copy: what was sent after the last
// pre-copy round, over the downtime; when QEMU reports its downtime bytes, the
// stop-and-copy is those, and what was sent before them since the last round
// seen is one more pre-copy round.
func (r *Rounds) Trace(final Info, dirtyMBs float64) []migration.Round {
	if !r.started || final.RAM == nil {
		return nil
	}
	spans := append([]span(nil), r.done...)
	rest := final.RAM.Transferred - r.sentStart
	if final.Status == "completed" {
		d := time.Duration(final.DowntimeMs) * time.Millisecond
		if rest < 0 {
			rest = 0
		}
		if db := final.RAM.DowntimeBytes; db > 0 && db <= rest {
			// QEMU counts what it sent while the guest was stopped: the rest
			// before that is pre-copy that the samples did not see end (the
			// last passes can be shorter than the sampling period), one more
			// round over the time left.
			if pre := rest - db; pre > 0 {
				var seen time.Duration
				for _, s := range spans {
					seen += s.dur
				}
				left := max(time.Duration(final.TotalTimeMs)*time.Millisecond-d-seen, 0)
				spans = append(spans, span{dur: left, sent: pre})
			}
			rest = db
		}
		spans = append(spans, span{dur: d, sent: rest})
	}
	out := make([]migration.Round, len(spans))
	for k, s := range spans {
		t := s.dur.Seconds()
		out[k] = migration.Round{DurationS: t, SentMB: float64(max(s.sent, 0)) / 1e6}
		if k < len(spans)-1 || final.Status != "completed" {
			out[k].DirtyMB = dirtyMBs * t
		}
		if k > 0 {
			out[k].SkippedMB = max(out[k-1].DirtyMB-out[k].SentMB, 0)
		}
	}
	return out
}

// Record turns a finished migration into what cemon's model records (and POST
// /api/v1/migration/records accepts): the model's input as it was given (memory,
// dirty rate measured before the move, transfer rate), and what QEMU measured:
// total time, downtime, bytes transferred, and the rounds. When in.DirtyMBs is
// zero the dirty rate is QEMU's own last measurement (dirty pages per second).
// A migration that did not complete keeps the time and traffic it had when it
// was cancelled, and no downtime.
func Record(vm string, final Info, rounds []migration.Round, in migration.Input) migration.Record {
	o := OutcomeOf(final)
	d := in.DirtyMBs
	if d == 0 && o.DirtyPagesRate > 0 {
		ps := o.PageSize
		if ps <= 0 {
			ps = migration.PageBytes
		}
		d = float64(o.DirtyPagesRate*ps) / 1e6
	}
	rec := migration.Record{VM: vm, Profile: "qemu", RAMMB: in.MemMB, DirtyMBs: d, RateMBs: in.RateMBs,
		TotalTimeS: o.TotalTime.Seconds(), TrafficMB: float64(o.TransferredByte) / 1e6, Rounds: rounds}
	if o.Completed {
		rec.DowntimeS = o.Downtime.Seconds()
	}
	return rec
}

// Move is one migration to carry out: from the guest whose QMP socket is Source
// to the guest waiting (started with -incoming defer) behind Dest, over URI
// (tcp:IP:PORT, where the destination listens).
type Move struct {
	Source, Dest string
	URI          string
	Params       Parameters
	// Period is how often query-migrate is read (0: 200 ms); Timeout, when
	// positive, cancels the migration once it has run that long.
	Period, Timeout time.Duration
	// Samples, if not nil, receives every state read with the time it was read.
	Samples func(time.Time, Info)
}

// Run carries out the move: it makes the destination listen, sets the source's
// parameters, migrates, and follows the migration until it ends. It returns the
// final state and the rounds seen.
func (m Move) Run(ctx context.Context) (Info, *Rounds, error) {
	if m.Source == "" || m.Dest == "" || m.URI == "" {
		return Info{}, nil, errors.New("qmp: a move needs a source socket, a destination socket and a URI")
	}
	period := m.Period
	if period <= 0 {
		period = 200 * time.Millisecond
	}
	dc, err := Dial(ctx, m.Dest)
	if err != nil {
		return Info{}, nil, fmt.Errorf("destination: %w", err)
	}
	defer dc.Close()
	if err := dc.MigrateIncoming(ctx, m.URI); err != nil {
		return Info{}, nil, fmt.Errorf("destination: %w", err)
	}
	sc, err := Dial(ctx, m.Source)
	if err != nil {
		return Info{}, nil, fmt.Errorf("source: %w", err)
	}
	defer sc.Close()
	if err := sc.SetParameters(ctx, m.Params); err != nil {
		return Info{}, nil, fmt.Errorf("source: %w", err)
	}
	if err := sc.Migrate(ctx, m.URI); err != nil {
		return Info{}, nil, fmt.Errorf("source: %w", err)
	}
	rounds := &Rounds{}
	final, err := sc.Follow(ctx, period, m.Timeout, func(i Info) {
		now := time.Now()
		rounds.Observe(now, i)
		if m.Samples != nil {
			m.Samples(now, i)
		}
	})
	if err == nil && final.Status == "completed" {
		rounds.pause = pauseOf(ctx, sc, dc)
	}
	return final, rounds, err
}

// pauseOf finds the source's last STOP event and the destination's first
// RESUME event after it, asking the destination's state (which also reads
// the events QEMU has written) for up to pauseWait until it runs, or until
// it says it has finished its incoming migration and stays paused.
func pauseOf(ctx context.Context, sc, dc *Client) Pause {
	var p Pause
	_ = sc.Execute(ctx, "query-status", nil, nil) // reads any event still unread
	for _, e := range sc.Events() {
		if e.Name == "STOP" {
			p.Stopped = e.At
		}
	}
	if p.Stopped.IsZero() {
		return Pause{}
	}
	deadline := time.Now().Add(pauseWait)
	for {
		var st struct {
			Status  string `json:"status"`
			Running bool   `json:"running"`
		}
		err := dc.Execute(ctx, "query-status", nil, &st)
		for _, e := range dc.Events() {
			if e.Name == "RESUME" && !e.At.Before(p.Stopped) && p.Resumed.IsZero() {
				p.Resumed = e.At
			}
		}
		// A destination that has taken the whole stream and stays paused
		// (started with -S) will not resume on its own: no pause to wait for.
		done := err != nil || (st.Status != "" && st.Status != "inmigrate" && !st.Running)
		if !p.Resumed.IsZero() || done || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return Pause{Stopped: p.Stopped}
		case <-time.After(20 * time.Millisecond):
		}
	}
	return p
}

// pauseWait bounds how long Move.Run waits for the destination to resume.
const pauseWait = 10 * time.Second
