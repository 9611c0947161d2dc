package store

import (
	"errors"
	"testing"
	"time"
)

func TestNoticesUniqueAndOutbox(t *testing.T) {
	db := openTest(t, Options{NoSync: true, Now: stepClock()})
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	sub := db.Subscribe(a.ID)
	defer sub.Close()

	n1, added, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1/1700000000", Message: "3 days left"})
	if err != nil || !added || n1.ID == "" || n1.CreatedAt.IsZero() {
		t.Fatalf("AddNotice = %+v, %v, %v", n1, added, err)
	}
	recv(t, sub)
	again, added, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1/1700000000", Message: "other"})
	if err != nil || added || again.ID != n1.ID || again.Message != "3 days left" {
		t.Fatalf("duplicate AddNotice = %+v, %v, %v; want the existing notice", again, added, err)
	}
	assertNone(t, sub)
	n2, added, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "trial_will_end", Key: "sub_1/1800000000"})
	if err != nil || !added {
		t.Fatalf("other key: %v, %v", added, err)
	}
	n3, added, err := db.AddNotice(Notice{AccountID: b.ID, Kind: "trial_will_end", Key: "sub_1/1700000000"})
	if err != nil || !added {
		t.Fatalf("other account: %v, %v", added, err)
	}
	if _, _, err := db.AddNotice(Notice{AccountID: "acc_nope", Kind: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("notice for a missing account: err = %v, want ErrNotFound", err)
	}

	ns, err := db.Notices(a.ID)
	if err != nil || len(ns) != 2 || ns[0].ID != n2.ID || ns[1].ID != n1.ID {
		t.Fatalf("Notices(a) = %+v, %v; want n2, n1", ns, err)
	}
	out, err := db.Outbox()
	if err != nil || len(out) != 3 || out[0].ID != n1.ID || out[1].ID != n2.ID || out[2].ID != n3.ID {
		t.Fatalf("Outbox = %+v, %v; want n1, n2, n3", out, err)
	}

	if err := db.MarkMailed(n1.ID, time.Time{}, errors.New("smtp: 451"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := db.MarkMailed(n2.ID, at, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailed("ntc_nope", at, nil, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkMailed(unknown) = %v, want ErrNotFound", err)
	}
	out, err = db.Outbox()
	if err != nil || len(out) != 2 || out[0].ID != n1.ID || out[1].ID != n3.ID {
		t.Fatalf("Outbox after mailing = %+v, %v; want n1, n3", out, err)
	}
	if out[0].MailTries != 1 || out[0].MailError != "smtp: 451" {
		t.Errorf("failed attempt not recorded: %+v", out[0])
	}
	ns, _ = db.Notices(a.ID)
	if !ns[0].MailedAt.Equal(at) {
		t.Errorf("MailedAt = %v, want %v", ns[0].MailedAt, at)
	}
}

func TestRequeue(t *testing.T) {
	db := openTest(t, Options{NoSync: true, Now: stepClock()})
	a := mustCreate(t, db, "ada@example.com", "k1")
	n, _, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "payment_failed", Key: "in_1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailed(n.ID, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if out, _ := db.Outbox(); len(out) != 0 {
		t.Fatalf("Outbox after mailing = %+v, want empty", out)
	}
	sub := db.Subscribe(a.ID)
	defer sub.Close()
	got, err := db.Requeue(n.ID)
	if err != nil || got.ID != n.ID || !got.MailedAt.IsZero() || got.MailTries != 0 {
		t.Fatalf("Requeue = %+v, %v; want the same notice, unmailed", got, err)
	}
	recv(t, sub)
	out, err := db.Outbox()
	if err != nil || len(out) != 1 || out[0].ID != n.ID || !out[0].MailedAt.IsZero() {
		t.Fatalf("Outbox after Requeue = %+v, %v; want the notice again", out, err)
	}
	if ns, _ := db.Notices(a.ID); len(ns) != 1 {
		t.Errorf("customer sees %d notices after a re-send, want 1", len(ns))
	}
	if _, err := db.Requeue("ntc_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Requeue(unknown) = %v, want ErrNotFound", err)
	}
}

func TestMailStatus(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		n    Notice
		want MailStatus
	}{
		{"new", Notice{}, MailQueued},
		{"failed, retried later", Notice{MailTries: 2, MailError: "451", MailNextAt: at}, MailRetrying},
		{"failed, given up", Notice{MailTries: 10, MailError: "550"}, MailFailed},
		{"sent first time", Notice{MailedAt: at}, MailSent},
		{"sent after failures", Notice{MailedAt: at, MailTries: 3}, MailSent},
	} {
		if got := tc.n.MailStatus(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
