package migration

import (
	"fmt"
	"math"
	"slices"
)

// Detector names a hotspot rule.
type Detector string

// Hotspot rules. Static compares the current load with a fixed threshold;
// MAD and IQR are CloudSim's adaptive thresholds over the load history,
// 1 − s·MAD and 1 − s·IQR, with the safety parameter s (2.5 and 1.5).
const (
	Static Detector = "static"
	MAD    Detector = "mad"
	IQR    Detector = "iqr"
)

// Defaults of hotspot detection.
const (
	DefaultThreshold = 0.8
	DefaultMADSafety = 2.5
	DefaultIQRSafety = 1.5
	// MinHistory is the fewest samples an adaptive rule needs; with fewer it
	// falls back to the static threshold (as CloudSim falls back to its
	// fallback policy).
	MinHistory = 10
)

// ParseDetector reads static, mad or iqr ("" is static).
func ParseDetector(s string) (Detector, error) {
	switch Detector(s) {
	case Static, MAD, IQR:
		return Detector(s), nil
	case "":
		return Static, nil
	}
	return "", fmt.Errorf("%w: unknown detector %q (want static, mad or iqr)", ErrInput, s)
}

// Median returns the median of xs (0 for none); xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianAbsDev is the median absolute deviation from the median.
func MedianAbsDev(xs []float64) float64 {
	m := Median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	return Median(dev)
}

// InterQuartile is Q3 − Q1, the quartiles by linear interpolation between
// closest ranks.
func InterQuartile(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 {
		h := p * float64(len(s)-1)
		lo := math.Floor(h)
		i := int(lo)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (h-lo)*(s[i+1]-s[i])
	}
	return q(0.75) - q(0.25)
}

// Threshold returns the utilization above which a resource is a hotspot:
// the static threshold, or 1 − s·MAD / 1 − s·IQR over history (fractions of
// capacity) when it has at least MinHistory samples. safety 0 means the
// rule's default. The result is clamped to [0, 1].
func Threshold(d Detector, static, safety float64, history []float64) float64 {
	if static <= 0 {
		static = DefaultThreshold
	}
	if len(history) < MinHistory {
		return static
	}
	switch d {
	case MAD:
		if safety <= 0 {
			safety = DefaultMADSafety
		}
		return min(max(1-safety*MedianAbsDev(history), 0), 1)
	case IQR:
		if safety <= 0 {
			safety = DefaultIQRSafety
		}
		return min(max(1-safety*InterQuartile(history), 0), 1)
	}
	return static
}
