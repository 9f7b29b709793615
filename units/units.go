package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSyntax is what every parse error wraps.
var ErrSyntax = errors.New("units: bad value")

// unit is what a value's suffix said about what it counts.
type unit int

const (
	unitNone unit = iota // no B or b: the caller's own unit
	unitBytes
	unitBits
)

// quantity is a parsed value in its stated unit (bytes or bits, or none),
// with the prefix already applied.
type quantity struct {
	value float64
	unit  unit
	rate  bool
}

// parse splits s into number and suffix and reads the suffix.
func parse(s string) (quantity, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return quantity{}, fmt.Errorf("%w: empty", ErrSyntax)
	}
	// The number ends where the suffix starts: the first letter that cannot be
	// part of a float (e, E, inf, nan and hex forms are not accepted as units).
	end := numberEnd(t)
	num, suf := t[:end], strings.TrimSpace(t[end:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return quantity{}, fmt.Errorf("%w: %q: no number", ErrSyntax, s)
	}
	if v < 0 {
		return quantity{}, fmt.Errorf("%w: %q: negative", ErrSyntax, s)
	}
	q := quantity{value: v}
	rest := suf
	// Rate suffix.
	switch {
	case strings.HasSuffix(strings.ToLower(rest), "/s"):
		q.rate, rest = true, rest[:len(rest)-2]
	case strings.HasSuffix(strings.ToLower(rest), "ps") && len(rest) > 2:
		// bps, Bps, Mbps, kBps; a lone "ps" is not a unit.
		q.rate, rest = true, rest[:len(rest)-2]
	}
	// Unit.
	lower := strings.ToLower(rest)
	switch {
	case strings.HasSuffix(lower, "bits"):
		q.unit, rest = unitBits, rest[:len(rest)-4]
	case strings.HasSuffix(lower, "bit"):
		q.unit, rest = unitBits, rest[:len(rest)-3]
	case strings.HasSuffix(rest, "B"):
		q.unit, rest = unitBytes, rest[:len(rest)-1]
	case strings.HasSuffix(rest, "b"):
		q.unit, rest = unitBits, rest[:len(rest)-1]
	}
	if q.rate && q.unit == unitNone {
		return quantity{}, fmt.Errorf("%w: %q: a rate needs B or bit before /s", ErrSyntax, s)
	}
	// Prefix.
	mult := 1.0
	if rest != "" {
		binary := false
		if len(rest) == 2 && (rest[1] == 'i' || rest[1] == 'I') {
			binary, rest = true, rest[:1]
		}
		if len(rest) != 1 {
			return quantity{}, fmt.Errorf("%w: %q: unknown unit %q", ErrSyntax, s, suf)
		}
		pow := 0
		switch rest[0] {
		case 'k', 'K':
			pow = 1
		case 'm', 'M':
			pow = 2
		case 'g', 'G':
			pow = 3
		case 't', 'T':
			pow = 4
		default:
			return quantity{}, fmt.Errorf("%w: %q: unknown unit %q", ErrSyntax, s, suf)
		}
		base := 1000.0
		if binary {
			base = 1024
		}
		mult = math.Pow(base, float64(pow))
	}
	q.value = v * mult
	if math.IsInf(q.value, 0) {
		return quantity{}, fmt.Errorf("%w: %q: too large", ErrSyntax, s)
	}
	return q, nil
}

// numberEnd returns the length of the longest prefix of t that looks like a
// decimal float: digits, one dot, an exponent, a leading sign.
func numberEnd(t string) int {
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	// An exponent only when digits follow, so that 1e9 is a number but 1E is not.
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		k := j
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

// ParseSize reads a size such as 800MB, 1GiB, 4096 or 8Gbit and returns
// bytes. A bare number is bytes.
func ParseSize(s string) (float64, error) {
	q, err := parse(s)
	if err != nil {
		return 0, err
	}
	if q.rate {
		return 0, fmt.Errorf("%w: %q: a rate where a size is wanted", ErrSyntax, s)
	}
	if q.unit == unitBits {
		return q.value / 8, nil
	}
	return q.value, nil
}

// ParseRate reads a rate such as 40MB/s, 1GiB/s, 100Mbit/s or 1Gbps and
// returns bytes per second. The value needs a unit with /s or ps.
func ParseRate(s string) (float64, error) {
	q, err := parse(s)
	if err != nil {
		return 0, err
	}
	if !q.rate {
		return 0, fmt.Errorf("%w: %q: want a rate such as 40MB/s or 100Mbit/s", ErrSyntax, s)
	}
	if q.unit == unitBits {
		return q.value / 8, nil
	}
	return q.value, nil
}

// ParseBitRate reads a rate such as 1Gbit/s, 100Mbps, 10G, 2.5e9 or 40MB/s
// and returns bits per second. A bare number, or a prefix alone (10G), is
// bits per second; the size of a byte unit without /s (100MB) is not a rate
// and is an error.
func ParseBitRate(s string) (float64, error) {
	q, err := parse(s)
	if err != nil {
		return 0, err
	}
	switch {
	case q.unit == unitBytes && q.rate:
		return q.value * 8, nil
	case q.unit == unitNone || q.rate:
		return q.value, nil
	case q.unit == unitBits:
		// 100Mbit without /s: a bit rate flag's unit is understood.
		return q.value, nil
	}
	return 0, fmt.Errorf("%w: %q: want a rate such as 1Gbit/s or 40MB/s", ErrSyntax, s)
}
