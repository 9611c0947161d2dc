package postgres

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/portal/portal/store/storetest"
)

// A bbolt store copied into PostgreSQL reads back the same: accounts (ids,
// versions, indexes), events, notices and the outbox, audit, pending
// checkouts, short links and link codes.
func TestImportFromBbolt(t *testing.T) {
	ctx := context.Background()
	src, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, err := src.CreateAccount("Ada@Example.com", store.Key{Fingerprint: "SHA256:a1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddKey(a.ID, store.Key{Fingerprint: "SHA256:a2"}); err != nil {
		t.Fatal(err)
	}
	b, err := src.CreateAccount("bob@example.com", store.Key{Fingerprint: "SHA256:b1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.ApplyEvent(store.Event{ID: "evt_1", Type: "customer.subscription.updated"}, a.ID, func(x *store.Account) error {
		x.CustomerID, x.Plan, x.State = "cus_1", "m", store.StateTrial
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := src.RecordEvent(store.Event{ID: "evt_2", Type: "x", Status: store.EventStatusFailed, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	n1, _, _ := src.AddNotice(store.Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "k", Message: "3 days left"})
	if _, _, err := src.AddNotice(store.Notice{AccountID: b.ID, Kind: "card_added", Key: "k", Message: "card"}); err != nil {
		t.Fatal(err)
	}
	if err := src.MarkMailed(n1.ID, time.Now(), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, act := range []string{"first", "second"} {
		if _, err := src.AppendAudit(store.AuditEntry{Actor: "admin", AccountID: a.ID, Action: act}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Update(ctx, func(tx store.Tx) error {
		return tx.PutPendingCheckout(store.PendingCheckout{AccountID: b.ID, Plan: "s", SessionID: "cs_1"})
	}); err != nil {
		t.Fatal(err)
	}

	// Two short links (one expired: the sweep's business, not the copy's)
	// and a link code, used, beside one not yet used.
	now := time.Now()
	if err := src.PutLink("tok1", "https://example.com/pay?x=1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := src.PutLink("tok2", "https://example.com/old", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := src.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutLinkCode(store.LinkCode{Code: "ABCD1234", AccountID: a.ID, CreatedBy: "SHA256:a1", ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.PutLinkCode(store.LinkCode{Code: "WXYZ9876", AccountID: b.ID, CreatedBy: "SHA256:b1", ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		_, err := tx.UseLinkCode("WXYZ9876", "SHA256:b2", now)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	dst := openTest(t)
	counts, err := dst.Import(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Accounts: 2, Keys: 3, Events: 2, Notices: 2, Audit: 2, PendingCheckouts: 1, Links: 2, LinkCodes: 2}); counts != want {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	same := func(what string, f func(store.Store) (any, error)) {
		t.Helper()
		x, err1 := f(src)
		y, err2 := f(dst)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(x, y) {
			t.Errorf("%s differs:\nbbolt    %+v (%v)\npostgres %+v (%v)", what, x, err1, y, err2)
		}
	}
	same("account a", func(s store.Store) (any, error) { return s.Account(a.ID) })
	same("by key", func(s store.Store) (any, error) { return s.AccountByKey("SHA256:a2") })
	same("by email", func(s store.Store) (any, error) { return s.AccountByEmail("ada@example.COM") })
	same("by customer", func(s store.Store) (any, error) { return s.AccountByCustomer("cus_1") })
	same("events", func(s store.Store) (any, error) { return s.Events(0) })
	same("notices", func(s store.Store) (any, error) { return s.Notices(a.ID) })
	same("outbox", func(s store.Store) (any, error) { return s.Outbox() })
	same("audit", func(s store.Store) (any, error) { return s.Audit("", 0) })
	same("pending", func(s store.Store) (any, error) { return s.PendingCheckoutBySession("cs_1") })
	same("link", func(s store.Store) (any, error) { return s.Link("tok1", now) })
	same("expired link", func(s store.Store) (any, error) {
		_, err := s.Link("tok2", now)
		return errors.Is(err, store.ErrNotFound), nil
	})
	same("expired link before expiry", func(s store.Store) (any, error) { return s.Link("tok2", now.Add(-2*time.Hour)) })
	for _, code := range []string{"ABCD1234", "WXYZ9876"} {
		same("link code "+code, func(s store.Store) (any, error) {
			c, err := storetest.InView(s, func(tx store.ReadTx) (store.LinkCode, error) { return tx.LinkCode(code) })
			return c, err
		})
	}
	if _, err := dst.CreateAccount("ADA@example.com", store.Key{Fingerprint: "SHA256:new"}); !errors.Is(err, store.ErrEmailTaken) {
		t.Errorf("the copied email index: CreateAccount = %v, want ErrEmailTaken", err)
	}
	if _, err := dst.Import(ctx, src); err == nil {
		t.Error("a second Import into the now non-empty database succeeded")
	}
}
