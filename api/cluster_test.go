package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClusterEndpoint(t *testing.T) {
	st := ClusterStatus{ID: "b", Connected: true, Leader: "a", Revision: 3,
		Members: []ClusterMember{{ID: "a", API: "127.0.0.1:8081", Switches: map[string]int{"0000000000000001": 1},
			Flows: 2, Joined: time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)}},
		Masters:  map[string]string{"0000000000000001": "a"},
		Mastered: []string{}}
	h := NewHandler(WithStats(WithCluster(testBackend(), func() ClusterStatus { return st }), &fakeStats{}), nil)
	code, hdr, body := do(t, h, "GET", "/api/v1/cluster")
	require.Equal(t, 200, code, body)
	assert.Contains(t, hdr.Get("Content-Type"), "application/json")
	var got ClusterStatus
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, st, got)
	code, _, body = do(t, h, "POST", "/api/v1/cluster")
	assert.Equal(t, 405, code)
	assert.Contains(t, body, `"error"`)
	code, _, body = do(t, h, "GET", "/api/v1/cluster?x=1")
	assert.Equal(t, 400, code)
	assert.Contains(t, body, `"error"`)
	// Empty lists are lists, not null.
	h = NewHandler(WithCluster(testBackend(), func() ClusterStatus { return ClusterStatus{ID: "a"} }), nil)
	_, _, body = do(t, h, "GET", "/api/v1/cluster")
	assert.Contains(t, body, `"members":[]`)
	assert.Contains(t, body, `"masters":{}`)
	// Not in a cluster: no such endpoint.
	code, _, _ = do(t, NewHandler(testBackend(), nil), "GET", "/api/v1/cluster")
	assert.Equal(t, 404, code)
	// The OpenAPI document lists it.
	_, _, doc := do(t, NewHandler(WithCluster(testBackend(), func() ClusterStatus { return st }), nil), "GET", "/api/v1/openapi.json")
	assert.Contains(t, doc, `"/api/v1/cluster"`)
}
