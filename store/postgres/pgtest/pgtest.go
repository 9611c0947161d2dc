// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server comes from PORTAL_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, the server the
// project's machines start). Where none is reachable, tests skip with one line
// saying how to run them; under CI=true they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when PORTAL_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL returns the test server's URL.
func ServerURL() string {
	if u := os.Getenv("PORTAL_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var reach struct {
	once sync.Once
	err  error
}

// NewDatabase creates an empty database on the test server, drops it in
// t.Cleanup (ending its connections), and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := ServerURL()
	reach.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			err = c.Ping(ctx)
			c.Close(ctx)
		}
		reach.err = err
	})
	if reach.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL at PORTAL_TEST_DATABASE_URL=%s is unreachable under CI=true: %v", admin, reach.err)
		}
		tb.Skipf("no PostgreSQL (%v): start one and set PORTAL_TEST_DATABASE_URL (default %s) to run this test", reach.err, DefaultURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "portal_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connect %s: %v", admin, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("pgtest: connect to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: PORTAL_TEST_DATABASE_URL %q: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}
