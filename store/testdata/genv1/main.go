// genv1 wrote v1.db: run from a checkout of main at 2b766ed (schema version 1),
// as cmd/genv1, with the output path as its argument. Kept for the record;
// the go tool ignores testdata.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/portal/portal/store"
)

func main() {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { now = now.Add(time.Second); return now }
	db, err := store.Open(os.Args[1], store.Options{Now: clock})
	check(err)
	a, err := db.CreateAccount("Ada@Example.com", store.Key{Fingerprint: "SHA256:ada1", PublicKey: "ssh-ed25519 AAAAada1"})
	check(err)
	_, err = db.AddKey(a.ID, store.Key{Fingerprint: "SHA256:ada2", PublicKey: "ssh-ed25519 AAAAada2"})
	check(err)
	_, err = db.UpdateAccount(a.ID, func(x *store.Account) error {
		x.Plan, x.State, x.TrialUsed, x.TrialEnd = "m", store.StateTrial, true, t0.Add(30*24*time.Hour)
		x.CustomerID, x.SubscriptionID, x.SubscriptionStatus = "cus_ada", "sub_ada", "trialing"
		x.HasCard, x.CardBrand, x.CardLast4, x.Currency = true, "visa", "4242", "usd"
		return nil
	})
	check(err)
	b, err := db.CreateAccount("bob@example.com", store.Key{Fingerprint: "SHA256:bob1", PublicKey: "ssh-ed25519 AAAAbob1"})
	check(err)
	_, err = db.UpdateAccount(b.ID, func(x *store.Account) error { x.Plan, x.State = "free", store.StateFree; return nil })
	check(err)
	_, _, err = db.ApplyEvent(store.Event{ID: "evt_1", Type: "customer.subscription.created", Created: t0}, a.ID, func(x *store.Account) error { x.LastSyncAt = t0; return nil })
	check(err)
	check(db.RecordEvent(store.Event{ID: "evt_2", Type: "invoice.paid", AccountID: a.ID, Status: store.EventStatusFailed, Error: "stripe 503"}))
	check(db.RecordEvent(store.Event{ID: "evt_3", Type: "charge.succeeded"}))
	n1, _, err := db.AddNotice(store.Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_ada:1", Message: "Your trial ends in 3 days."})
	check(err)
	n2, _, err := db.AddNotice(store.Notice{AccountID: a.ID, Kind: "card_added", Key: "visa:4242", Message: "Card added: Visa •••• 4242."})
	check(err)
	_, _, err = db.AddNotice(store.Notice{AccountID: b.ID, Kind: "plan_changed", Key: "x", Message: "Your plan changed."})
	check(err)
	check(db.MarkMailed(n1.ID, t0.Add(time.Hour), errors.New("smtp: 451 try later")))
	check(db.MarkMailed(n2.ID, t0.Add(time.Hour), nil))
	_, err = db.AppendAudit(store.AuditEntry{Actor: "SHA256:admin", AccountID: a.ID, Action: "extend_trial", Before: "trial_end=a", After: "trial_end=b"})
	check(err)
	_, err = db.AppendAudit(store.AuditEntry{Actor: "reconciler", AccountID: b.ID, Action: "drift", Before: "x", After: "y"})
	check(err)
	check(db.PutLink("tok1", "https://checkout.example/c/1", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	check(db.Close())
	fmt.Println("accounts", a.ID, b.ID, "notices", n1.ID, n2.ID)
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
