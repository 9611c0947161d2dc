// Package sandbox is an offline, stateful stand-in for the part of the
// Stripe API (version 2023-10-16) that the portal uses, so the unchanged
// stripe-go v76 client can run trials, renewals, card entry and webhooks on
// one machine with no network.
//
// Mount Handler under /sandbox and point stripe-go's API backend at
// http://<addr>/sandbox. Requests are form-encoded as Stripe expects and
// answered with API 2023-10-16 JSON; unknown parameters, missing objects and
// idempotency-key misuse get Stripe's error bodies and status codes.
//
// Resources: customers, products, prices (lookup_keys), subscriptions
// (trials with trial_settings.end_behavior.missing_payment_method, price
// changes with prorations, cancel, resume), invoices (list, retrieve, pay,
// upcoming; a hosted page at /invoice/{id} that pays an open invoice by
// card, and its PDF), Checkout Sessions (setup and subscription mode, served
// as a hosted HTML page at /checkout/{id}), SetupIntents and PaymentMethods
// (retrieve, attach, detach), billing portal sessions (a hosted page at
// /portal/{id}), events, webhook endpoints, and the single test clock
// clock_sandbox.
//
// # Access
//
// The API is a Stripe account's worth of power (it lists customers, cancels
// subscriptions, moves the clock), so wherever anyone else can reach it set
// Config.APIKey (LoadOrCreateAPIKey keeps one in a 0600 file): then every
// /v1 request must carry exactly that key, as a Bearer token or basic-auth
// user, or gets Stripe's 401. Without it any sk_test_ key is accepted. The
// hosted pages take no key, as a browser has none; their unguessable
// session ids are what grants access.
//
// # Clock
//
// The sandbox clock is Config.Now plus a persisted offset that only grows.
// Advance (or POST /v1/test_helpers/test_clocks/clock_sandbox/advance)
// moves it and plays out, in order and each at its own due time, whatever
// falls due: trial_will_end notices 3 days before a trial ends, trial ends,
// renewals, payment retries (Config.PaymentRetryDelays; none for an
// invoice with no payment method, as at Stripe: its retry window still
// ends in Config.FailedPaymentOutcome), expiries. A
// background ticker (Config.Tick) does the same as real time passes, so a
// read may see due work up to one tick late.
//
// # Test cards
//
// 4242 4242 4242 4242 works; 4000 0000 0000 0341 attaches but every
// charge fails; 4000 0000 0000 0002 (and ...9995, insufficient funds) is
// declined on the hosted pages; 4000 0027 6000 3184 asks for 3-D Secure on
// every charge made without the customer (invoice.payment_action_required)
// and is confirmed on the hosted invoice page, where the customer is (any
// card typed there pays too); a number that fails Luhn is rejected.
//
// # Writes
//
// Every change (an API write, due work on the clock, a hosted page's form)
// goes through Sandbox.update: under the lock, one transaction, rolled
// back in memory when rejected, else committed to the file.
//
// Amounts on the pages and in invoice line descriptions are written by
// Config.Amount, by default internal/money.Format (the portal's own
// formatter): ¥1,000, -$5.00.
//
// # Webhooks
//
// Every change emits the events Stripe would, signed as Stripe signs
// (Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">) and
// POSTed asynchronously to Config.WebhookURL and to endpoints created via
// the API. Deliveries are retried per Config.Retry, ordered per endpoint and
// object, kept across restarts, and then marked failed. CloseContext waits
// for those in flight only until its context ends; one it cuts short is
// not counted as an attempt and goes out again after the next Open. Events read through
// the API carry a sandbox-only "delivery" field (status pending, delivered,
// failed or none, with per-endpoint attempts and last error); list
// undelivered ones with GET /v1/events?delivery_success=false.
//
// # State
//
// Everything lives in memory and is written through to a bbolt file of its
// own (Config.Path), so a restart keeps customers, subscriptions, the clock,
// idempotency keys and pending deliveries.
package sandbox
