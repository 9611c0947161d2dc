// Package billing runs the portal's plans on Stripe: the plan catalog, the
// Stripe calls behind every plan action (stripe-go v76, API 2023-10-16), the
// webhook listener that keeps the store in step with Stripe, and the one pure
// function, Derive, from a re-fetched subscription to the account's access
// state.
//
// The same code talks to real Stripe, to stripe-mock, and to the offline
// sandbox in billing/sandbox: only the client.API's base URL differs.
//
// Stripe is the source of truth. Webhook payloads are hints: for every event
// that concerns a subscription the handler re-fetches it and derives the state
// from the fetched snapshot, so events may arrive late, twice or out of order.
// A reconciler re-fetches accounts whose last sync is stale, so a missed
// webhook heals by itself. Each customer's fetch-and-commit sequences
// (webhook events, resyncs) run one at a time, so an older fetch never
// commits over a newer one; different customers run concurrently.
//
// Subscriptions of the account's Stripe customer that the portal did not
// make (a price outside the catalog and no account_id metadata for the
// account: another product sold to the same customer) are ignored.
//
// Hosted pages are handed out as short links (<PublicURL>/l/<token>) that
// fit a terminal line and are kept in the store until they expire, so they
// outlive a restart; LinkHandler redirects them to Stripe.
//
// Errors returned by Service methods carry a sentence fit for the customer:
// use Message(err). The wrapped error keeps the technical detail for logs.
package billing
