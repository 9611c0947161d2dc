package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

func newKey(t testing.TB, comment string) (string, store.Key) {
	t.Helper()
	line, _ := testkit.AuthorizedKey(t, comment)
	k, err := ParseKey(line)
	if err != nil {
		t.Fatal(err)
	}
	return line, k
}

func setup(t testing.TB, limits Limits) (*Service, store.Store, *testkit.Clock) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "p.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c := testkit.NewClock(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	return New(db, Options{Now: c.Now, Limits: limits}), db, c
}

// newAccount registers ada@example.com with a fresh key (see newKey).
func newAccount(t testing.TB, db store.Store, comment string) (string, store.Key, store.Account) {
	t.Helper()
	line, k := newKey(t, comment)
	a, err := db.CreateAccount("ada@example.com", k)
	if err != nil {
		t.Fatal(err)
	}
	return line, k, a
}

func TestParseKey(t *testing.T) {
	line, k := newKey(t, "ada@laptop")
	if k.Label != "ada@laptop" || !strings.HasPrefix(k.Fingerprint, "SHA256:") || k.Type() != "ssh-ed25519" || strings.Contains(k.PublicKey, "laptop") {
		t.Errorf("ParseKey = %+v", k)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "No public key given"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "private key"},
		{"hello world", "not an SSH public key"},
		{line + "\n" + line, "one public key at a time"},
	} {
		_, err := ParseKey(tc.in)
		if err == nil || !strings.Contains(Message(err), tc.want) {
			t.Errorf("ParseKey(%.20q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{"7kq2-m9xd": "7KQ2M9XD", " 7KQ2 M9XD ": "7KQ2M9XD", "o0il": "0011"} {
		if got := NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
	if c := newCode(); len(c) != codeLen || NormalizeCode(FormatCode(c)) != c {
		t.Errorf("newCode %q does not survive FormatCode/NormalizeCode", c)
	}
}

func TestLinkByCode(t *testing.T) {
	ctx := context.Background()
	s, db, clk := setup(t, Limits{})
	_, k1, a := newAccount(t, db, "")
	c, err := s.NewLinkCode(ctx, a.ID, k1.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	_, k2 := newKey(t, "desk")
	_, k3 := newKey(t, "")
	if _, err := s.Link(ctx, "XXXX-XXXX", k2, "10.0.0.1:5000"); !strings.Contains(Message(err), "No such code") {
		t.Errorf("guessed code: %v", err)
	}
	if _, err := s.Link(ctx, "nope", k2, "10.0.0.1:5000"); !strings.Contains(Message(err), "8 letters and digits") {
		t.Errorf("malformed code: %v", err)
	}
	got, err := s.Link(ctx, strings.ToLower(FormatCode(c.Code)), k2, "10.0.0.1:5000")
	if err != nil || got.ID != a.ID || len(got.Keys) != 2 {
		t.Fatalf("Link = %+v, %v", got, err)
	}
	if _, err := s.Link(ctx, c.Code, k3, "10.0.0.1:5000"); !errors.Is(err, store.ErrCodeUsed) || !strings.Contains(Message(err), "used already") {
		t.Errorf("reused code: %v", err)
	}
	c2, _ := s.NewLinkCode(ctx, a.ID, k1.Fingerprint)
	clk.Add(CodeTTL)
	if _, err := s.Link(ctx, c2.Code, k3, "10.0.0.1:5000"); !errors.Is(err, store.ErrCodeExpired) || !strings.Contains(Message(err), "expired") {
		t.Errorf("expired code: %v", err)
	}
	c3, _ := s.NewLinkCode(ctx, a.ID, k1.Fingerprint)
	if _, err := s.Link(ctx, c3.Code, k1, "10.0.0.1:5000"); !strings.Contains(Message(err), "already on the account") {
		t.Errorf("own key: %v", err)
	}
	audit, _ := db.Audit(a.ID, 0)
	if len(audit) != 1 || audit[0].Action != "key.link" || !strings.Contains(audit[0].After, k2.Fingerprint+" (desk)") {
		t.Errorf("audit = %+v", audit)
	}
	notices, _ := db.Notices(a.ID)
	if len(notices) != 1 || notices[0].Kind != KindKeyAdded || !strings.Contains(notices[0].Message, k2.Fingerprint) {
		t.Errorf("notices = %+v", notices)
	}
}

func TestLinkAttemptsLimited(t *testing.T) {
	ctx := context.Background()
	s, db, clk := setup(t, Limits{PerAddressBurst: 3, PerAddressEvery: time.Minute, PerAccountBurst: 2, PerAccountEvery: time.Minute})
	_, k1, a := newAccount(t, db, "")
	_, k2 := newKey(t, "")
	c, _ := s.NewLinkCode(ctx, a.ID, k1.Fingerprint) // 1 of the account's 2
	for i := range 3 {
		if _, err := s.Link(ctx, "ZZZZZZZZ", k2, "10.0.0.1:1"); errors.Is(err, ErrRateLimited) {
			t.Fatalf("attempt %d limited", i+1)
		}
	}
	_, err := s.Link(ctx, c.Code, k2, "10.0.0.1:2")
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(Message(err), "try again in 1 minute") {
		t.Fatalf("4th attempt from the address: %v", err)
	}
	// Another address is not limited by the first one's guesses.
	if _, err := s.Link(ctx, c.Code, k2, "10.0.0.2:1"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	clk.Add(time.Minute)
	if _, err := s.Link(ctx, "ZZZZZZZZ", k2, "10.0.0.1:1"); errors.Is(err, ErrRateLimited) {
		t.Errorf("still limited after a minute: %v", err)
	}
	// The account: the code and the link took its 2; the minute gave one back.
	if _, err := s.NewLinkCode(ctx, a.ID, k1.Fingerprint); err != nil {
		t.Fatalf("code after a minute: %v", err)
	}
	if _, err := s.NewLinkCode(ctx, a.ID, k1.Fingerprint); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("code beyond the account's limit: %v", err)
	}
}

func TestRemoveKeyNeverTheLast(t *testing.T) {
	ctx := context.Background()
	s, db, _ := setup(t, Limits{})
	line, k1, a := newAccount(t, db, "first")
	if _, err := s.RemoveKey(ctx, a.ID, k1.Fingerprint, "key:"+k1.Fingerprint); !errors.Is(err, store.ErrLastKey) || !strings.Contains(Message(err), "only key") {
		t.Fatalf("last key: %v", err)
	}
	_, k2 := newKey(t, "second")
	if _, err := s.AddKey(ctx, a.ID, k2, "key:"+k1.Fingerprint); err != nil {
		t.Fatal(err)
	}
	k1again, _ := ParseKey(line)
	if _, err := s.AddKey(ctx, a.ID, k1again, "key:"+k1.Fingerprint); !strings.Contains(Message(err), "already on the account") {
		t.Errorf("adding a key twice: %v", err)
	}
	got, err := s.RemoveKey(ctx, a.ID, k1.Fingerprint, "key:"+k2.Fingerprint)
	if err != nil || len(got.Keys) != 1 || got.Keys[0].Fingerprint != k2.Fingerprint {
		t.Fatalf("RemoveKey = %+v, %v", got, err)
	}
	audit, _ := db.Audit(a.ID, 0)
	if len(audit) != 2 || audit[0].Action != "key.remove" || audit[0].Before != k1.Fingerprint {
		t.Errorf("audit = %+v", audit)
	}
}
