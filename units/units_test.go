package units

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"800MB", 800e6, false},
		{"800 MB", 800e6, false},
		{"1GiB", 1 << 30, false},
		{"2KiB", 2048, false},
		{"512MiB", 512 << 20, false},
		{"1kB", 1000, false},
		{"1KB", 1000, false},
		{"4096", 4096, false},
		{"4096B", 4096, false},
		{"8Gbit", 1e9, false},
		{"8Gb", 1e9, false},
		{"1.5GB", 1.5e9, false},
		{"1e3MB", 1e9, false},
		{"0", 0, false},
		{"", 0, true},
		{"MB", 0, true},
		{"-1MB", 0, true},
		{"40MB/s", 0, true},
		{"1XB", 0, true},
		{"1 MBB", 0, true},
		{"NaN", 0, true},
		{"inf", 0, true},
		{"1e400", 0, true},
		{"1e308TB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			assert.True(t, errors.Is(err, ErrSyntax), tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.InDelta(t, tt.want, got, 1e-6*tt.want, tt.in)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // bytes per second
		err  bool
	}{
		{"40MB/s", 4e7, false},
		{"100MB/s", 1e8, false},
		{"1GiB/s", 1 << 30, false},
		{"100Mbit/s", 12.5e6, false},
		{"100Mbps", 12.5e6, false},
		{"100mbit/S", 12.5e6, false},
		{"1Gbit/s", 125e6, false},
		{"800kbit/s", 1e5, false},
		{"10bit/s", 1.25, false},
		{"5 MBps", 5e6, false},
		{"0MB/s", 0, false},
		{"100", 0, true},
		{"100MB", 0, true},
		{"10G", 0, true},
		{"fast", 0, true},
		{"/s", 0, true},
		{"1ps", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			assert.ErrorIs(t, err, ErrSyntax, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.InDelta(t, tt.want, got, 1e-9*max(tt.want, 1), tt.in)
	}
}

func TestParseBitRate(t *testing.T) {
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
		{"1000000", 1e6, false},
		{"40MB/s", 3.2e8, false},
		{"1Tbps", 1e12, false},
		{"100MB", 0, true},
		{"-1G", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseBitRate(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.InDelta(t, tt.want, got, 1e-9*tt.want, tt.in)
	}
}

// legacyParseRate is the bit-rate parser cemon run's -link-capacity used before
// this package, kept here as the reference that ParseBitRate must still accept.
func legacyParseRate(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, suf := range []string{"bit/s", "bps", "b/s"} {
		t = strings.TrimSuffix(t, suf)
	}
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1e3, t[:n-1]
		case 'm':
			mult, t = 1e6, t[:n-1]
		case 'g':
			mult, t = 1e9, t[:n-1]
		case 't':
			mult, t = 1e12, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errors.New("bad")
	}
	return v * mult, nil
}

// TestParseBitRateAcceptsLegacy builds values from the pieces the old parser knew
// and checks that every one it accepted with bit units ParseBitRate accepts with
// the same value. A B (byte) unit is left out: the old parser read MB/s as
// megabits, this package as megabytes.
func TestParseBitRateAcceptsLegacy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nums := []string{"1", "100", "2.5", "2.5e9", "1e3", "0.5", "+7", "10"}
	spaces := []string{"", " ", "  "}
	prefixes := []string{"", "k", "K", "m", "M", "g", "G", "t", "T"}
	sufs := []string{"", "bit/s", "bps", "b/s", "Bit/s", "BIT/S", "bPs"}
	for range 2000 {
		s := spaces[rng.IntN(len(spaces))] + nums[rng.IntN(len(nums))] + spaces[rng.IntN(len(spaces))] +
			prefixes[rng.IntN(len(prefixes))] + sufs[rng.IntN(len(sufs))] + spaces[rng.IntN(len(spaces))]
		want, err := legacyParseRate(s)
		if err != nil {
			continue
		}
		got, err := ParseBitRate(s)
		require.NoError(t, err, "%q", s)
		assert.InDelta(t, want, got, 1e-9*want, "%q", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"800MB", "40MB/s", "1Gbit/s", "10G", "2.5e9", "1KiB", "1000 kbps", "1e", "-0", ".", "1.e5Mi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []func(string) (float64, error){ParseSize, ParseRate, ParseBitRate} {
			v, err := p(s)
			if err != nil {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("%q: error %v does not wrap ErrSyntax", s, err)
				}
				continue
			}
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q: value %v", s, v)
			}
		}
	})
}
