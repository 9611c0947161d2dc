package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db := openAt(t, path, Options{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.PutLink("aaaa", "https://checkout.example/a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLink("bbbb", "https://checkout.example/b", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLink("aaaa", "https://elsewhere.example", now.Add(48*time.Hour)); !errors.Is(err, ErrLinkTaken) {
		t.Fatalf("PutLink over a stored token: %v, want ErrLinkTaken", err)
	}
	if err := db.PutLink("", "x", now); err == nil {
		t.Fatal("PutLink with an empty token succeeded")
	}

	// A restart keeps them.
	db = reopen(t, db, path, Options{})
	if got, err := db.Link("aaaa", now); err != nil || got != "https://checkout.example/a" {
		t.Fatalf("Link(aaaa) after reopen = %q, %v", got, err)
	}
	if _, err := db.Link("zzzz", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Link(unknown) err = %v, want ErrNotFound", err)
	}
	// Expiry is exclusive, and an expired link is not found before any sweep.
	later := now.Add(time.Minute)
	if _, err := db.Link("bbbb", later); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Link(expired) err = %v, want ErrNotFound", err)
	}
	if n, err := db.DeleteExpiredLinks(later); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredLinks = %d, %v; want 1", n, err)
	}
	if got, err := db.Link("aaaa", later); err != nil || got != "https://checkout.example/a" {
		t.Fatalf("the live link went with the sweep: %q, %v", got, err)
	}
	// The swept token is free again.
	if err := db.PutLink("bbbb", "https://checkout.example/b2", later.Add(time.Hour)); err != nil {
		t.Fatalf("PutLink over a swept token: %v", err)
	}
	if n, err := db.DeleteExpiredLinks(now.Add(2 * time.Hour)); err != nil || n != 2 {
		t.Fatalf("DeleteExpiredLinks = %d, %v; want 2", n, err)
	}
}
