package main

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/controller"
)

// TestTableFlags: the table flags reach the controller's Config, and bad values
// fail its validation with the field named.
func TestTableFlags(t *testing.T) {
	parse := func(args ...string) controller.Config {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		tf := addTableFlags(fs)
		require.NoError(t, fs.Parse(args))
		var cfg controller.Config
		tf.apply(&cfg)
		return cfg
	}
	cfg := parse("-table-interval", "5s", "-table-high", "0.9", "-table-low", "0.5", "-fallback-hold", "30s")
	assert.Equal(t, 5*time.Second, cfg.TableInterval)
	assert.Equal(t, 0.9, cfg.TableHigh)
	assert.Equal(t, 0.5, cfg.TableLow)
	assert.Equal(t, 30*time.Second, cfg.FallbackHold)
	require.NoError(t, cfg.Validate())
	require.NoError(t, parse().Validate())

	err := parse("-table-high", "0.5", "-table-low", "0.7", "-fallback-hold", "1500ms").Validate()
	require.True(t, errors.Is(err, controller.ErrConfig))
	assert.ErrorContains(t, err, "TableLow")
	assert.ErrorContains(t, err, "FallbackHold")
	assert.ErrorContains(t, parse("-table-high", "1.5").Validate(), "TableHigh")
	assert.ErrorContains(t, parse("-table-interval", "-1s").Validate(), "TableInterval")
}
