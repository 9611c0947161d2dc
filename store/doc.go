// Package store keeps the portal's durable state in one bbolt file: accounts with
// their SSH keys and Stripe ids, the processed-webhook-event log, notices with a
// mail outbox, and an admin audit log. It also runs a change feed that tells
// subscribers, after every commit, which account changed.
//
// A bbolt file holds an exclusive lock, so a process opens it once with Open and
// shares the *DB; a second Open of the same file, from this or another process,
// fails after Options.Timeout instead of hanging.
//
// Lookups return ErrNotFound (test with errors.Is) only when the record does not
// exist; any other error means the store could not answer, and callers must not
// treat it as "unknown" (an unknown SSH key is a register screen, a store error
// is an error screen).
//
// Values are compact JSON, so fields can be added without a migration; the
// schema version in the meta bucket guards incompatible layout changes.
package store
