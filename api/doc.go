// Package api serves cemon's REST interface and its Prometheus metrics.
//
// It owns the HTTP edge only: JSON views of the switches, links, hosts and flows the
// controller knows (types [Switch], [Link], [Host], [Flow]) and of the flow
// statistics (types [Polling], [FlowStats], [LinkStats], [MatrixEntry], [HostStats]),
// the error format, the health check, and the server lifecycle ([Serve],
// [ServeListener]). It holds no state of its own and does not know how the controller
// builds its views: every request asks a [Backend].
//
// Endpoints. Every one answers GET and HEAD; only /api/v1/polling also takes PUT.
// Answers are JSON except the console at / and /metrics:
//
//	/api/v1/switches           every connected switch, by dpid
//	/api/v1/links              every discovered link, one per direction
//	                           (?dpid=D keeps links touching switch D)
//	/api/v1/hosts              every located host (?dpid=D keeps hosts on switch D)
//	/api/v1/flows              active, draining and recently expired flows, by id
//	                           (?state=active|draining|expired, or a comma-separated
//	                           list such as active,draining; ?dpid=D keeps flows
//	                           whose path crosses switch D)
//	/api/v1/flows/{id}         one flow; 404 when the id is unknown
//	/healthz                   {"status":"ok"}, or 503 when the Backend reports trouble
//	/metrics                   Prometheus exposition, when NewHandler is given a
//	                           gatherer
//	/api/v1/openapi.json       the OpenAPI 3 document of every route this handler
//	                           serves, built from each route's [Op] at registration
//	/                          the operator console (HTML): live topology with link
//	                           load, the polling scheme and its cost, flows, traffic
//	                           matrix, hosts, and the placement and task views when
//	                           served
//
// When the Backend also implements [StatsBackend] (cemon run wraps its views with
// [WithStats], so it serves all of these):
//
//	/api/v1/polling            the live polling scheme, its cost and lower bound, the
//	                           last rebuild and why, and what polling has cost so far,
//	                           in all and per strategy
//	PUT /api/v1/polling        body {"strategy": NAME} switches the polling strategy
//	                           and answers with the new view, when the Backend also
//	                           implements [PollingSwitcher] (cemon run's does); an
//	                           unknown name is a 400
//	/api/v1/stats/flows        per-flow bytes, packets, rate_bps, packet_rate,
//	                           last_polled, source (?state=active|expired)
//	/api/v1/stats/flows/{id}   one flow's statistics; 404 when unknown
//	/api/v1/stats/links        each directed link's rate_bps and utilization, from
//	                           flow rates, with the port-counter rate beside it
//	/api/v1/stats/matrix       the host-to-host traffic matrix
//	/api/v1/stats/hosts        each host's sent and received traffic
//
// When the Backend also implements [LayoutProvider] (cemon run with --layout-gml,
// through [WithLayout]):
//
//	/api/v1/topology/layout    fixed switch positions for the console, by dpid
//
// When the Backend also implements [StatsBackend] ([WithStats]; [StatsOf] builds one
// from the stats.Reader the binary shares), the statistics endpoints are mounted too:
//
//	/api/v1/polling            the live polling scheme and what polling has cost
//	                           (PUT {"strategy": NAME} when the backend can switch)
//	/api/v1/stats/flows        per-flow bytes, packets, rate_bps, last_polled, source,
//	                           interval_seconds, valid_until, stale (?state=active|expired)
//	/api/v1/stats/flows/{id}   one flow's statistics; 404 when unknown
//	/api/v1/stats/links        per directed link rate_bps, utilization, capacity_bps and
//	                           capacity_source (config, port or default), port_rate_bps
//	/api/v1/stats/matrix       host-to-host rate_bps and bytes
//	/api/v1/stats/hosts        per host (IP, else MAC; mac and ip apart) sent and received
//	/api/v1/stats/ports        per port tx_bps and rx_bps from port counters
//	/api/v1/stats/snapshot     flows, links, matrix, hosts and ports of one instant
//
// In a cluster ([ClusterProvider], [WithCluster]) /api/v1/flows, /api/v1/stats/flows,
// /api/v1/stats/links, /matrix, /hosts, /ports and /snapshot answer for the whole
// network, merged from every instance's ?scope=local figures (the flow lists page by
// page), and a flow's detail comes from its owner; see federate.go. With
// [WithClusterRecords] the flow lists stay whole while an instance does not answer:
// its flows come from the cluster's record in etcd, each marked "record" (source
// cluster-record, owner, owner_alive, age_seconds; no counters), and the header
// X-Cemon-Recorded names it; see record.go.
//
// Every statistics figure carries the instant it is valid at ("at"). A flow's rate
// counts in its links, matrix cell and hosts until its valid_until, three of its own
// polling intervals after its last reading; past it the flow is "stale", its
// rate_bps 0, and the aggregates no longer hold it. A link's capacity is
// --link-capacity when given, else the slower advertised speed (OpenFlow 1.0 port
// features) of its two ports, else 1 Gbit/s.
//
// A flow is "active" while every switch on its path holds its entry, "draining" once
// some of them have removed it (idle timeouts fire switch by switch) and "expired"
// when all have; its final counters, those its ingress switch reported, appear when
// the ingress entry goes.
//
// A bad request (malformed id, unknown query parameter, bad dpid, bad PUT body) is
// answered with a 4xx status and a body {"error": "...", "status": N}; so are unknown
// paths (404) and other methods (405, with the methods the path takes in Allow).
// Request bodies are limited to 4 KiB.
//
// Optional capabilities are discovered on the Backend, and on the Backends it wraps
// ([Unwrapper]), with type assertions, so that a richer backend gains endpoints
// without changing [NewHandler]'s signature:
// [HealthChecker] drives /healthz, and further endpoints are mounted by files of this
// package that append to the unexported extensions list. [PlacementBackend] (see
// WithPlacement) adds the inventory of servers and VMs and the placement views,
// whose writes take a JSON body validated field by field.
//
// Writes (any method but GET, HEAD and OPTIONS) need "Authorization: Bearer
// TOKEN" when [Config].Token is set; without a token, [Serve] and
// [ServeListener] refuse to listen beyond loopback.
//
// Example:
//
//	h := api.NewHandler(backend, registry)
//	err := api.Serve(ctx, api.Config{Addr: "127.0.0.1:8080"}, h, logger)
package api
