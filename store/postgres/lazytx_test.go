package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/portal/portal/store"
)

// A write an Update sends with a later statement (execLater) that the
// server refuses fails the Update, and nothing of it commits: here an audit
// entry jsonb cannot hold (a NUL character), queued after an account change.
func TestQueuedWriteErrorFailsUpdate(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	a, err := db.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, then := range []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"commit", func(store.Tx) error { return nil }},
		{"next statement", func(tx store.Tx) error { _, err := tx.Account(a.ID); return err }},
	} {
		t.Run(then.name, func(t *testing.T) {
			err := db.Update(ctx, func(tx store.Tx) error {
				if _, err := tx.UpdateAccount(a.ID, func(x *store.Account) error { x.AmountDue = 99; return nil }); err != nil {
					return err
				}
				if _, err := tx.AppendAudit(store.AuditEntry{AccountID: a.ID, Action: "test", After: "nul\x00"}); err != nil {
					return err
				}
				return then.fn(tx)
			})
			if err == nil {
				t.Fatal("Update committed a write the server refused")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Update error = %v, want ErrUnavailable", err)
			}
			err = db.View(ctx, func(tx store.ReadTx) error {
				got, err := tx.Account(a.ID)
				if err != nil {
					return err
				}
				if got.Version != a.Version || got.AmountDue != 0 {
					t.Errorf("account after the failed Update: version %d, amount due %d; want %d, 0", got.Version, got.AmountDue, a.Version)
				}
				entries, err := tx.Audit(a.ID, 0)
				if len(entries) != 0 {
					t.Errorf("audit after the failed Update: %d entries, want 0", len(entries))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
