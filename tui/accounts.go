package tui

import (
	"context"
	"time"

	"github.com/portal/portal/store"
)

// Accounts is what the customer screens read and write of the store: the
// session's account and notices in one snapshot (with the change feed's
// position), a new account and a dismissed notice. store.Store satisfies it; the script commands and
// the key service take the store itself.
type Accounts interface {
	LastSeq(ctx context.Context, accountID string) (uint64, error)
	View(ctx context.Context, fn func(store.ReadTx) error) error
	CreateAccount(email string, key store.Key) (store.Account, error)
	DismissNotice(accountID, noticeID string, at time.Time) error
}

var _ Accounts = store.Store(nil)
