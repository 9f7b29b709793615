package api

import (
	"maps"
	"net/http"
)

// Point is a switch's position in the console's drawing, in any unit: the console
// scales the points to fit. For a Topology Zoo network, X is the longitude and Y the
// latitude.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// LayoutProvider is an optional Backend capability: fixed positions of switches by
// dpid, served at /api/v1/topology/layout; the console uses them instead of laying
// the network out itself when every switch it draws has one.
type LayoutProvider interface {
	Layout() map[string]Point
}

// Unwrapper is implemented by a Backend that wraps another (WithStats, WithLayout):
// optional capabilities are looked up along the chain of wrapped Backends, so that
// wrapping a Backend never hides what it offers.
type Unwrapper interface {
	Unwrap() Backend
}

// capability returns the first Backend along b's wrapping chain that implements T.
func capability[T any](b Backend) (T, bool) {
	for b != nil {
		if c, ok := b.(T); ok {
			return c, true
		}
		u, ok := b.(Unwrapper)
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	var zero T
	return zero, false
}

// WithLayout returns a Backend that serves b's views and capabilities plus the switch
// positions in layout (by dpid, 16 lower-case hex digits).
func WithLayout(b Backend, layout map[string]Point) Backend {
	if b == nil {
		b = noBackend{}
	}
	return layoutBackend{Backend: b, layout: maps.Clone(layout)}
}

type layoutBackend struct {
	Backend
	layout map[string]Point
}

func (l layoutBackend) Layout() map[string]Point { return maps.Clone(l.layout) }
func (l layoutBackend) Unwrap() Backend          { return l.Backend }

func init() { extensions = append(extensions, mountLayout) }

func mountLayout(r *routes, b Backend) {
	lp, ok := capability[LayoutProvider](b)
	if !ok {
		return
	}
	r.get("/api/v1/topology/layout", Op{Summary: "fixed switch positions for the console, by dpid",
		Response: map[string]Point{}}, func(w http.ResponseWriter, _ *http.Request) {
		l := lp.Layout()
		if l == nil {
			l = map[string]Point{}
		}
		writeJSON(w, http.StatusOK, l)
	})
}
