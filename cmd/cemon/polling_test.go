package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/stats"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"1Gbit/s", 1e9, false},
		{"100Mbit/s", 1e8, false},
		{"10G", 1e10, false},
		{"2.5e9", 2.5e9, false},
		{"1000 kbps", 1e6, false},
		{"", 0, true},
		{"-1G", 0, true},
		{"fast", 0, true},
		{"0", 0, true},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestPollingFlags(t *testing.T) {
	tests := []struct {
		args []string
		bad  []string
	}{
		{nil, nil},
		{[]string{"-polling", "poll-all", "-poll-interval", "500ms", "-deployment", "in-band", "-link-capacity", "100Mbit/s"}, nil},
		{[]string{"--polling", "off"}, nil},
		{[]string{"-polling", "sometimes"}, []string{"Strategy"}},
		{[]string{"-poll-interval", "0s", "-deployment", "sideways", "-link-capacity", "x"}, []string{"-poll-interval", "-deployment", "-link-capacity"}},
		{[]string{"-controller-dpid", "zz"}, []string{"-controller-dpid"}},
		{[]string{"-link-capacity", ""}, nil},
		{[]string{"-read-point", "egress"}, nil},
		{[]string{"-read-point", "middle"}, []string{"-read-point"}},
		{[]string{"-stats-timeout", "12s"}, nil},
		{[]string{"-stats-timeout", "-1s"}, []string{"-stats-timeout"}},
		{[]string{"-stats-tick", "0s", "-stats-stale-after", "0", "-stats-window", "-1s"}, []string{"-stats-tick", "-stats-stale-after", "-stats-window"}},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p := addPollingFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		_, _, err := p.config()
		if len(tt.bad) == 0 && err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		for _, b := range tt.bad {
			if err == nil || !strings.Contains(err.Error(), b) {
				t.Errorf("%v: error %v does not name %s", tt.args, err, b)
			}
		}
	}
}

// TestPollingStart wires the collector to a controller that has no switches yet and
// checks the statistics endpoints are mounted and the metrics registered.
func TestPollingStart(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	p := addPollingFlags(fs)
	if err := fs.Parse([]string{"-poll-interval", "20ms"}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	ctl := controller.New(controller.Config{}, logger)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pl, err := p.start(ctx, ctl, reg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if pl.store.Config().LinkCapacityBps != 0 || pl.store.Config().Interval != 20*time.Millisecond {
		t.Errorf("store config %+v: want capacity from the ports, the polling interval", pl.store.Config())
	}
	h := api.NewHandler(api.WithStats(newBackend(ctl), pl.statsBackend()), reg)
	for _, path := range []string{"/api/v1/polling", "/api/v1/stats/flows", "/api/v1/stats/links", "/api/v1/stats/snapshot",
		"/api/v1/stats/ports", "/api/v1/switches"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "cemon_polling_rounds_total" {
			found = true
		}
	}
	if !found {
		t.Error("collector metrics not registered")
	}
	// A second start on the same registry collides.
	if _, err := p.start(ctx, ctl, reg, logger); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("second registration: %v", err)
	}
	bad := &pollingFlags{strategy: "x", interval: 1, linkCapacity: "1G", deployment: "in-band", tick: time.Second, staleAfter: 3, window: time.Minute}
	if _, err := bad.start(ctx, ctl, reg, logger); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("bad flags: %v", err)
	}
	cancel()
	select {
	case <-pl.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the collector did not stop after its context ended")
	}
}

// TestStatsTimeout: -stats-timeout is the collector's request timeout, and the
// controller lets a request wait as long; unset, the larger of the interval and 5 s.
func TestStatsTimeout(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 5 * time.Second},
		{[]string{"-poll-interval", "10s"}, 10 * time.Second},
		{[]string{"-stats-timeout", "12s"}, 12 * time.Second},
		{[]string{"-stats-timeout", "2s"}, 2 * time.Second},
	} {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p := addPollingFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		cc, _, err := p.config()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := flowtracker.New(flowtracker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := stats.New(stats.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := collector.New(cc, collector.Deps{Requester: controller.New(controller.Config{}, nil), Tracker: tr, Store: st,
			Switches: func() []uint64 { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Config().RequestTimeout; got != tt.want {
			t.Errorf("%v: collector request timeout %v, want %v", tt.args, got, tt.want)
		}
		if got := p.requestTimeout(); got != tt.want {
			t.Errorf("%v: controller request timeout %v, want %v", tt.args, got, tt.want)
		}
		c.Close()
	}
}
