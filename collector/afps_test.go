package collector

import (
	"context"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/afps"
)

// TestAFPSStrategy: strategy afps reads every flow at its own pace. With SWT every flow
// is read at 1 s, its interval then doubles, so the round at 2 s sends nothing and the
// one at 3 s reads every flow again; the requests are accounted under "afps".
func TestAFPSStrategy(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyAFPS, Sampler: afps.Config{Kind: afps.SWT}})
	e.loadLine(t)
	sent := 0
	for round, want := range []bool{true, false, true} {
		for i, h := range e.flows {
			e.net.count(h.Cookie, uint64(1000*(i+1)*(round+1)), uint64(i+1), 1)
		}
		e.now = t0.Add(time.Duration(round+1) * time.Second)
		before := len(e.net.requests())
		res := e.c.Round(context.Background())
		n := len(e.net.requests()) - before
		sent += n
		if want && (res.Readings < len(e.flows) || n == 0) {
			t.Errorf("round %d: %+v, %d requests; want every flow read", round, res, n)
		}
		if !want && n != 0 {
			t.Errorf("round %d: %d requests, want none (intervals doubled)", round, n)
		}
	}
	for i, h := range e.flows {
		f, ok := e.store.Flow(h.ID)
		if !ok || f.Bytes != uint64(6000*(i+1)) { // count adds: 1+2+3 rounds
			t.Errorf("flow %d: %+v", i, f)
		}
	}
	if u := e.c.Total(StrategyAFPS.String()); u.Requests != uint64(sent) || sent == 0 {
		t.Errorf("accounted %d requests under afps, sent %d", u.Requests, sent)
	}
	if err := e.c.SetStrategy(StrategyMCPS); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SetStrategy(StrategyAFPS); err != nil {
		t.Fatal(err)
	}
}

func TestAFPSBadSampler(t *testing.T) {
	if err := (Config{Strategy: StrategyAFPS, Sampler: afps.Config{Min: -1}}).Validate(); err == nil {
		t.Error("a bad sampler config was accepted")
	}
}

func TestSetSampler(t *testing.T) {
	e := newEnv(t, Config{})
	e.loadLine(t)
	if err := e.c.SetSampler(StrategyAFPS, afps.Config{Kind: afps.PayLess}); err != nil {
		t.Fatal(err)
	}
	if e.c.Strategy() != StrategyAFPS || e.c.Config().Sampler.Kind != afps.PayLess {
		t.Fatalf("strategy %v sampler %v", e.c.Strategy(), e.c.Config().Sampler.Kind)
	}
	// PayLess starts at 250 ms: the first round a quarter second in reads every flow.
	e.now = t0.Add(250 * time.Millisecond)
	if res := e.c.Round(context.Background()); res.Readings < len(e.flows) {
		t.Errorf("round = %+v", res)
	}
	if err := e.c.SetSampler(StrategyAFPS, afps.Config{Kind: afps.SWT}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SetSampler(StrategyAFPS, afps.Config{Min: -1}); err == nil {
		t.Error("bad sampler accepted")
	}
}
