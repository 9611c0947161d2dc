// Package storetest is the store's contract suite, written once and run
// against every engine: store's own tests run it on bbolt, store/postgres's
// on PostgreSQL. An engine passes when it behaves as store.Store documents.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

// Run runs the contract suite. open returns a new, empty store for each
// subtest; the store is closed by Run (closing it again must be harmless).
func Run(t *testing.T, open func(t testing.TB) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Accounts", testAccounts},
		{"Keys", testKeys},
		{"RemoveKeyAndLabel", testRemoveKeyAndLabel},
		{"KeyUsed", testKeyUsed},
		{"LinkCodes", testLinkCodes},
		{"UpdateAccountIndexes", testUpdateAccountIndexes},
		{"AccountBillingFacts", testAccountBillingFacts},
		{"ForEachAndCount", testForEachAndCount},
		{"Events", testEvents},
		{"ApplyEvent", testApplyEvent},
		{"Notices", testNotices},
		{"EnsureNotice", testEnsureNotice},
		{"DismissNotice", testDismissNotice},
		{"MailOutbox", testMailOutbox},
		{"MailPage", testMailPage},
		{"Audit", testAudit},
		{"AuditPage", testAuditPage},
		{"Links", testLinks},
		{"Prune", testPrune},
		{"AccountCounts", testAccountCounts},
		{"PendingCheckout", testPendingCheckout},
		{"TransactionAllOrNothing", testAllOrNothing},
		{"TransactionTogether", testTogether},
		{"FeedSeqAndChanges", testFeedSeq},
		{"FeedAccountSubscription", testFeedAccount},
		{"FeedCatchUpAfterReconnect", testFeedCatchUp},
		{"FeedAllSubscriber", testFeedAll},
		{"FeedSlowSubscriberNeverBlocksWriters", testSlowSubscriber},
		{"ConcurrentUpdatesOfOneAccount", testConcurrentUpdates},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

func key(name string) store.Key {
	return store.Key{Fingerprint: "SHA256:" + name, PublicKey: "ssh-ed25519 AAAA" + name}
}

func create(t testing.TB, s store.Store, email, k string) store.Account {
	t.Helper()
	a, err := s.CreateAccount(email, key(k))
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// InView and InUpdate run fn in one transaction of s and return what it
// returned, also with an error.
func InView[T any](s store.Store, fn func(store.ReadTx) (T, error)) (T, error) {
	return inTx(s.View, fn)
}

func InUpdate[T any](s store.Store, fn func(store.Tx) (T, error)) (T, error) {
	return inTx(s.Update, fn)
}

func inTx[X, T any](run func(context.Context, func(X) error) error, fn func(X) (T, error)) (T, error) {
	var v T
	err := run(ctx, func(tx X) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	a := create(t, s, "  Ada@Example.com ", "k1")
	if a.ID == "" || a.Email != "Ada@Example.com" || a.Version != 1 || a.CreatedAt.IsZero() || len(a.Keys) != 1 || a.Keys[0].AddedAt.IsZero() {
		t.Fatalf("created %+v", a)
	}
	for name, get := range map[string]func() (store.Account, error){
		"Account":        func() (store.Account, error) { return s.Account(a.ID) },
		"AccountByKey":   func() (store.Account, error) { return s.AccountByKey("SHA256:k1") },
		"AccountByEmail": func() (store.Account, error) { return s.AccountByEmail("ada@EXAMPLE.com ") },
	} {
		got, err := get()
		if err != nil || got.ID != a.ID || got.Email != a.Email || got.Version != 1 || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Errorf("%s = %+v, %v", name, got, err)
		}
	}
	_, err := s.CreateAccount("ADA@example.com", key("k2"))
	wantErr(t, "same email", err, store.ErrEmailTaken)
	_, err = s.CreateAccount("bob@example.com", key("k1"))
	wantErr(t, "same key", err, store.ErrKeyTaken)
	if _, err := s.CreateAccount("  ", key("k3")); err == nil || errors.Is(err, store.ErrEmailTaken) {
		t.Errorf("empty email: %v", err)
	}
	for name, err := range map[string]error{
		"Account":                  second(s.Account("acc_nope")),
		"Account(empty)":           second(s.Account("")),
		"AccountByKey":             second(s.AccountByKey("SHA256:nope")),
		"AccountByEmail":           second(s.AccountByEmail("nope@example.com")),
		"AccountByCustomer":        second(s.AccountByCustomer("cus_nope")),
		"AccountByCustomer(empty)": second(s.AccountByCustomer("")),
	} {
		wantErr(t, name, err, store.ErrNotFound)
	}
	if n := must[int](t)(s.CountAccounts()); n != 1 {
		t.Errorf("CountAccounts = %d after failed creates, want 1", n)
	}
}

func second[T any](_ T, err error) error { return err }

func testKeys(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	got, err := s.AddKey(a.ID, key("k3"))
	if err != nil || len(got.Keys) != 2 || got.Version != 2 || got.Keys[1].Fingerprint != "SHA256:k3" {
		t.Fatalf("AddKey = %+v, %v", got, err)
	}
	if byKey := must[store.Account](t)(s.AccountByKey("SHA256:k3")); byKey.ID != a.ID {
		t.Errorf("second key finds %s, want %s", byKey.ID, a.ID)
	}
	if byKey := must[store.Account](t)(s.AccountByKey("SHA256:k1")); byKey.ID != a.ID {
		t.Errorf("first key finds %s after adding one", byKey.ID)
	}
	_, err = s.AddKey(a.ID, key("k2"))
	wantErr(t, "key of another account", err, store.ErrKeyTaken)
	_, err = s.AddKey(a.ID, key("k3"))
	wantErr(t, "key already the account's", err, store.ErrKeyTaken)
	_, err = s.AddKey("acc_nope", key("k9"))
	wantErr(t, "unknown account", err, store.ErrNotFound)
	if got := must[store.Account](t)(s.Account(b.ID)); len(got.Keys) != 1 || got.Version != 1 {
		t.Errorf("other account touched: %+v", got)
	}
	// UpdateAccount cannot change keys.
	up, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.Keys = nil; return nil })
	if err != nil || len(up.Keys) != 2 {
		t.Errorf("UpdateAccount dropped keys: %+v, %v", up.Keys, err)
	}
}

// testAccountBillingFacts: the facts billing records on the account (the
// payment method charged, the last payment, the conversion) persist, from
// a write in a transaction and from ApplyEvent, and clear again.
func testAccountBillingFacts(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	paid := time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.UpdateAccount(a.ID, func(x *store.Account) error {
			x.HasCard, x.CardBrand, x.CardLast4, x.PaymentMethodID = true, "visa", "4242", "pm_1"
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.ApplyEvent(store.Event{ID: "evt_paid", Type: "invoice.paid", Created: paid}, a.ID, func(x *store.Account) error {
		x.LastPaidAt, x.ConvertedAt = paid, paid.Add(-time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := must[store.Account](t)(s.Account(a.ID))
	if got.PaymentMethodID != "pm_1" || !got.LastPaidAt.Equal(paid) || !got.ConvertedAt.Equal(paid.Add(-time.Hour)) {
		t.Errorf("stored pm %q last paid %s converted %s", got.PaymentMethodID, got.LastPaidAt, got.ConvertedAt)
	}
	var seen store.Account
	if err := s.ForEachAccount(func(x store.Account) bool { seen = x; return true }); err != nil || seen.PaymentMethodID != "pm_1" || !seen.LastPaidAt.Equal(paid) {
		t.Errorf("ForEachAccount: %+v, %v", seen, err)
	}
	if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error {
		x.PaymentMethodID, x.LastPaidAt, x.ConvertedAt = "", time.Time{}, time.Time{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := must[store.Account](t)(s.Account(a.ID)); got.PaymentMethodID != "" || !got.LastPaidAt.IsZero() || !got.ConvertedAt.IsZero() {
		t.Errorf("cleared: pm %q last paid %s converted %s", got.PaymentMethodID, got.LastPaidAt, got.ConvertedAt)
	}
}

func testUpdateAccountIndexes(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	created := a.CreatedAt
	up, err := s.UpdateAccount(a.ID, func(x *store.Account) error {
		x.Email = "ada.l@example.com"
		x.CustomerID = "cus_A"
		x.Plan, x.State, x.HasCard, x.CardLast4 = "s", store.StateTrial, true, "4242"
		x.TrialEnd = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		x.ID, x.Version, x.CreatedAt = "acc_hijack", 99, time.Time{}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != a.ID || up.Version != 2 || !up.CreatedAt.Equal(created) || up.UpdatedAt.IsZero() {
		t.Errorf("protected fields changed: %+v", up)
	}
	got := must[store.Account](t)(s.Account(a.ID))
	if got.Plan != "s" || got.State != store.StateTrial || !got.HasCard || got.CardLast4 != "4242" || !got.TrialEnd.Equal(up.TrialEnd) || got.Version != 2 {
		t.Errorf("stored %+v", got)
	}
	if c := must[store.Account](t)(s.AccountByCustomer("cus_A")); c.ID != a.ID {
		t.Error("customer index not written")
	}
	if e := must[store.Account](t)(s.AccountByEmail("ADA.L@example.com")); e.ID != a.ID {
		t.Error("email index not moved")
	}
	wantErr(t, "old email", second(s.AccountByEmail("ada@example.com")), store.ErrNotFound)
	// The old email is free again.
	create(t, s, "ada@example.com", "k3")

	_, err = s.UpdateAccount(b.ID, func(x *store.Account) error { x.Email = "Ada.L@example.com"; return nil })
	wantErr(t, "email of another", err, store.ErrEmailTaken)
	_, err = s.UpdateAccount(b.ID, func(x *store.Account) error { x.CustomerID = "cus_A"; return nil })
	wantErr(t, "customer of another", err, store.ErrCustomerTaken)
	_, err = s.UpdateAccount("acc_nope", func(*store.Account) error { return nil })
	wantErr(t, "unknown account", err, store.ErrNotFound)
	boom := errors.New("boom")
	_, err = s.UpdateAccount(b.ID, func(x *store.Account) error { x.Plan = "xl"; return boom })
	wantErr(t, "fn error", err, boom)
	if got := must[store.Account](t)(s.Account(b.ID)); got.Version != 1 || got.Plan != "" || got.CustomerID != "" {
		t.Errorf("failed updates left %+v", got)
	}
	// Customer moves: the old id is released.
	if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.CustomerID = "cus_B"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "released customer", second(s.AccountByCustomer("cus_A")), store.ErrNotFound)
	if _, err := s.UpdateAccount(b.ID, func(x *store.Account) error { x.CustomerID = "cus_A"; return nil }); err != nil {
		t.Errorf("released customer not reusable: %v", err)
	}
}

func testForEachAndCount(t *testing.T, s store.Store) {
	var ids []string
	for i := range 5 {
		ids = append(ids, create(t, s, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("k", i)).ID)
	}
	slices.Sort(ids)
	var seen []string
	if err := s.ForEachAccount(func(a store.Account) bool { seen = append(seen, a.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("ForEachAccount order %v, want %v", seen, ids)
	}
	seen = nil
	_ = s.ForEachAccount(func(a store.Account) bool { seen = append(seen, a.ID); return len(seen) < 2 })
	if len(seen) != 2 {
		t.Errorf("ForEachAccount did not stop: %d", len(seen))
	}
	if n := must[int](t)(s.CountAccounts()); n != 5 {
		t.Errorf("CountAccounts = %d", n)
	}
}

func testEvents(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.RecordEvent(store.Event{ID: "evt_1", Type: "x", AccountID: a.ID, ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvent(store.Event{ID: "evt_2", Type: "y", Status: store.EventStatusFailed, Error: "503", ReceivedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if done := must[bool](t)(s.EventProcessed("evt_1")); !done {
		t.Error("ignored event (RecordEvent default) is not final")
	}
	if done := must[bool](t)(s.EventProcessed("evt_2")); done {
		t.Error("failed event counted as processed")
	}
	if done := must[bool](t)(s.EventProcessed("evt_nope")); done {
		t.Error("unknown event counted as processed")
	}
	evs := must[[]store.Event](t)(s.Events(0))
	if len(evs) != 2 || evs[0].ID != "evt_2" || evs[1].ID != "evt_1" || evs[1].Status != store.EventStatusIgnored {
		t.Errorf("Events = %+v", evs)
	}
	if evs := must[[]store.Event](t)(s.Events(1)); len(evs) != 1 || evs[0].ID != "evt_2" {
		t.Errorf("Events(1) = %+v", evs)
	}
	if evs := must[[]store.Event](t)(s.EventsForAccount(a.ID, 0)); len(evs) != 1 || evs[0].ID != "evt_1" {
		t.Errorf("EventsForAccount = %+v", evs)
	}
	if evs := must[[]store.Event](t)(s.EventsForAccount("", 0)); len(evs) != 0 {
		t.Errorf("EventsForAccount(\"\") = %+v", evs)
	}
	// A failed record is replaced by the redelivery's outcome; a final one
	// only counts duplicates.
	if _, dup, err := s.ApplyEvent(store.Event{ID: "evt_2", Type: "y", ReceivedAt: t0.Add(2 * time.Second)}, "", nil); err != nil || dup {
		t.Fatalf("redelivery of failed event: dup=%v err=%v", dup, err)
	}
	if err := s.RecordEvent(store.Event{ID: "evt_2", Type: "y", Status: store.EventStatusFailed}); err != nil {
		t.Fatal(err)
	}
	ev, err := InView(s, func(tx store.ReadTx) (store.Event, error) { return tx.Event("evt_2") })
	if err != nil || ev.Status != store.EventStatusProcessed || ev.Duplicates != 1 {
		t.Errorf("evt_2 = %+v, %v; want processed with 1 duplicate", ev, err)
	}
	if evs := must[[]store.Event](t)(s.Events(0)); len(evs) != 2 {
		t.Errorf("overwriting left %d events", len(evs))
	}
	if err := s.RecordEvent(store.Event{}); err == nil {
		t.Error("event without id accepted")
	}
}

func testApplyEvent(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	up, dup, err := s.ApplyEvent(store.Event{ID: "evt_1", Type: "customer.subscription.updated"}, a.ID, func(x *store.Account) error {
		x.Plan = "m"
		return nil
	})
	if err != nil || dup || up.Plan != "m" || up.Version != 2 {
		t.Fatalf("ApplyEvent = %+v, %v, %v", up, dup, err)
	}
	evs := must[[]store.Event](t)(s.EventsForAccount(a.ID, 0))
	if len(evs) != 1 || evs[0].Status != store.EventStatusProcessed || evs[0].AccountID != a.ID {
		t.Errorf("event record %+v", evs)
	}
	ran := false
	_, dup, err = s.ApplyEvent(store.Event{ID: "evt_1"}, a.ID, func(*store.Account) error { ran = true; return nil })
	if err != nil || !dup || ran {
		t.Errorf("redelivery: dup=%v ran=%v err=%v", dup, ran, err)
	}
	if got := must[store.Account](t)(s.Account(a.ID)); got.Version != 2 {
		t.Errorf("duplicate changed the account: version %d", got.Version)
	}
	_, _, err = s.ApplyEvent(store.Event{ID: "evt_2"}, "acc_nope", func(*store.Account) error { return nil })
	wantErr(t, "unknown account", err, store.ErrNotFound)
	if done := must[bool](t)(s.EventProcessed("evt_2")); done {
		t.Error("event recorded although its account update failed")
	}
	boom := errors.New("boom")
	_, _, err = s.ApplyEvent(store.Event{ID: "evt_3"}, a.ID, func(*store.Account) error { return boom })
	wantErr(t, "fn error", err, boom)
	if done := must[bool](t)(s.EventProcessed("evt_3")); done {
		t.Error("event recorded although fn failed")
	}
}

func testNotices(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	n1, added, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1:1", Message: "Trial ends soon."})
	if err != nil || !added || n1.ID == "" || n1.CreatedAt.IsZero() {
		t.Fatalf("AddNotice = %+v, %v, %v", n1, added, err)
	}
	again, added, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1:1", Message: "other words"})
	if err != nil || added || again.ID != n1.ID || again.Message != n1.Message {
		t.Errorf("duplicate AddNotice = %+v, %v, %v", again, added, err)
	}
	n2, added, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1:2", Message: "Again."})
	if err != nil || !added {
		t.Fatal(err)
	}
	_, _, err = s.AddNotice(store.Notice{AccountID: "acc_nope", Kind: "x"})
	wantErr(t, "unknown account", err, store.ErrNotFound)
	if _, _, err := s.AddNotice(store.Notice{AccountID: a.ID}); err == nil {
		t.Error("notice without kind accepted")
	}
	ns := must[[]store.Notice](t)(s.Notices(a.ID))
	if len(ns) != 2 || ns[0].ID != n2.ID || ns[1].ID != n1.ID {
		t.Errorf("Notices = %+v", ns)
	}
	if ns := must[[]store.Notice](t)(s.Notices("acc_other")); len(ns) != 0 {
		t.Errorf("Notices of another = %+v", ns)
	}
}

// EnsureNotice adds a notice once per (account, kind, key), as AddNotice,
// reports an unknown account, is seen by the rest of its transaction and
// announces the account's change.
func testEnsureNotice(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	sub := s.Subscribe(a.ID)
	defer sub.Close()
	ensure := func(n store.Notice) error {
		return s.Update(ctx, func(tx store.Tx) error { return tx.EnsureNotice(n) })
	}
	if err := ensure(store.Notice{AccountID: a.ID, Kind: "card_added", Key: "visa:4242", Message: "Card added."}); err != nil {
		t.Fatal(err)
	}
	if c := Recv(t, sub); c.AccountID != a.ID {
		t.Errorf("change after EnsureNotice = %+v", c)
	}
	if err := ensure(store.Notice{AccountID: a.ID, Kind: "card_added", Key: "visa:4242", Message: "other words"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "unknown account", ensure(store.Notice{AccountID: "acc_nope", Kind: "x"}), store.ErrNotFound)
	if err := ensure(store.Notice{AccountID: a.ID}); err == nil {
		t.Error("notice without kind accepted")
	}
	ns := must[[]store.Notice](t)(s.Notices(a.ID))
	if len(ns) != 1 || ns[0].Message != "Card added." {
		t.Errorf("Notices after two EnsureNotice of one key = %+v", ns)
	}
	// In one transaction: a later read sees it, and a later AddNotice of
	// the same key finds it.
	got, err := InUpdate(s, func(tx store.Tx) (store.Notice, error) {
		if err := tx.EnsureNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "1", Message: "first"}); err != nil {
			return store.Notice{}, err
		}
		n, added, err := tx.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "1", Message: "second"})
		if err == nil && added {
			t.Error("AddNotice after EnsureNotice of its key added another")
		}
		return n, err
	})
	if err != nil || got.Message != "first" {
		t.Errorf("AddNotice after EnsureNotice in one transaction = %+v, %v", got, err)
	}
}

// A dismissed banner stays dismissed (the first time is kept), only by its
// own account, and the dismissal is a change the account's sessions see.
func testDismissNotice(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	n, _, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "card_added", Key: "visa:4242", Message: "Card added."})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "another account's dismissal", s.DismissNotice(b.ID, n.ID, time.Now()), store.ErrNotFound)
	wantErr(t, "unknown notice", s.DismissNotice(a.ID, "ntc_nope", time.Now()), store.ErrNotFound)
	sub := s.SubscribeFrom(a.ID, must[uint64](t)(s.LastSeq(ctx, a.ID)))
	defer sub.Close()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.DismissNotice(a.ID, n.ID, at); err != nil {
		t.Fatal(err)
	}
	Recv(t, sub)
	if err := s.DismissNotice(a.ID, n.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ns := must[[]store.Notice](t)(s.Notices(a.ID))
	if len(ns) != 1 || !ns[0].DismissedAt.Equal(at) {
		t.Fatalf("notices after dismissing: %+v; want one dismissed at %v", ns, at)
	}
}

func testMailOutbox(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	n1, _, _ := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "1", Message: "one"})
	n2, _, _ := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "2", Message: "two"})
	ids := func() []string {
		var out []string
		for _, n := range must[[]store.Notice](t)(s.Outbox()) {
			out = append(out, n.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{n1.ID, n2.ID}) {
		t.Fatalf("Outbox = %v, want oldest first", got)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	retry := at.Add(5 * time.Minute)
	if err := s.MarkMailed(n1.ID, at, errors.New("smtp: 451"), retry); err != nil {
		t.Fatal(err)
	}
	box := must[[]store.Notice](t)(s.Outbox())
	if len(box) != 2 || box[0].MailTries != 1 || box[0].MailError != "smtp: 451" || !box[0].MailNextAt.Equal(retry) || !box[0].MailedAt.IsZero() {
		t.Errorf("after a failed try: %+v", box[0])
	}
	if err := s.MarkMailed(n1.ID, at.Add(time.Hour), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{n2.ID}) {
		t.Errorf("Outbox after mailing one = %v", got)
	}
	ns := must[[]store.Notice](t)(s.Notices(a.ID))
	if m := ns[1]; !m.MailedAt.Equal(at.Add(time.Hour)) || m.MailError != "" || m.MailTries != 1 || !m.MailNextAt.IsZero() {
		t.Errorf("mailed notice %+v", m)
	}
	wantErr(t, "unknown notice", s.MarkMailed("ntc_nope", at, nil, time.Time{}), store.ErrNotFound)
	re, err := s.Requeue(n1.ID)
	if err != nil || re.ID != n1.ID || !re.MailedAt.IsZero() || re.MailTries != 0 || re.MailError != "" {
		t.Errorf("Requeue = %+v, %v", re, err)
	}
	if got := ids(); !slices.Equal(got, []string{n1.ID, n2.ID}) {
		t.Errorf("Outbox after requeue = %v", got)
	}
	if ns := must[[]store.Notice](t)(s.Notices(a.ID)); len(ns) != 2 {
		t.Errorf("requeue duplicated the notice: %d", len(ns))
	}
	wantErr(t, "requeue unknown", second(s.Requeue("ntc_nope")), store.ErrNotFound)
}

func testAudit(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e1 := must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Actor: "admin", AccountID: a.ID, Action: "extend", Before: "x", After: "y", At: t0.Add(time.Hour)}))
	e2 := must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Actor: "reconciler", Action: "drift", At: t0}))
	e3 := must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Actor: "admin", AccountID: a.ID, Action: "free"}))
	if e1.ID == "" || e1.ID == e2.ID || e3.At.IsZero() {
		t.Errorf("entries %+v %+v %+v", e1, e2, e3)
	}
	all := must[[]store.AuditEntry](t)(s.Audit("", 0))
	if len(all) != 3 || all[0].ID != e3.ID || all[1].ID != e2.ID || all[2].ID != e1.ID {
		t.Errorf("Audit(all) = %+v; want insertion order, newest first", all)
	}
	if mine := must[[]store.AuditEntry](t)(s.Audit(a.ID, 0)); len(mine) != 2 || mine[0].ID != e3.ID || mine[1].Before != "x" {
		t.Errorf("Audit(account) = %+v", mine)
	}
	if one := must[[]store.AuditEntry](t)(s.Audit("", 1)); len(one) != 1 {
		t.Errorf("Audit limit 1 = %d", len(one))
	}
	if _, err := s.AppendAudit(store.AuditEntry{Actor: "x"}); err == nil {
		t.Error("entry without action accepted")
	}
}

// testMailPage: every notice's mail, sent or not, newest first, a page at a
// time, each with the status the mailer's records give it.
func testMailPage(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	if ns, next, err := s.MailPage("", 10); err != nil || len(ns) != 0 || next != "" {
		t.Fatalf("empty MailPage = %v, %q, %v", ns, next, err)
	}
	var ids []string // oldest first
	for i := range 5 {
		acct := a.ID
		if i%2 == 1 {
			acct = b.ID
		}
		n := must[store.Notice](t)(first(s.AddNotice(store.Notice{AccountID: acct, Kind: "k", Key: fmt.Sprint(i), Message: "m"})))
		ids = append(ids, n.ID)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// 0 sent, 1 retrying, 2 failed for good, 3 sent then queued again, 4 queued.
	for _, mm := range []struct {
		id      string
		err     error
		retryAt time.Time
	}{
		{ids[0], nil, time.Time{}},
		{ids[1], errors.New("smtp: 451"), at.Add(time.Minute)},
		{ids[2], errors.New("smtp: 550"), time.Time{}},
		{ids[3], nil, time.Time{}},
	} {
		if err := s.MarkMailed(mm.id, at, mm.err, mm.retryAt); err != nil {
			t.Fatal(err)
		}
	}
	must[store.Notice](t)(s.Requeue(ids[3]))
	want := map[string]store.MailStatus{ids[0]: store.MailSent, ids[1]: store.MailRetrying, ids[2]: store.MailFailed,
		ids[3]: store.MailQueued, ids[4]: store.MailQueued}

	var got []string
	before, pages := "", 0
	for {
		ns, next, err := s.MailPage(before, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(ns) == 0 || len(ns) > 2 {
			t.Fatalf("page %d has %d notices", pages, len(ns))
		}
		for _, n := range ns {
			got = append(got, n.ID)
			if n.MailStatus() != want[n.ID] {
				t.Errorf("notice %d is %s, want %s: %+v", slices.Index(ids, n.ID), n.MailStatus(), want[n.ID], n)
			}
		}
		if next == "" {
			break
		}
		before = next
	}
	if pages != 3 || !slices.Equal(got, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("%d pages of %v, want 3 of every notice newest first (%v)", pages, got, ids)
	}
	if f := must[[]store.Notice](t)(first(s.MailPage("", 2))); f[0].MailError != "" || f[1].MailTries != 0 {
		t.Errorf("the requeued notice keeps its tries: %+v", f[1])
	}
	if ns, _, _ := s.MailPage("", 2); ns[0].ID != ids[4] {
		t.Errorf("first page starts at %s", ns[0].ID)
	}
	// A page that ends on the oldest notice has no next page.
	_, next, _ := s.MailPage("", 5)
	if next != "" {
		t.Errorf("a page of all 5 notices has a next cursor %q", next)
	}
	if ns, _, err := s.MailPage("", 0); err != nil || len(ns) != 5 {
		t.Errorf("MailPage limit 0 = %d notices, %v; want the default page", len(ns), err)
	}
	if _, _, err := s.MailPage("not a cursor", 2); err == nil {
		t.Error("a malformed cursor was accepted")
	}
}

// first drops the middle of three results.
func first[T, U any](v T, _ U, err error) (T, error) { return v, err }

// testAuditPage: the audit log a page at a time, each page only older
// entries than the last, whatever is appended meanwhile.
func testAuditPage(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	var all, mine []string // newest first
	add := func(i int, acct string) {
		e := must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Actor: "admin", AccountID: acct, Action: fmt.Sprintf("act%02d", i)}))
		all = append([]string{e.ID}, all...)
		if acct == a.ID {
			mine = append([]string{e.ID}, mine...)
		}
	}
	for i := range 9 {
		add(i, []string{a.ID, b.ID, ""}[i%3])
	}
	walk := func(accountID string, size int, mid func()) (ids []string, pages int) {
		t.Helper()
		before := ""
		for {
			es, next, err := s.AuditPage(accountID, before, size)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(es) == 0 || len(es) > size {
				t.Fatalf("AuditPage(%q) page %d has %d entries", accountID, pages, len(es))
			}
			for _, e := range es {
				ids = append(ids, e.ID)
			}
			if mid != nil && pages == 1 {
				mid()
			}
			if next == "" {
				return ids, pages
			}
			before = next
		}
	}
	if ids, pages := walk("", 4, nil); pages != 3 || !slices.Equal(ids, all) {
		t.Errorf("AuditPage(all) by 4: %d pages %v, want 3 of %v", pages, ids, all)
	}
	// 9 entries by 3: the third page ends on the oldest and has no next.
	if ids, pages := walk("", 3, nil); pages != 3 || !slices.Equal(ids, all) {
		t.Errorf("AuditPage(all) by 3: %d pages %v, want 3 of %v", pages, ids, all)
	}
	if ids, pages := walk(a.ID, 2, nil); pages != 2 || !slices.Equal(ids, mine) {
		t.Errorf("AuditPage(account) by 2: %d pages %v, want 2 of %v", pages, ids, mine)
	}
	// Entries appended while paging do not shift the older pages.
	old := slices.Clone(all)
	ids, _ := walk("", 4, func() { add(9, a.ID); add(10, "") })
	if !slices.Equal(ids, old) {
		t.Errorf("paging while entries were appended: %v, want %v", ids, old)
	}
	if es, _, err := s.AuditPage("", "", 0); err != nil || len(es) != 11 || es[0].ID != all[0] {
		t.Errorf("AuditPage limit 0 = %d entries, %v; want the default page", len(es), err)
	}
	if es, next, err := s.AuditPage("acct_none", "", 5); err != nil || len(es) != 0 || next != "" {
		t.Errorf("AuditPage(unknown account) = %v, %q, %v", es, next, err)
	}
	if _, _, err := s.AuditPage("", "x1", 2); err == nil {
		t.Error("a malformed cursor was accepted")
	}
}

func testLinks(t *testing.T, s store.Store) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutLink("tok1", "https://checkout.example/1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLink("tok2", "https://checkout.example/2", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "token taken", s.PutLink("tok1", "https://other", now.Add(time.Hour)), store.ErrLinkTaken)
	if got, err := s.Link("tok1", now); err != nil || got != "https://checkout.example/1" {
		t.Errorf("Link = %q, %v", got, err)
	}
	wantErr(t, "expired", second(s.Link("tok2", now.Add(time.Minute))), store.ErrNotFound)
	wantErr(t, "unknown", second(s.Link("nope", now)), store.ErrNotFound)
	if n, err := s.DeleteExpiredLinks(now.Add(2 * time.Minute)); err != nil || n != 1 {
		t.Errorf("DeleteExpiredLinks = %d, %v", n, err)
	}
	if _, err := s.Link("tok1", now); err != nil {
		t.Errorf("live link deleted: %v", err)
	}
}

func testPendingCheckout(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	wantErr(t, "none yet", second(s.PendingCheckout(a.ID)), store.ErrNotFound)
	put := func(p store.PendingCheckout) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutPendingCheckout(p) }); err != nil {
			t.Fatal(err)
		}
	}
	put(store.PendingCheckout{AccountID: a.ID, Plan: "m"})
	if p := must[store.PendingCheckout](t)(s.PendingCheckout(a.ID)); p.Plan != "m" || p.SessionID != "" || p.CreatedAt.IsZero() {
		t.Errorf("PendingCheckout = %+v", p)
	}
	put(store.PendingCheckout{AccountID: a.ID, Plan: "xl", SessionID: "cs_1"})
	if p := must[store.PendingCheckout](t)(s.PendingCheckoutBySession("cs_1")); p.Plan != "xl" || p.AccountID != a.ID {
		t.Errorf("by session = %+v", p)
	}
	put(store.PendingCheckout{AccountID: a.ID, Plan: "s", SessionID: "cs_2"})
	wantErr(t, "replaced session", second(s.PendingCheckoutBySession("cs_1")), store.ErrNotFound)
	if p := must[store.PendingCheckout](t)(s.PendingCheckout(a.ID)); p.Plan != "s" {
		t.Errorf("replaced = %+v", p)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeletePendingCheckout(a.ID) }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted", second(s.PendingCheckout(a.ID)), store.ErrNotFound)
	wantErr(t, "deleted by session", second(s.PendingCheckoutBySession("cs_2")), store.ErrNotFound)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeletePendingCheckout(a.ID) }); err != nil {
		t.Errorf("deleting none: %v", err)
	}
}

// A change written in one transaction is all or nothing: a failure between
// its writes leaves no trace, no notice, no audit entry, no feed entry and
// no notification.
func testAllOrNothing(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	seq0 := must[uint64](t)(s.LastSeq(ctx, ""))
	sub := s.SubscribeFrom(a.ID, seq0)
	defer sub.Close()
	all := s.SubscribeFrom("", seq0)
	defer all.Close()
	injected := errors.New("injected failure between writes")
	for step := range 5 {
		err := s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.UpdateAccount(a.ID, func(x *store.Account) error { x.Plan, x.State = "m", store.StatePastDue; return nil }); err != nil {
				return err
			}
			if step == 0 {
				return injected
			}
			if _, err := tx.RecordEvent(store.Event{ID: "evt_fail", Type: "invoice.payment_failed", AccountID: a.ID}); err != nil {
				return err
			}
			if step == 1 {
				return injected
			}
			if _, _, err := tx.AddNotice(store.Notice{AccountID: a.ID, Kind: "payment_failed", Key: "in_1", Message: "Payment failed."}); err != nil {
				return err
			}
			if step == 2 {
				return injected
			}
			if _, err := tx.AppendAudit(store.AuditEntry{Actor: "webhook", AccountID: a.ID, Action: "payment_failed"}); err != nil {
				return err
			}
			if err := tx.PutPendingCheckout(store.PendingCheckout{AccountID: a.ID, Plan: "m"}); err != nil {
				return err
			}
			if step == 3 {
				return injected
			}
			// A constraint violation late in the change aborts it too.
			_, err := tx.CreateAccount("ADA@example.com", key("k9"))
			return err
		})
		if step < 4 {
			wantErr(t, fmt.Sprint("step ", step), err, injected)
		} else {
			wantErr(t, "late constraint", err, store.ErrEmailTaken)
		}
		got := must[store.Account](t)(s.Account(a.ID))
		if got.Plan != "" || got.State != store.StateNone || got.Version != 1 {
			t.Errorf("step %d: account changed: %+v", step, got)
		}
		if done := must[bool](t)(s.EventProcessed("evt_fail")); done {
			t.Errorf("step %d: event recorded", step)
		}
		if evs := must[[]store.Event](t)(s.Events(0)); len(evs) != 0 {
			t.Errorf("step %d: events %+v", step, evs)
		}
		if ns := must[[]store.Notice](t)(s.Notices(a.ID)); len(ns) != 0 {
			t.Errorf("step %d: notices %+v", step, ns)
		}
		if box := must[[]store.Notice](t)(s.Outbox()); len(box) != 0 {
			t.Errorf("step %d: outbox %+v", step, box)
		}
		if au := must[[]store.AuditEntry](t)(s.Audit("", 0)); len(au) != 0 {
			t.Errorf("step %d: audit %+v", step, au)
		}
		wantErr(t, fmt.Sprint("step ", step, " pending checkout"), second(s.PendingCheckout(a.ID)), store.ErrNotFound)
		if seq := must[uint64](t)(s.LastSeq(ctx, "")); seq != seq0 {
			t.Errorf("step %d: feed moved from %d to %d", step, seq0, seq)
		}
		if ch := must[[]store.Change](t)(s.Changes(ctx, seq0, 0)); len(ch) != 0 {
			t.Errorf("step %d: feed entries %+v", step, ch)
		}
	}
	if n := must[int](t)(s.CountAccounts()); n != 1 {
		t.Errorf("accounts = %d", n)
	}
	// Nothing was announced: the next delivery is the next real change.
	if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.Plan = "s"; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := Recv(t, sub); c.Seq != seq0+1 || c.AccountID != a.ID {
		t.Errorf("account subscriber got %+v, want seq %d", c, seq0+1)
	}
	if c := Recv(t, all); c.Seq != seq0+1 || c.AccountID != a.ID {
		t.Errorf("all subscriber got %+v, want seq %d", c, seq0+1)
	}
}

// Everything one change writes commits together, with one feed entry per
// account changed.
func testTogether(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	seq0 := must[uint64](t)(s.LastSeq(ctx, ""))
	err := s.Update(ctx, func(tx store.Tx) error {
		if dup, err := tx.RecordEvent(store.Event{ID: "evt_1", Type: "invoice.payment_failed", AccountID: a.ID}); err != nil || dup {
			return fmt.Errorf("record: dup=%v %w", dup, err)
		}
		for range 2 {
			if _, err := tx.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
				return err
			}
		}
		// Reads inside the transaction see its own writes.
		if got, err := tx.Account(a.ID); err != nil || got.NextInvoiceAmount != 2 {
			return fmt.Errorf("read own write: %+v %v", got, err)
		}
		if _, _, err := tx.AddNotice(store.Notice{AccountID: a.ID, Kind: "payment_failed", Key: "in_1", Message: "m"}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(store.AuditEntry{Actor: "webhook", AccountID: a.ID, Action: "x"}); err != nil {
			return err
		}
		_, err := tx.UpdateAccount(b.ID, func(x *store.Account) error { x.Plan = "free"; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := must[store.Account](t)(s.Account(a.ID)); got.NextInvoiceAmount != 2 || got.Version != 3 {
		t.Errorf("account %+v", got)
	}
	if ns := must[[]store.Notice](t)(s.Notices(a.ID)); len(ns) != 1 {
		t.Errorf("notices %d", len(ns))
	}
	ch := must[[]store.Change](t)(s.Changes(ctx, seq0, 0))
	if len(ch) != 2 || ch[0].Seq != seq0+1 || ch[1].Seq != seq0+2 || ch[0].AccountID != a.ID || ch[1].AccountID != b.ID {
		t.Errorf("one change wrote feed entries %+v; want one per account, in order", ch)
	}
	if seq := must[uint64](t)(s.LastSeq(ctx, a.ID)); seq != seq0+1 {
		t.Errorf("LastSeq(a) = %d", seq)
	}
	if seq := must[uint64](t)(s.LastSeq(ctx, b.ID)); seq != seq0+2 {
		t.Errorf("LastSeq(b) = %d", seq)
	}
	// A transaction that changes no account writes no feed entry.
	if err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.AppendAudit(store.AuditEntry{Actor: "x", Action: "y"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if seq := must[uint64](t)(s.LastSeq(ctx, "")); seq != seq0+2 {
		t.Errorf("audit only moved the feed to %d", seq)
	}
}

// Every write that changes what an account's screens show gets a feed entry.
func testFeedSeq(t *testing.T, s store.Store) {
	if seq := must[uint64](t)(s.LastSeq(ctx, "")); seq != 0 {
		t.Errorf("empty store LastSeq = %d", seq)
	}
	a := create(t, s, "ada@example.com", "k1")
	steps := []struct {
		what    string
		fn      func() error
		changes bool
	}{
		{"AddKey", func() error { return second(s.AddKey(a.ID, key("k2"))) }, true},
		{"UpdateAccount", func() error {
			return second(s.UpdateAccount(a.ID, func(x *store.Account) error { x.Plan = "s"; return nil }))
		}, true},
		{"ApplyEvent", func() error {
			_, _, err := s.ApplyEvent(store.Event{ID: "evt_1"}, a.ID, func(x *store.Account) error { x.Plan = "m"; return nil })
			return err
		}, true},
		{"ApplyEvent duplicate", func() error {
			_, _, err := s.ApplyEvent(store.Event{ID: "evt_1"}, a.ID, func(x *store.Account) error { x.Plan = "m"; return nil })
			return err
		}, false},
		{"RecordEvent", func() error { return s.RecordEvent(store.Event{ID: "evt_2", AccountID: a.ID}) }, true},
		{"AddNotice", func() error {
			_, _, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "1"})
			return err
		}, true},
		{"AddNotice existing", func() error {
			_, _, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "1"})
			return err
		}, false},
		{"AppendAudit", func() error { return second(s.AppendAudit(store.AuditEntry{AccountID: a.ID, Action: "x"})) }, false},
	}
	last := must[uint64](t)(s.LastSeq(ctx, ""))
	if last == 0 {
		t.Fatal("CreateAccount wrote no feed entry")
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		seq := must[uint64](t)(s.LastSeq(ctx, ""))
		switch {
		case st.changes && seq != last+1:
			t.Errorf("%s: LastSeq %d, want %d", st.what, seq, last+1)
		case !st.changes && seq != last:
			t.Errorf("%s: feed moved to %d", st.what, seq)
		}
		last = seq
	}
	ch := must[[]store.Change](t)(s.Changes(ctx, 0, 0))
	if uint64(len(ch)) != last {
		t.Fatalf("Changes(0) = %d entries, want %d", len(ch), last)
	}
	for i, c := range ch {
		if c.Seq != uint64(i+1) || c.AccountID != a.ID {
			t.Errorf("change %d = %+v", i, c)
		}
	}
	if ch := must[[]store.Change](t)(s.Changes(ctx, 2, 2)); len(ch) != 2 || ch[0].Seq != 3 || ch[1].Seq != 4 {
		t.Errorf("Changes(2, 2) = %+v", ch)
	}
	if ch := must[[]store.Change](t)(s.Changes(ctx, last, 0)); len(ch) != 0 {
		t.Errorf("Changes(last) = %+v", ch)
	}
}

// Recv waits for one Change; the long timeout only turns a hang into a failure.
func Recv(t testing.TB, sub *store.Subscription) store.Change {
	t.Helper()
	select {
	case c, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change delivered")
	}
	return store.Change{}
}

func assertNone(t testing.TB, sub *store.Subscription) {
	t.Helper()
	select {
	case c := <-sub.C():
		t.Fatalf("unexpected change %+v", c)
	default:
	}
}

func testFeedAccount(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	sub := s.Subscribe(a.ID)
	defer sub.Close()
	assertNone(t, sub) // Subscribe starts from now
	up, err := InUpdate(s, func(tx store.Tx) (store.Account, error) {
		return tx.UpdateAccount(a.ID, func(x *store.Account) error { x.Plan = "s"; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	c := Recv(t, sub)
	if c.AccountID != a.ID || c.Seq == 0 {
		t.Fatalf("got %+v", c)
	}
	// The notification follows the commit: the subscriber reads the change.
	if got := must[store.Account](t)(s.Account(a.ID)); got.Version < up.Version {
		t.Errorf("notified before the commit is visible: version %d < %d", got.Version, up.Version)
	}
	if _, err := s.UpdateAccount(b.ID, func(x *store.Account) error { x.Plan = "m"; return nil }); err != nil {
		t.Fatal(err)
	}
	assertNone(t, sub) // another account's change
	// A burst coalesces into one pending Change, the newest.
	for range 5 {
		if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	want := must[uint64](t)(s.LastSeq(ctx, a.ID))
	if c := Recv(t, sub); c.Seq != want {
		t.Errorf("coalesced change %+v, want seq %d", c, want)
	}
	assertNone(t, sub)
	sub.Close()
	sub.Close() // idempotent
	if _, ok := <-sub.C(); ok {
		t.Error("C open after Close")
	}
}

// A subscriber that names the last Seq it saw gets what it missed while it
// was away, then live changes.
func testFeedCatchUp(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	all := s.Subscribe("")
	if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.Plan = "s"; return nil }); err != nil {
		t.Fatal(err)
	}
	seen := Recv(t, all).Seq
	all.Close() // disconnect
	var missed []string
	for i := range 5 {
		id := a.ID
		if i%2 == 1 {
			id = b.ID
		}
		if _, err := s.UpdateAccount(id, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
			t.Fatal(err)
		}
		missed = append(missed, id)
	}
	// Reconnect from the last Seq seen: everything missed, in order, then live.
	again := s.SubscribeFrom("", seen)
	defer again.Close()
	for i, id := range missed {
		c := Recv(t, again)
		if c.Seq != seen+uint64(i)+1 || c.AccountID != id {
			t.Fatalf("catch-up %d = %+v, want seq %d account %s", i, c, seen+uint64(i)+1, id)
		}
	}
	live := create(t, s, "cy@example.com", "k3")
	if c := Recv(t, again); c.AccountID != live.ID || c.Seq != seen+6 {
		t.Errorf("live after catch-up = %+v", c)
	}
	// An account subscription from an old Seq is told once that it missed something.
	one := s.SubscribeFrom(b.ID, seen)
	defer one.Close()
	if c := Recv(t, one); c.AccountID != b.ID || c.Seq != must[uint64](t)(s.LastSeq(ctx, b.ID)) {
		t.Errorf("account catch-up = %+v", c)
	}
	assertNone(t, one)
	// From its newest Seq, nothing.
	cur := s.SubscribeFrom(a.ID, must[uint64](t)(s.LastSeq(ctx, a.ID)))
	defer cur.Close()
	assertNone(t, cur)
}

// An all-accounts subscriber gets every change, in Seq order, even when it
// reads long after they were written.
func testFeedAll(t *testing.T, s store.Store) {
	all := s.SubscribeFrom("", 0)
	defer all.Close()
	var ids []string
	for i := range 300 {
		ids = append(ids, create(t, s, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("k", i)).ID)
	}
	var last uint64
	for i, id := range ids {
		c := Recv(t, all)
		if c.AccountID != id || c.Seq <= last || c.Resync {
			t.Fatalf("change %d = %+v, want %s after seq %d", i, c, id, last)
		}
		last = c.Seq
	}
}

func testSlowSubscriber(t *testing.T, s store.Store) { SlowSubscriber(t, s, 500, 2*time.Minute) }

// SlowSubscriber makes writes updates of one account while a subscriber to
// it and an all-accounts one never read, and fails unless they finish
// within wait: a subscriber never blocks writers.
func SlowSubscriber(t testing.TB, s store.Store, writes int, wait time.Duration) {
	t.Helper()
	a := create(t, s, "ada@example.com", "k1")
	one := s.Subscribe(a.ID) // never read
	all := s.Subscribe("")   // never read
	defer one.Close()
	defer all.Close()
	done := make(chan error, 1)
	go func() {
		for range writes {
			if _, err := s.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("writers blocked by subscribers that never read")
	}
}

// Concurrent updates of one account from many goroutines lose none.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Half through Update with an event and a notice, half through UpdateAccount.
				var err error
				if i%2 == 0 {
					err = s.Update(ctx, func(tx store.Tx) error {
						if _, err := tx.RecordEvent(store.Event{ID: fmt.Sprintf("evt_%d_%d", w, i), AccountID: a.ID}); err != nil {
							return err
						}
						if _, err := tx.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
							return err
						}
						_, _, err := tx.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: fmt.Sprint(w, "_", i)})
						return err
					})
				} else {
					_, err = s.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil })
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := must[store.Account](t)(s.Account(a.ID))
	if got.NextInvoiceAmount != workers*each || got.Version != 1+workers*each {
		t.Errorf("after %d updates: amount %d, version %d", workers*each, got.NextInvoiceAmount, got.Version)
	}
	if ns := must[[]store.Notice](t)(s.Notices(a.ID)); len(ns) != workers*((each+1)/2) {
		t.Errorf("notices %d", len(ns))
	}
	ch := must[[]store.Change](t)(s.Changes(ctx, 0, 100000))
	if len(ch) != 1+workers*each {
		t.Errorf("feed entries %d, want %d", len(ch), 1+workers*each)
	}
	for i, c := range ch {
		if c.Seq != uint64(i+1) {
			t.Fatalf("feed has a gap: entry %d has seq %d", i, c.Seq)
		}
	}
}

func testClosed(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	sub := s.Subscribe(a.ID)
	all := s.Subscribe("")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range sub.C() {
	}
	for range all.C() {
	}
	_, err := s.Account(a.ID)
	wantErr(t, "read after Close", err, store.ErrUnavailable)
	_, err = s.UpdateAccount(a.ID, func(*store.Account) error { return nil })
	wantErr(t, "write after Close", err, store.ErrUnavailable)
	if _, ok := <-s.Subscribe(a.ID).C(); ok {
		t.Error("Subscribe after Close returned an open channel")
	}
}

func testRemoveKeyAndLabel(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	_, err := s.RemoveKey(a.ID, "SHA256:k1")
	wantErr(t, "only key", err, store.ErrLastKey)
	must[store.Account](t)(s.AddKey(a.ID, key("k3")))
	_, err = s.RemoveKey(a.ID, "SHA256:k2")
	wantErr(t, "key of another account", err, store.ErrNotFound)
	_, err = s.RemoveKey("acc_nope", "SHA256:k1")
	wantErr(t, "unknown account", err, store.ErrNotFound)

	lab, err := s.SetKeyLabel(a.ID, "SHA256:k3", "  laptop\x1b[31m \n")
	if err != nil || lab.Keys[1].Label != "laptop[31m" || lab.Version != 3 {
		t.Fatalf("SetKeyLabel = %+v, %v", lab.Keys, err)
	}
	_, err = s.SetKeyLabel(a.ID, "SHA256:k2", "x")
	wantErr(t, "label a key of another account", err, store.ErrNotFound)

	sub := s.Subscribe(a.ID)
	defer sub.Close()
	got, err := s.RemoveKey(a.ID, "SHA256:k1")
	if err != nil || len(got.Keys) != 1 || got.Keys[0].Fingerprint != "SHA256:k3" || got.Keys[0].Label != "laptop[31m" || got.Version != 4 {
		t.Fatalf("RemoveKey = %+v, %v", got, err)
	}
	if c := Recv(t, sub); c.AccountID != a.ID {
		t.Errorf("RemoveKey's change is for %q", c.AccountID)
	}
	wantErr(t, "removed key", second(s.AccountByKey("SHA256:k1")), store.ErrNotFound)
	if byKey := must[store.Account](t)(s.AccountByKey("SHA256:k3")); byKey.ID != a.ID {
		t.Errorf("remaining key finds %s", byKey.ID)
	}
	_, err = s.RemoveKey(a.ID, "SHA256:k3")
	wantErr(t, "last key after a removal", err, store.ErrLastKey)
	// The removed fingerprint is free: another account can add it.
	if got := must[store.Account](t)(s.AddKey(b.ID, key("k1"))); len(got.Keys) != 2 {
		t.Errorf("re-adding a removed key: %+v", got.Keys)
	}
	// A failed removal inside a transaction that fails leaves the key.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.RemoveKey(b.ID, "SHA256:k1"); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "aborted removal", err, boom)
	if byKey := must[store.Account](t)(s.AccountByKey("SHA256:k1")); byKey.ID != b.ID {
		t.Errorf("aborted removal lost the key: %s", byKey.ID)
	}
}

func testKeyUsed(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	sub := s.Subscribe(a.ID)
	defer sub.Close()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.KeyUsed("SHA256:k1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.KeyUsed("SHA256:k1", at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := must[store.Account](t)(s.Account(a.ID))
	if !got.Keys[0].LastUsedAt.Equal(at) || got.Version != 1 {
		t.Errorf("after KeyUsed: %+v version %d", got.Keys[0], got.Version)
	}
	assertNone(t, sub)
	wantErr(t, "unknown key", s.KeyUsed("SHA256:nope", at), store.ErrNotFound)
}

func testLinkCodes(t *testing.T, s store.Store) {
	a := create(t, s, "ada@example.com", "k1")
	b := create(t, s, "bob@example.com", "k2")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put := func(c store.LinkCode) (store.LinkCode, error) {
		return InUpdate(s, func(tx store.Tx) (store.LinkCode, error) { return tx.PutLinkCode(c) })
	}
	get := func(code string) (store.LinkCode, error) {
		return InView(s, func(tx store.ReadTx) (store.LinkCode, error) { return tx.LinkCode(code) })
	}
	// use links k with code in one transaction, as the portal does.
	use := func(code, k string, at time.Time) (store.Account, error) {
		var acct store.Account
		err := s.Update(ctx, func(tx store.Tx) error {
			c, err := tx.UseLinkCode(code, key(k).Fingerprint, at)
			if err != nil {
				return err
			}
			acct, err = tx.AddKey(c.AccountID, key(k))
			return err
		})
		return acct, err
	}
	c1, err := put(store.LinkCode{Code: "AAAA1111", AccountID: a.ID, CreatedBy: "SHA256:k1", ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil || c1.CreatedAt.IsZero() {
		t.Fatalf("PutLinkCode = %+v, %v", c1, err)
	}
	_, err = put(store.LinkCode{Code: "AAAA1111", AccountID: b.ID, ExpiresAt: now.Add(time.Minute)})
	wantErr(t, "code taken", err, store.ErrLinkTaken)
	_, err = put(store.LinkCode{Code: "ZZZZ", AccountID: "acc_nope", ExpiresAt: now.Add(time.Minute)})
	wantErr(t, "unknown account", err, store.ErrNotFound)
	if _, err := put(store.LinkCode{Code: "ZZZZ", AccountID: a.ID}); err == nil {
		t.Error("code without expiry stored")
	}
	if got := must[store.LinkCode](t)(get("AAAA1111")); got.AccountID != a.ID || got.CreatedBy != "SHA256:k1" || !got.ExpiresAt.Equal(c1.ExpiresAt) {
		t.Errorf("LinkCode = %+v", got)
	}

	_, err = use("NOPE", "k3", now)
	wantErr(t, "unknown code", err, store.ErrNotFound)
	_, err = use("AAAA1111", "k3", now.Add(10*time.Minute))
	wantErr(t, "expired code", err, store.ErrCodeExpired)
	// A key of another account: AddKey fails, the code stays unused.
	_, err = use("AAAA1111", "k2", now)
	wantErr(t, "key of another account", err, store.ErrKeyTaken)
	acct, err := use("AAAA1111", "k3", now.Add(time.Minute))
	if err != nil || acct.ID != a.ID || len(acct.Keys) != 2 {
		t.Fatalf("use = %+v, %v", acct, err)
	}
	_, err = use("AAAA1111", "k4", now.Add(2*time.Minute))
	wantErr(t, "reused code", err, store.ErrCodeUsed)
	used, err := InUpdate(s, func(tx store.Tx) (store.LinkCode, error) { return tx.UseLinkCode("AAAA1111", "SHA256:k4", now) })
	wantErr(t, "reused code", err, store.ErrCodeUsed)
	if used.AccountID != a.ID || used.UsedBy != "SHA256:k3" || !used.UsedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("used code = %+v", used)
	}
	// A new code of the account replaces the old one.
	must[store.LinkCode](t)(put(store.LinkCode{Code: "BBBB2222", AccountID: a.ID, ExpiresAt: now.Add(10 * time.Minute)}))
	wantErr(t, "replaced code", second(get("AAAA1111")), store.ErrNotFound)
	must[store.LinkCode](t)(put(store.LinkCode{Code: "CCCC3333", AccountID: b.ID, ExpiresAt: now.Add(10 * time.Minute)}))
	if got := must[store.LinkCode](t)(get("BBBB2222")); got.AccountID != a.ID {
		t.Errorf("another account's code replaced this one: %+v", got)
	}
}

// testPrune: Prune removes final events, audit entries, mailed notices and
// expired links older than the cutoff, in batches, and keeps failed events,
// unmailed notices and everything newer.
func testPrune(t *testing.T, s store.Store) {
	now := time.Now()
	cutoff := now.AddDate(0, 0, -90)
	a := create(t, s, "old@example.com", "k1")

	// Old history: 7 final events (one ignored) and a failed one, 5 audit
	// entries, 4 mailed notices and one never mailed, 3 expired links.
	for i := range 7 {
		st := store.EventStatusProcessed
		if i == 3 {
			st = store.EventStatusIgnored
		}
		if err := s.RecordEvent(store.Event{ID: fmt.Sprintf("evt_old%d", i), Type: "invoice.paid", AccountID: a.ID,
			Status: st, ReceivedAt: cutoff.Add(-time.Duration(24-i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordEvent(store.Event{ID: "evt_failed_old", Type: "x", Status: store.EventStatusFailed, ReceivedAt: cutoff.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Action: "old", AccountID: a.ID, At: cutoff.Add(-time.Duration(10-i) * time.Hour)}))
	}
	var old []store.Notice
	for i := range 5 {
		n, _, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: fmt.Sprint(i), Message: "m", CreatedAt: cutoff.Add(-48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, n)
	}
	for _, n := range old[:4] {
		if err := s.MarkMailed(n.ID, cutoff.Add(-24*time.Hour), nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := s.PutLink(fmt.Sprintf("old%d", i), "https://checkout.example/old", cutoff.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// New history that stays, stamped by the store's clock; one entry a
	// nanosecond before the cutoff goes, one at it stays.
	if _, _, err := s.ApplyEvent(store.Event{ID: "evt_new", Type: "x"}, a.ID, func(*store.Account) error { return nil }); err != nil {
		t.Fatal(err)
	}
	must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Action: "edge", AccountID: a.ID, At: cutoff.Add(-time.Nanosecond)}))
	must[store.AuditEntry](t)(s.AppendAudit(store.AuditEntry{Action: "new", AccountID: a.ID, At: cutoff}))
	fresh, _, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "new", Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMailed(fresh.ID, now, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLink("new", "https://checkout.example/new", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	seq := must[uint64](t)(s.LastSeq(ctx, ""))

	// Batches of 2 force several transactions per kind.
	got, err := s.Prune(ctx, cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.PruneResult{Events: 7, Audit: 6, Notices: 4, Links: 3}); got != want {
		t.Fatalf("Prune = %+v, want %+v", got, want)
	}
	if evs := must[[]store.Event](t)(s.Events(0)); len(evs) != 2 {
		t.Errorf("events left: %+v; want the failed old one and the new one", evs)
	}
	if evs := must[[]store.Event](t)(s.EventsForAccount(a.ID, 0)); len(evs) != 1 || evs[0].ID != "evt_new" {
		t.Errorf("account's events left: %+v", evs)
	}
	if done, err := s.EventProcessed("evt_old0"); err != nil || done {
		t.Errorf("EventProcessed(pruned) = %v, %v; want false", done, err)
	}
	if au := must[[]store.AuditEntry](t)(s.Audit(a.ID, 0)); len(au) != 1 || au[0].Action != "new" {
		t.Errorf("audit left: %+v", au)
	}
	if ns := must[[]store.Notice](t)(s.Notices(a.ID)); len(ns) != 2 {
		t.Errorf("notices left: %+v; want the unmailed old one and the new one", ns)
	}
	if out := must[[]store.Notice](t)(s.Outbox()); len(out) != 1 || out[0].ID != old[4].ID {
		t.Errorf("outbox: %+v, want the unmailed notice", out)
	}
	// A pruned notice's key is forgotten: the same notice can be added again.
	if _, added, err := s.AddNotice(store.Notice{AccountID: a.ID, Kind: "k", Key: "0", Message: "m"}); err != nil || !added {
		t.Errorf("re-adding a pruned notice: added %v, %v", added, err)
	}
	if _, err := s.Link("new", now); err != nil {
		t.Errorf("live link pruned: %v", err)
	}
	wantErr(t, "pruned link", second(s.Link("old0", cutoff.Add(-time.Hour))), store.ErrNotFound)
	// Pruning is no change: it writes no feed entry (the AddNotice above is one).
	if after := must[uint64](t)(s.LastSeq(ctx, "")); after != seq+1 {
		t.Errorf("LastSeq after Prune and one AddNotice = %d, want %d", after, seq+1)
	}
	// A second run finds nothing; a cancelled one stops.
	if got, err := s.Prune(ctx, cutoff, 2); err != nil || got != (store.PruneResult{}) {
		t.Errorf("second Prune = %+v, %v", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Prune(cctx, now, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Prune: %v", err)
	}
}

// testAccountCounts: the counts metrics read equal a scan of the accounts
// after every kind of account write, and TrialsEndingBetween counts trials
// (and canceling trials) by their end.
func testAccountCounts(t *testing.T, s store.Store) {
	scan := func() map[string]int {
		t.Helper()
		m := map[string]int{}
		if err := s.ForEachAccount(func(a store.Account) bool {
			m[fmt.Sprintf("%s/%s/%s", a.State, a.Plan, a.SubscriptionStatus)]++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	kept := func() map[string]int {
		t.Helper()
		m := map[string]int{}
		for _, c := range must[[]store.AccountCount](t)(s.AccountCounts()) {
			m[fmt.Sprintf("%s/%s/%s", c.State, c.Plan, c.SubscriptionStatus)] = c.N
		}
		return m
	}
	if got := kept(); len(got) != 0 {
		t.Fatalf("counts of an empty store = %v", got)
	}
	now := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 6 {
		ids = append(ids, create(t, s, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("c", i)).ID)
	}
	trial := func(days int) func(*store.Account) error {
		return func(a *store.Account) error {
			a.Plan, a.State, a.SubscriptionStatus, a.TrialEnd = "s", store.StateTrial, "trialing", now.AddDate(0, 0, days)
			return nil
		}
	}
	steps := []struct {
		id string
		fn func(*store.Account) error
	}{
		{ids[0], func(a *store.Account) error { a.Plan, a.State = "free", store.StateFree; return nil }},
		{ids[1], trial(1)},
		{ids[2], trial(2)},
		{ids[3], trial(10)},
		{ids[2], func(a *store.Account) error { a.State, a.SubscriptionStatus = store.StateActive, "active"; return nil }},
		{ids[4], func(a *store.Account) error {
			a.Plan, a.State, a.SubscriptionStatus = "m", store.StateActive, "active"
			return nil
		}},
		{ids[4], func(a *store.Account) error {
			a.State, a.SubscriptionStatus = store.StatePastDue, "past_due"
			return nil
		}},
		{ids[1], func(a *store.Account) error { a.State = store.StateCanceling; return nil }}, // canceling its trial
		{ids[5], func(a *store.Account) error { a.Email = "renamed@example.com"; return nil }},
	}
	for i, st := range steps {
		if _, err := s.UpdateAccount(st.id, st.fn); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got, want := kept(), scan(); !maps.Equal(got, want) {
			t.Fatalf("after step %d counts = %v, a scan finds %v", i, got, want)
		}
	}
	if _, _, err := s.ApplyEvent(store.Event{ID: "evt_1", Type: "x"}, ids[5], trial(3)); err != nil {
		t.Fatal(err)
	}
	if got, want := kept(), scan(); !maps.Equal(got, want) {
		t.Fatalf("after ApplyEvent counts = %v, a scan finds %v", got, want)
	}
	if got := kept(); got["active/m/past_due"] != 0 || got["past_due/m/past_due"] != 1 || got["trial/s/trialing"] != 2 {
		t.Errorf("counts = %v", got)
	}
	// Trials ending in the next 3 days: ids[1] (canceling, 1 day); ids[5]
	// ends at 3 days, the excluded edge; ids[2] is now active, ids[3] ends
	// in 10 days.
	if n, err := s.TrialsEndingBetween(now, now.AddDate(0, 0, 3)); err != nil || n != 1 {
		t.Errorf("TrialsEndingBetween 3 days = %d, %v; want 1", n, err)
	}
	if n, err := s.TrialsEndingBetween(now, now.AddDate(0, 0, 11)); err != nil || n != 3 {
		t.Errorf("TrialsEndingBetween 11 days = %d, %v; want 3", n, err)
	}
	// A trial that becomes active leaves the trial ends.
	if _, err := s.UpdateAccount(ids[1], func(a *store.Account) error { a.State = store.StateActive; return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.TrialsEndingBetween(now, now.AddDate(0, 0, 11)); err != nil || n != 2 {
		t.Errorf("TrialsEndingBetween after activation = %d, %v; want 2", n, err)
	}
}
