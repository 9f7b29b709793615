package main

import (
	"flag"
	"time"

	"github.com/cemon-sdn/cemon/controller"
)

// tableFlags set how cemon watches the switches' flow tables and when it falls back
// to host-pair entries.
type tableFlags struct {
	interval  time.Duration
	high, low float64
	hold      time.Duration
}

func addTableFlags(fs *flag.FlagSet) *tableFlags {
	t := &tableFlags{}
	fs.DurationVar(&t.interval, "table-interval", controller.DefaultTableInterval,
		"spacing of the table statistics requests that keep each switch's flow table occupancy (a refused FLOW_MOD asks at once)")
	fs.Float64Var(&t.high, "table-high", controller.DefaultTableHigh,
		"table fill (fraction of its limit) from which new flows through the switch get host-pair entries")
	fs.Float64Var(&t.low, "table-low", controller.DefaultTableLow, "table fill below which new flows get exact entries again")
	fs.DurationVar(&t.hold, "fallback-hold", controller.DefaultFallbackHold,
		"hard timeout of host-pair entries (whole seconds): the host pair's traffic is routed afresh after it")
	return t
}

// apply sets the controller's table settings; Config.Validate checks them.
func (t *tableFlags) apply(cfg *controller.Config) {
	cfg.TableInterval, cfg.TableHigh, cfg.TableLow, cfg.FallbackHold = t.interval, t.high, t.low, t.hold
}
