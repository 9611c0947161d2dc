package ops

import (
	"testing"

	"github.com/portal/portal/store"
)

// The audit log says what an admin's key removal changed (the account's
// key count), not "no visible change" (the account summary has no keys).
func TestRemoveKeyAuditShowsTheChange(t *testing.T) {
	f, ids := goldenFixture(t, false)
	id := ids["alice"]
	if _, err := f.db.AddKey(id, store.Key{Fingerprint: "SHA256:alicelaptop", PublicKey: "ssh-ed25519 AAAAlaptop"}); err != nil {
		t.Fatal(err)
	}
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter", "K", "down", "enter", "y")
	e := lastAudit(t, f.db, id)
	if e.Action != "remove_key key=SHA256:alicelaptop" {
		t.Fatalf("audit = %+v", e)
	}
	if got := auditChange(e); got != "keys=2→1" {
		t.Errorf("audit change = %q, want keys=2→1 (entry %+v)", got, e)
	}
}
