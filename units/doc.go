// Package units reads the sizes and rates that cemon's flags and requests
// carry: one grammar for memory sizes, byte rates and bit rates.
//
// A value is a number (anything strconv.ParseFloat reads) followed, after
// optional spaces, by an optional unit:
//
//	prefix   k K (10^3), M m (10^6), G g (10^9), T t (10^12); with an i after
//	         it (KiB, MiB, GiB, TiB) the power of 1024 instead
//	unit     B (bytes) or b, bit, bits (bits): the case of a lone B or b decides
//	rate     /s or ps after the unit (MB/s, Mbit/s, Mbps, Bps)
//
// So 40MB/s is 4×10^7 bytes per second, 100Mbit/s and 100Mbps are 10^8 bits
// per second, 1GiB is 2^30 bytes. A prefix is read the same in any case (there
// is no milli), as are the words bit and bits and the /s.
//
// ParseSize returns bytes, ParseRate bytes per second, ParseBitRate bits per
// second; each converts between bits and bytes (8 bits a byte). A bare number,
// or a prefix without a unit (10G), is in the function's own unit, except that
// ParseRate wants a unit, since a bare number there is too easily meant as bits.
// Negative, infinite and not-a-number values are errors; zero is allowed and
// callers that need a positive value check for it.
//
// The package is pure: no I/O.
package units
