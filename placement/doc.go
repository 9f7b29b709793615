// Package placement decides where VMs run, from an inventory of servers and
// VMs and from the traffic cemon measures between them.
//
// It is pure: it reads no clock, file or socket. Counters arrive through
// stats.Reader (FromReader turns a Reader's hosts and traffic matrix into the
// inventory's traffic); the inventory is kept by package store.
package placement
