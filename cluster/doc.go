// Package cluster runs several cemon instances on one network, coordinated through
// etcd (go.etcd.io/etcd/client/v3). It is an edge package: it talks to etcd and to
// the other instances, and drives the local controller through a small interface
// (Controller; *controller.Controller is one).
//
// What it owns:
//
//   - Membership: each instance holds a lease (Config.LeaseTTL) and publishes under
//     it, at PREFIX/members/ID, its REST API and forward addresses, its range of flow
//     IDs (slot) and the switches it is connected to with its distance to each in hops
//     (Config.Hops: on one machine every control channel is loopback, so distances are
//     configured).
//   - Mastership: one instance, elected with concurrency.Election, assigns every switch
//     to the nearest instance connected to it, balanced (Assign, pure), and publishes
//     the assignment with a revision at PREFIX/masters. Every instance applies it with
//     Nicira role requests (controller.SetRole): master of its own switches, slave of
//     the others, whose tables it leaves alone and whose PACKET_INs it never gets.
//   - Writes through masters: a write for a switch this instance is a slave of (a
//     flow it routes over another master's switch, a frame it floods there) goes to
//     that switch's master over TCP (Forward), which sends it.
//   - One topology: the links into the switches an instance masters, and the hosts on
//     them, are what only it learns; it publishes them (PREFIX/topology/ID, under the
//     lease) and every instance merges the others' (controller.LearnRemote), so that
//     paths, /api/v1/links and /api/v1/hosts cover the whole network on any instance.
//   - A global polling scheme: the leader runs MCPS over every instance's active
//     flows, each switch priced by its master's hops to it, keeps it current (DAPR as
//     flows come and go, ARI rebuilds, a new assignment of masters rebuilds it), and
//     publishes it, at most every Config.SchemeInterval and only when it changed,
//     with a revision: PREFIX/scheme (header) and PREFIX/schemes/ID (each instance's
//     requests at the switches it masters), in one transaction (scheme.go). Each
//     instance polls its part (PollScheme; the collector's poll.Published), hands
//     the entries of other instances' flows its poll-alls return to their owners
//     (HandOver, over the forward connections), and polls by its own MCPS scheme
//     while no scheme is current (none yet, its leader gone, an older assignment,
//     etcd unreachable), which it says in a log line and in Status.
//   - Failover: an instance's flows (controller.SavedFlow: ID, cookie, key, path) are
//     published one key each, PREFIX/flows/ID/FLOW, without a lease, written by
//     difference in transactions of at most MaxTxnOps operations (flows.go). When
//     its lease expires, the leader moves its switches to the nearest live instances,
//     and each new master adopts the flows that start at a switch it now masters
//     (controller.AdoptFlows): their entries stay on the switches and their counters
//     go on; an adopted flow keeps its ID, and the adopter goes on issuing IDs from
//     its own slot. Once the adopter tracks a flow (adoption waits for the
//     switches' tables) it moves the flow's record under its own key in one
//     transaction; a record a new flow with the same key superseded is deleted.
//     Until then FlowRecords reads a silent or departed instance's flows, for the
//     federated flow lists of the REST API. The leader deletes a departed
//     instance's remaining flows after Config.ForgetAfter. An instance that joins again reserves the IDs of its slot
//     that any instance's published flows hold.
//   - etcd unreachable: an instance keeps the roles it holds (it serves its switches
//     alone) and joins again, with a new lease, when etcd answers; a newly elected
//     leader waits one lease for the members of the current assignment to come back
//     before moving their switches.
//
// It does not own: the switches' connections, routing and tracking (package
// controller), the polling itself (package collector, with the part of the global
// scheme PollScheme gives, or its own scheme with the costs weighted by
// Config.Hops), nor the REST API (api.WithCluster serves Status at
// /api/v1/cluster).
//
//	n, err := cluster.New(cluster.Config{Endpoints: []string{"http://127.0.0.1:2379"},
//		ID: "a", Hops: map[uint64]int{1: 1, 2: 3}}, ctl, logger)
//	if err != nil { ... }
//	go n.Run(ctx) // until ctx ends
//
// Package etcdtest starts an etcd cluster inside a test process for the tests.
package cluster
