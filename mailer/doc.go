// Package mailer sends the store's account notices by email.
//
// The billing webhook records notices (trial ends soon, payment failed, trial
// ended, card added, plan changed) with store.AddNotice; the ones not yet
// mailed form the store's outbox. A Mailer watches the store's change feed and
// a slow ticker, and drains the outbox over SMTP: one plain-text message per
// notice to the account's email address, then store.MarkMailed records the
// outcome. Failures are retried with backoff up to a maximum number of tries,
// after which the notice stays in the outbox with its MailError for the ops
// view. The mailer runs in its own goroutine and only reads the feed, so a slow
// or failing SMTP server never delays the webhook path.
//
// SMTP is configured with one URL (PORTAL_SMTP_URL), parsed by ParseURL:
//
//	smtp://user:pass@host:587?from=billing@example.com&tls=starttls
//
// Without a URL New returns a nil *Mailer, which is a valid, disabled mailer:
// notices then stay in the outbox.
//
// Sending uses github.com/wneessen/go-mail. The password never appears in
// errors, logs or Settings.String.
package mailer
