// Package store keeps cemon's durable state in one embedded bbolt file: the
// inventory of servers and VMs that placement plans over, and any further
// bucket another part of cemon registers (migration records, say).
//
// It is the I/O edge of packages placement and migration, which stay pure.
// Every write is one bbolt transaction; a write method returns nil only after
// the transaction has committed and bbolt has synced the file, so an
// acknowledged write survives a crash or kill -9 of the process.
//
// Values are stored as JSON under their id. Buckets are created on first use;
// a new kind of record needs only a bucket name and the generic Put, Get,
// Delete and List functions, or Update and View for several records in one
// transaction.
//
// Example:
//
//	st, err := store.Open("cemon-data")
//	...
//	defer st.Close()
//	err = st.PutServer(placement.Server{ID: "s1", DPID: "1", Port: 1, CPUCores: 32, RAMMB: 131072, NICBps: 1e10})
//	inv, err := st.Inventory()
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/placement"
)

// DefaultDir is the data directory when none is given.
const DefaultDir = "cemon-data"

// FileName is the bbolt file inside the data directory.
const FileName = "cemon.db"

// Bucket names. Other packages add theirs beside these.
const (
	BucketServers = "servers"
	BucketVMs     = "vms"
)

// Errors of the store. ErrNotFound, ErrUnknownServer and ErrServerInUse are
// the caller's mistakes (404, 400 and 409 over REST); others are I/O failures.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrUnknownServer = errors.New("store: VM on an unknown server")
	ErrServerInUse   = errors.New("store: server still hosts VMs")
	ErrBadKey        = errors.New("store: empty key or bucket name")
)

// Store is one open bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating if needed) dir/cemon.db; dir is created too. An empty
// dir means DefaultDir. A second process opening the same file waits up to
// one second for the lock and then fails.
func Open(dir string) (*Store, error) {
	if dir == "" {
		dir = DefaultDir
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{BucketServers, BucketVMs} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

// Path is the bbolt file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in one read-write transaction, committed (and synced) when fn
// returns nil. Use it to write several records atomically.
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// View runs fn in one read-only transaction: a consistent view of every bucket.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// PutTx stores v as JSON under key in bucket within tx, creating the bucket.
func PutTx[T any](tx *bolt.Tx, bucket, key string, v T) error {
	if bucket == "" || key == "" {
		return ErrBadKey
	}
	b, err := tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encoding %s/%s: %w", bucket, key, err)
	}
	return b.Put([]byte(key), data)
}

// GetTx reads key from bucket within tx; ErrNotFound when absent.
func GetTx[T any](tx *bolt.Tx, bucket, key string) (T, error) {
	var v T
	b := tx.Bucket([]byte(bucket))
	if b == nil {
		return v, ErrNotFound
	}
	data := b.Get([]byte(key))
	if data == nil {
		return v, ErrNotFound
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("store: decoding %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

// ListTx returns every value of bucket within tx, in key order.
func ListTx[T any](tx *bolt.Tx, bucket string) ([]T, error) {
	b := tx.Bucket([]byte(bucket))
	if b == nil {
		return nil, nil
	}
	var out []T
	err := b.ForEach(func(k, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("store: decoding %s/%s: %w", bucket, k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// DeleteTx removes key from bucket within tx; ErrNotFound when absent.
func DeleteTx(tx *bolt.Tx, bucket, key string) error {
	b := tx.Bucket([]byte(bucket))
	if b == nil || b.Get([]byte(key)) == nil {
		return ErrNotFound
	}
	return b.Delete([]byte(key))
}

// Put stores v as JSON under key in bucket; it returns once committed.
func Put[T any](s *Store, bucket, key string, v T) error {
	return s.db.Update(func(tx *bolt.Tx) error { return PutTx(tx, bucket, key, v) })
}

// Get reads key from bucket; ErrNotFound when absent.
func Get[T any](s *Store, bucket, key string) (T, error) {
	var v T
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = GetTx[T](tx, bucket, key)
		return err
	})
	return v, err
}

// List returns every value of bucket in key order.
func List[T any](s *Store, bucket string) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = ListTx[T](tx, bucket)
		return err
	})
	return out, err
}

// Delete removes key from bucket; ErrNotFound when absent.
func Delete(s *Store, bucket, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return DeleteTx(tx, bucket, key) })
}

// PutServer validates and stores a server, replacing one with the same id.
func (s *Store) PutServer(sv placement.Server) error {
	if err := sv.Validate(""); err != nil {
		return err
	}
	return Put(s, BucketServers, sv.ID, sv)
}

// Server returns one server; ErrNotFound when absent.
func (s *Store) Server(id string) (placement.Server, error) {
	return Get[placement.Server](s, BucketServers, id)
}

// Servers returns every server, by id.
func (s *Store) Servers() ([]placement.Server, error) {
	return List[placement.Server](s, BucketServers)
}

// DeleteServer removes a server; ErrNotFound when absent, ErrServerInUse while
// a VM names it as its server.
func (s *Store) DeleteServer(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := GetTx[placement.Server](tx, BucketServers, id); err != nil {
			return err
		}
		vms, err := ListTx[placement.VM](tx, BucketVMs)
		if err != nil {
			return err
		}
		var on []string
		for _, v := range vms {
			if v.Server == id {
				on = append(on, v.ID)
			}
		}
		if len(on) > 0 {
			return fmt.Errorf("%w: server %q hosts %v", ErrServerInUse, id, on)
		}
		return DeleteTx(tx, BucketServers, id)
	})
}

// PutVM validates and stores a VM, replacing one with the same id. Its server,
// when set, must exist (ErrUnknownServer); its MAC and IP must not be another
// VM's (placement.ErrInvalid).
func (s *Store) PutVM(v placement.VM) error {
	if err := v.Validate(""); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if v.Server != "" {
			if _, err := GetTx[placement.Server](tx, BucketServers, v.Server); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%w: %q", ErrUnknownServer, v.Server)
			} else if err != nil {
				return err
			}
		}
		vms, err := ListTx[placement.VM](tx, BucketVMs)
		if err != nil {
			return err
		}
		mac, ip := placement.NormalMAC(v.MAC), placement.NormalIP(v.IP)
		for _, o := range vms {
			if o.ID == v.ID {
				continue
			}
			if mac != "" && placement.NormalMAC(o.MAC) == mac {
				return &placement.FieldError{Field: "mac", Reason: fmt.Sprintf("%s is also the MAC of VM %q", mac, o.ID)}
			}
			if ip != "" && placement.NormalIP(o.IP) == ip {
				return &placement.FieldError{Field: "ip", Reason: fmt.Sprintf("%s is also the IP of VM %q", ip, o.ID)}
			}
		}
		return PutTx(tx, BucketVMs, v.ID, v)
	})
}

// VM returns one VM; ErrNotFound when absent.
func (s *Store) VM(id string) (placement.VM, error) {
	return Get[placement.VM](s, BucketVMs, id)
}

// VMs returns every VM, by id.
func (s *Store) VMs() ([]placement.VM, error) {
	return List[placement.VM](s, BucketVMs)
}

// DeleteVM removes a VM; ErrNotFound when absent.
func (s *Store) DeleteVM(id string) error {
	return Delete(s, BucketVMs, id)
}

// Inventory returns the servers and VMs from one consistent view, sorted by id.
// Traffic, External and Hops are left empty: they come from the network.
func (s *Store) Inventory() (placement.Inventory, error) {
	var inv placement.Inventory
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if inv.Servers, err = ListTx[placement.Server](tx, BucketServers); err != nil {
			return err
		}
		inv.VMs, err = ListTx[placement.VM](tx, BucketVMs)
		return err
	})
	slices.SortFunc(inv.Servers, func(a, b placement.Server) int { return cmpString(a.ID, b.ID) })
	slices.SortFunc(inv.VMs, func(a, b placement.VM) int { return cmpString(a.ID, b.ID) })
	return inv, err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
