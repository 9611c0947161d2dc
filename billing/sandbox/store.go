package sandbox

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// state is the sandbox's whole world, held in memory under Sandbox.mu and
// written through to bbolt on every committed change. The sandbox is small
// (one developer's customers), so memory is the index and bbolt the journal.
type state struct {
	objs    map[string]object
	seq     map[string]uint64   // creation order, for lists
	order   map[string][]string // kind → ids, oldest first
	nextSeq uint64
	offset  time.Duration // sandbox clock = base clock + offset; only grows

	deliveries  map[string]*delivery // by id
	byEvent     map[string][]*delivery
	idempotency map[string]*idemRecord
	lastEventAt int64
}

func newState() *state {
	return &state{
		objs: map[string]object{}, seq: map[string]uint64{}, order: map[string][]string{},
		deliveries: map[string]*delivery{}, byEvent: map[string][]*delivery{}, idempotency: map[string]*idemRecord{},
	}
}

// get returns the object with id if it has type T.
func get[T object](st *state, id string) (T, bool) {
	o, ok := st.objs[id]
	if !ok {
		var zero T
		return zero, false
	}
	t, ok := o.(T)
	return t, ok
}

// listed is a list endpoint's page of the objects of kind that keep keeps
// (all with keep nil), in creation order.
func listed[T object](s *Sandbox, q *request, kind, path string, keep func(T) bool) (any, *apiError) {
	var out []object
	for _, x := range all[T](s.st, kind) {
		if keep == nil || keep(x) {
			out = append(out, x)
		}
	}
	return s.page(q, path, out)
}

// byID returns the object the request's path names, or Stripe's 404 naming
// kind as its messages do.
func byID[T object](s *Sandbox, q *request, kind string) (T, *apiError) {
	v, ok := get[T](s.st, q.id())
	if !ok {
		return v, noSuch(kind, q.id())
	}
	return v, nil
}

// retrieve is the handler of a GET /v1/{objects}/{id} that returns the
// object as stored.
func retrieve[T object](s *Sandbox, kind string) apiHandler {
	return func(q *request) (any, *apiError) {
		v, e := byID[T](s, q, kind)
		if e != nil {
			return nil, e
		}
		return v, nil
	}
}

// all returns every object of kind, oldest first.
func all[T object](st *state, kind string) []T {
	ids := st.order[kind]
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		if t, ok := st.objs[id].(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (st *state) insert(o object, seq uint64) {
	id := o.objectID()
	if _, exists := st.objs[id]; !exists {
		st.order[o.kind()] = append(st.order[o.kind()], id)
	}
	st.objs[id] = o
	st.seq[id] = seq
}

// delete removes an object from memory (the caller records it in the txn).
func (st *state) delete(o object) {
	id := o.objectID()
	delete(st.objs, id)
	delete(st.seq, id)
	ids := st.order[o.kind()]
	for i, x := range ids {
		if x == id {
			st.order[o.kind()] = append(ids[:i:i], ids[i+1:]...)
			break
		}
	}
}

// Bucket names: one per kind, plus bookkeeping.
var (
	bucketMeta        = []byte("meta")
	bucketDeliveries  = []byte("deliveries")
	bucketIdempotency = []byte("idempotency")
	keyOffset         = []byte("clock_offset_ns")
	keyNextSeq        = []byte("next_seq")
)

// kinds maps a bucket to a constructor for its stored type.
var kinds = map[string]func() object{
	"customer":               func() object { return new(customer) },
	"product":                func() object { return new(product) },
	"price":                  func() object { return new(price) },
	"subscription":           func() object { return new(subscription) },
	"subscription_schedule":  func() object { return new(subscriptionSchedule) },
	"invoice":                func() object { return new(invoice) },
	"payment_method":         func() object { return new(paymentMethod) },
	"setup_intent":           func() object { return new(setupIntent) },
	"checkout.session":       func() object { return new(checkoutSession) },
	"billing_portal.session": func() object { return new(portalSession) },
	"webhook_endpoint":       func() object { return new(webhookEndpoint) },
	"event":                  func() object { return new(event) },
}

// putRecords writes recs by key into the bucket, each with its seq.
func putRecords[V any](tx *bolt.Tx, bucket []byte, recs map[string]V, seq func(V) uint64) error {
	if len(recs) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	for k, r := range recs {
		v, err := encodeRecord(seq(r), r)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

func encodeRecord(seq uint64, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(seq); err != nil {
		return nil, err
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeRecord(b []byte, v any) (uint64, error) {
	dec := gob.NewDecoder(bytes.NewReader(b))
	var seq uint64
	if err := dec.Decode(&seq); err != nil {
		return 0, err
	}
	return seq, dec.Decode(v)
}

// load reads the whole state from db.
func load(db *bolt.DB) (*state, error) {
	st := newState()
	type loaded struct {
		o   object
		seq uint64
	}
	err := db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if v := m.Get(keyOffset); len(v) == 8 {
				st.offset = time.Duration(binary.BigEndian.Uint64(v))
			}
			if v := m.Get(keyNextSeq); len(v) == 8 {
				st.nextSeq = binary.BigEndian.Uint64(v)
			}
		}
		for kind, mk := range kinds {
			b := tx.Bucket([]byte(kind))
			if b == nil {
				continue
			}
			var objs []loaded
			err := b.ForEach(func(k, v []byte) error {
				o := mk()
				seq, err := decodeRecord(v, o)
				if err != nil {
					return fmt.Errorf("decode %s %s: %w", kind, k, err)
				}
				objs = append(objs, loaded{o, seq})
				return nil
			})
			if err != nil {
				return err
			}
			sort.Slice(objs, func(i, j int) bool { return objs[i].seq < objs[j].seq })
			for _, l := range objs {
				st.insert(l.o, l.seq)
			}
		}
		if b := tx.Bucket(bucketDeliveries); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				d := new(delivery)
				if _, err := decodeRecord(v, d); err != nil {
					return fmt.Errorf("decode delivery %s: %w", k, err)
				}
				st.deliveries[d.ID] = d
				st.byEvent[d.EventID] = append(st.byEvent[d.EventID], d)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketIdempotency); b != nil {
			return b.ForEach(func(k, v []byte) error {
				r := new(idemRecord)
				if _, err := decodeRecord(v, r); err != nil {
					return fmt.Errorf("decode idempotency record: %w", err)
				}
				st.idempotency[string(k)] = r
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ds := range st.byEvent {
		sort.Slice(ds, func(i, j int) bool { return ds[i].Seq < ds[j].Seq })
	}
	for _, e := range all[*event](st, "event") {
		st.lastEventAt = max(st.lastEventAt, e.Created)
	}
	return st, nil
}

// txn collects one operation's changes; commit writes them in one bbolt
// transaction. Callers hold Sandbox.mu from the first read to commit.
type txn struct {
	now     int64   // sandbox time of the operation (unix seconds)
	reqID   *string // the API request that caused it; nil for clock-driven work
	idemKey *string

	dirty      map[string]object
	created    map[string]bool
	deleted    map[string]object
	order      []string
	deliveries map[string]*delivery
	idem       map[string]*idemRecord
	events     []*event
}

func newTxn(now int64) *txn {
	return &txn{now: now, dirty: map[string]object{}, created: map[string]bool{}, deleted: map[string]object{}, deliveries: map[string]*delivery{}, idem: map[string]*idemRecord{}}
}

// errClosed is update's answer once the sandbox is closed: nothing ran.
var errClosed = errors.New("sandbox: closed")

// update is the sandbox's one write path: the API's writes, due work on
// the clock and the hosted pages' forms all go through it. Under the write
// lock it runs op in a new transaction at the sandbox's current time (op
// may move t.now, as due work does to its due time); op returns true to
// commit what it did, false to undo it in memory (rollback: a rejected
// request, which must not have changed existing objects). It returns the
// commit's error (memory is then reloaded from the file), or errClosed
// without running op once the sandbox is closed.
func (s *Sandbox) update(op func(t *txn) (commit bool)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	t := newTxn(s.nowLocked().Unix())
	if !op(t) {
		s.rollback(t)
		return nil
	}
	return s.commit(t)
}

// rollback undoes the in-memory effect of a rejected operation. Handlers
// validate before they change existing objects, so only what the operation
// created (objects, events, deliveries) needs removing.
func (s *Sandbox) rollback(t *txn) {
	for id := range t.created {
		if o, ok := s.st.objs[id]; ok {
			s.st.delete(o)
		}
	}
	for id, d := range t.deliveries {
		delete(s.st.deliveries, id)
		delete(s.st.byEvent, d.EventID)
	}
}

// put records o as changed, inserting it into state if it is new.
func (s *Sandbox) put(t *txn, o object) {
	id := o.objectID()
	if _, ok := s.st.objs[id]; !ok {
		s.st.nextSeq++
		s.st.insert(o, s.st.nextSeq)
		t.created[id] = true
	}
	if _, ok := t.dirty[id]; !ok {
		t.order = append(t.order, id)
	}
	t.dirty[id] = o
}

func (s *Sandbox) remove(t *txn, o object) {
	s.st.delete(o)
	delete(t.dirty, o.objectID())
	t.deleted[o.objectID()] = o
}

func (s *Sandbox) commit(t *txn) error {
	if len(t.dirty) == 0 && len(t.deleted) == 0 && len(t.deliveries) == 0 && len(t.idem) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], s.st.nextSeq)
		if err := meta.Put(keyNextSeq, n[:]); err != nil {
			return err
		}
		for _, id := range t.order {
			o, ok := t.dirty[id]
			if !ok {
				continue
			}
			b, err := tx.CreateBucketIfNotExists([]byte(o.kind()))
			if err != nil {
				return err
			}
			v, err := encodeRecord(s.st.seq[id], o)
			if err != nil {
				return fmt.Errorf("encode %s: %w", id, err)
			}
			if err := b.Put([]byte(id), v); err != nil {
				return err
			}
		}
		for id, o := range t.deleted {
			if b := tx.Bucket([]byte(o.kind())); b != nil {
				if err := b.Delete([]byte(id)); err != nil {
					return err
				}
			}
		}
		if err := putRecords(tx, bucketDeliveries, t.deliveries, func(d *delivery) uint64 { return d.Seq }); err != nil {
			return err
		}
		return putRecords(tx, bucketIdempotency, t.idem, func(*idemRecord) uint64 { return 0 })
	})
	if err != nil {
		// The operation changed memory before this write failed; keeping
		// that would serve, and deliver events for, what a restart loses.
		if rerr := s.reload(); rerr != nil {
			s.log.Error("sandbox: a write failed and memory could not be reloaded from the file; restart the sandbox", "write", err, "reload", rerr)
		}
		return err
	}
	if len(t.events) > 0 {
		s.wakeDeliverer()
	}
	return nil
}

// reload puts memory back to what the file holds (commits write through,
// so the file holds every committed change and none of a failed one). Its
// caller holds mu, as for the operation whose commit failed, so nobody saw
// that operation's changes. Deliveries the file also holds keep their
// in-memory records: an attempt in flight updates those, and the failed
// operation made only new ones.
func (s *Sandbox) reload() error {
	st, err := load(s.db)
	if err != nil {
		return err
	}
	for id := range st.deliveries {
		if d, ok := s.st.deliveries[id]; ok {
			st.deliveries[id] = d
		}
	}
	for _, ds := range st.byEvent {
		for i, d := range ds {
			ds[i] = st.deliveries[d.ID]
		}
	}
	s.st = st
	return nil
}

// saveDelivery persists one delivery's progress (the deliverer's own writes).
func (s *Sandbox) saveDelivery(d *delivery) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDeliveries)
		if err != nil {
			return err
		}
		v, err := encodeRecord(d.Seq, d)
		if err != nil {
			return err
		}
		return b.Put([]byte(d.ID), v)
	})
}

func (s *Sandbox) saveOffset(off time.Duration) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(off))
		return meta.Put(keyOffset, n[:])
	})
}
