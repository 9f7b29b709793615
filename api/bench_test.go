package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func benchBackend(nflows int) *fakeBackend {
	b := &fakeBackend{}
	for i := range nflows {
		b.flows = append(b.flows, Flow{
			ID: uint64(nflows - i), Cookie: FormatCookie(uint64(nflows - i)), State: StateActive, Start: t0.Add(time.Duration(i)),
			Match: Match{DlSrc: "00:00:00:00:00:01", DlDst: "00:00:00:00:00:02", DlType: 0x0800, NwProto: 6,
				NwSrc: "10.0.0.1", NwDst: "10.0.0.2", TpSrc: uint16(i), TpDst: 5201},
			Path: []string{"0000000000000001", "0000000000000002", "0000000000000003"},
			Entries: []FlowEntry{{DPID: "0000000000000001", InPort: 1, OutPort: 2},
				{DPID: "0000000000000002", InPort: 2, OutPort: 3}, {DPID: "0000000000000003", InPort: 2, OutPort: 1}},
		})
	}
	return b
}

// BenchmarkFlows measures GET /api/v1/flows (sorting and encoding) by flow count.
func BenchmarkFlows(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			h := NewHandler(benchBackend(n), nil)
			req := httptest.NewRequest(http.MethodGet, "/api/v1/flows", nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// BenchmarkFlowByID measures GET /api/v1/flows/{id} against a fake's linear lookup.
func BenchmarkFlowByID(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			h := NewHandler(benchBackend(n), nil)
			req := httptest.NewRequest(http.MethodGet, "/api/v1/flows/1", nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
