package api

import (
	"net/http"
	"time"
)

// ClusterMember is one live instance of a cemon cluster.
type ClusterMember struct {
	ID       string         `json:"id"`
	API      string         `json:"api,omitempty"` // its REST API address
	Switches map[string]int `json:"switches"`      // connected switches (dpid) and their distance in hops
	Flows    int            `json:"flows"`         // active flows it owns
	Joined   time.Time      `json:"joined"`
}

// ClusterStatus is one instance's view of the cluster it belongs to.
type ClusterStatus struct {
	ID        string            `json:"id"`        // this instance
	Connected bool              `json:"connected"` // it holds a live lease in etcd
	Leader    string            `json:"leader"`    // the instance that assigns masters and computes the scheme
	IsLeader  bool              `json:"is_leader"`
	Members   []ClusterMember   `json:"members"`
	Masters   map[string]string `json:"masters"`  // switch (dpid) -> its master
	Revision  int64             `json:"revision"` // of the published assignment
	Mastered  []string          `json:"mastered"` // switches this instance is master of, as granted
	Adopted   int               `json:"adopted"`  // flows of departed instances handed to this one
	LastError string            `json:"last_error,omitempty"`
	Since     time.Time         `json:"since"` // start of the current lease
	// Polling is what this instance polls by: "global" (its part of the leader's
	// scheme of revision SchemeRevision) or "local" (its own MCPS scheme over its own
	// flows, while no global scheme is current, for the reason SchemeWhy).
	// PublishedScheme is the revision of the last global scheme published.
	Polling         string `json:"polling"`
	SchemeRevision  int64  `json:"scheme_revision"`
	SchemeWhy       string `json:"scheme_why,omitempty"`
	PublishedScheme int64  `json:"published_scheme"`
	SchemeCost      int64  `json:"scheme_cost"` // bytes a round of the published scheme, by the cost model
}

// ClusterProvider is an optional Backend capability: the instance runs in a cluster
// (cemon run --cluster-endpoints), and GET /api/v1/cluster describes it.
type ClusterProvider interface {
	ClusterStatus() ClusterStatus
}

// WithCluster returns a Backend that serves b's views and capabilities plus the
// cluster status c gives.
func WithCluster(b Backend, c func() ClusterStatus) Backend {
	if b == nil {
		b = noBackend{}
	}
	return clusterBackend{Backend: b, status: c}
}

type clusterBackend struct {
	Backend
	status func() ClusterStatus
}

func (c clusterBackend) ClusterStatus() ClusterStatus { return c.status() }
func (c clusterBackend) Unwrap() Backend              { return c.Backend }

func init() { extensions = append(extensions, mountCluster) }

func mountCluster(r *routes, b Backend) {
	cp, ok := capability[ClusterProvider](b)
	if !ok {
		return
	}
	r.get("/api/v1/cluster", Op{Summary: "the cluster this instance belongs to: instances, switch masters, the assignment's revision",
		Response: ClusterStatus{}}, func(w http.ResponseWriter, _ *http.Request) {
		st := cp.ClusterStatus()
		if st.Members == nil {
			st.Members = []ClusterMember{}
		}
		if st.Masters == nil {
			st.Masters = map[string]string{}
		}
		if st.Mastered == nil {
			st.Mastered = []string{}
		}
		writeJSON(w, http.StatusOK, st)
	})
}
