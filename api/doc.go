// Package api serves cemon's read-only REST interface and its Prometheus metrics.
//
// It owns the HTTP edge only: JSON views of the switches, links, hosts and flows the
// controller knows (types [Switch], [Link], [Host], [Flow]), the error format, the
// health check, and the server lifecycle ([Serve]). It holds no state of its own and
// does not know how the controller builds its views: every request asks a [Backend].
//
// Endpoints (GET and HEAD only; every answer is JSON):
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
//	/metrics                   Prometheus exposition, when a gatherer is given
//	/api/v1/openapi.json       the OpenAPI 3 document of every route this handler
//	                           serves, built from each route's [Op] at registration
//	/                          the operator console: live topology with link load,
//	                           the polling scheme and its cost, flows, traffic matrix,
//	                           hosts, and the placement and task views when served
//
// A flow is "active" while every switch on its path holds its entry, "draining" once
// some of them have removed it (idle timeouts fire switch by switch) and "expired"
// when all have; its final counters, those its ingress switch reported, appear when
// the ingress entry goes.
//
// A bad request (malformed id, unknown query parameter, bad dpid) is answered with a
// 4xx status and a body {"error": "...", "status": N}; so are unknown paths (404) and
// other methods (405).
//
// Optional capabilities are discovered on the Backend with type assertions, so that
// a richer backend gains endpoints without changing [NewHandler]'s signature:
// [HealthChecker] drives /healthz, and further endpoints are mounted by files of this
// package that append to the unexported extensions list.
//
// Example:
//
//	h := api.NewHandler(backend, registry)
//	err := api.Serve(ctx, api.Config{Addr: "127.0.0.1:8080"}, h, logger)
package api
