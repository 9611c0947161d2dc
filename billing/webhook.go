package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// MaxWebhookBody is the largest webhook body accepted (Stripe's are far smaller).
const MaxWebhookBody = 1 << 20

// Reasons recorded for ignored events: types the portal does not handle,
// and subscriptions of the account's customer that the portal did not make
// (see Snapshot.BelongsTo).
const (
	ignoreUnhandled = "event type not handled"
	ignoreForeign   = "subscription of another integration"
)

// WebhookOptions tune the webhook listener.
type WebhookOptions struct {
	// AllowAnyAPIVersion accepts events of API versions other than stripe-go's
	// 2023-10-16 (for `stripe listen`, which sends the account's default).
	// Objects of other versions may decode incompletely.
	AllowAnyAPIVersion bool
	// Tolerance is the accepted age of a signature's timestamp, checked
	// against the wall clock (Stripe and the sandbox sign with real time).
	// Zero: 300 s.
	Tolerance time.Duration
	// Observe, when set, hears the outcome of every delivery (for metrics).
	Observe func(WebhookResult)
}

// WebhookResult is what one delivery came to.
type WebhookResult struct {
	// Type is the event's type, "" when the delivery was refused before its
	// signature was verified (the type would be the sender's word).
	Type string
	// Outcome is processed, duplicate, ignored, failed, bad_signature or
	// rejected (not a usable Stripe event: method, body, API version).
	Outcome string
	// Latency is from receipt to answer.
	Latency time.Duration
	// Lag is from the event's creation at Stripe to its commit here, by the
	// billing clock; set for processed events.
	Lag time.Duration
}

// WebhookStats counts webhook deliveries since start, for the ops view.
type WebhookStats struct {
	Received   uint64 // every request
	Rejected   uint64 // 4xx: bad method, body, signature, version
	Processed  uint64 // committed to the store
	Ignored    uint64 // types the portal does not handle, unknown customers, foreign objects
	Duplicates uint64 // redeliveries of a processed event
	Failed     uint64 // 5xx: store or Stripe failure; Stripe retries
}

type webhookCounters struct {
	received, rejected, processed, ignored, duplicates, failed atomic.Uint64
}

// WebhookStats returns the webhook counters.
func (s *Service) WebhookStats() WebhookStats {
	c := &s.stats
	return WebhookStats{
		Received: c.received.Load(), Rejected: c.rejected.Load(), Processed: c.processed.Load(),
		Ignored: c.ignored.Load(), Duplicates: c.duplicates.Load(), Failed: c.failed.Load(),
	}
}

// WebhookHandler returns the Stripe webhook listener, to mount at
// POST /webhooks/stripe. secret is the endpoint's signing secret (whsec_...).
//
// Replies: 2xx only after the store commit; 400 for a bad or missing
// signature, a stale timestamp, an unparsable body or another API version;
// 405 for other methods; 413 for bodies over 1 MiB; 200 for duplicates,
// ignored types and objects the portal does not know (logged and recorded as
// ignored); 5xx when the store or Stripe fails, so Stripe redelivers (nothing
// is half-written: the event is recorded with the account update in one
// transaction). With an empty secret every request is refused with 503.
func (s *Service) WebhookHandler(secret string, opts WebhookOptions) http.Handler {
	if opts.Tolerance <= 0 {
		opts.Tolerance = webhook.DefaultTolerance
	}
	return &webhookHandler{s: s, secret: secret, opts: opts}
}

type webhookHandler struct {
	s      *Service
	secret string
	opts   WebhookOptions
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s := h.s
	s.stats.received.Add(1)
	res := WebhookResult{Outcome: "rejected"}
	if h.opts.Observe != nil {
		defer func() { res.Latency = time.Since(start); h.opts.Observe(res) }()
	}
	reject := func(code int, msg string, args ...any) {
		s.stats.rejected.Add(1)
		requestid.Logger(r.Context(), s.log).Warn("webhook rejected", append([]any{"status", code, "reason", msg}, args...)...)
		http.Error(w, msg, code)
	}
	if h.secret == "" {
		// Without a secret anyone could sign: refuse everything, retryably.
		s.stats.failed.Add(1)
		res.Outcome = "failed"
		requestid.Logger(r.Context(), s.log).Error("webhook refused: no signing secret configured (STRIPE_WEBHOOK_SECRET)")
		http.Error(w, "webhook signing secret not configured", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reject(http.StatusMethodNotAllowed, "webhooks are POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(http.StatusRequestEntityTooLarge, "webhook body exceeds 1 MiB")
			return
		}
		reject(http.StatusBadRequest, "could not read webhook body")
		return
	}
	sig := r.Header.Get("Stripe-Signature")
	if sig == "" {
		reject(http.StatusBadRequest, "missing Stripe-Signature header")
		return
	}
	ev, err := webhook.ConstructEventWithOptions(body, sig, h.secret, webhook.ConstructEventOptions{
		Tolerance: h.opts.Tolerance, IgnoreAPIVersionMismatch: true,
	})
	switch {
	case errors.Is(err, webhook.ErrTooOld):
		res.Outcome = "bad_signature"
		reject(http.StatusBadRequest, "webhook signature timestamp outside the tolerance (check the clock)")
		return
	case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNotSigned):
		res.Outcome = "bad_signature"
		reject(http.StatusBadRequest, "invalid webhook signature")
		return
	case err != nil:
		reject(http.StatusBadRequest, "webhook body is not a Stripe event")
		return
	}
	if !h.opts.AllowAnyAPIVersion && ev.APIVersion != stripe.APIVersion {
		reject(http.StatusBadRequest, "webhook event API version "+ev.APIVersion+" is not "+stripe.APIVersion,
			"fix", "create the endpoint pinned to API version "+stripe.APIVersion+" (portal stripe-setup), or allow any version for `stripe listen`")
		return
	}
	if ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		reject(http.StatusBadRequest, "webhook event lacks id, type or data")
		return
	}
	res.Type = string(ev.Type)
	code, msg := h.s.handleEvent(r.Context(), &ev, start)
	// handleEvent's answers: "ok", "duplicate", "ignored: <why>" or a 5xx.
	switch {
	case code >= 500:
		res.Outcome = "failed"
	case msg == "ok":
		res.Outcome = "processed"
		res.Lag = s.now().Sub(unixTime(ev.Created))
	case msg == "duplicate":
		res.Outcome = "duplicate"
	default:
		res.Outcome = "ignored"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// outcome is what handling one event decided, before the commit.
type outcome struct {
	accountID string
	snap      *Snapshot
	mutate    func(*store.Account)
	cardOnly  bool // apply mutate only: no subscription was looked at
	notices   []store.Notice
	ignore    string // non-empty: record as ignored with this reason
}

// handleEvent processes a verified event and returns the HTTP status and text.
func (s *Service) handleEvent(ctx context.Context, ev *stripe.Event, start time.Time) (int, string) {
	rec := store.Event{ID: ev.ID, Type: string(ev.Type), Created: unixTime(ev.Created)}
	log := requestid.Logger(ctx, s.log).With("event", ev.ID, "type", ev.Type)
	done, err := s.db.EventProcessed(ev.ID)
	if err != nil {
		s.stats.failed.Add(1)
		log.Error("webhook: store unavailable", "err", err)
		return http.StatusInternalServerError, "store unavailable; retry"
	}
	if done {
		// Counts the duplicate on the stored record; nothing else changes.
		if _, _, err := s.db.ApplyEvent(rec, "", nil); err != nil {
			log.Warn("webhook: duplicate not counted", "err", err)
		}
		s.stats.duplicates.Add(1)
		return http.StatusOK, "duplicate"
	}
	var obj eventObject
	var out outcome
	if uerr := json.Unmarshal(ev.Data.Raw, &obj); uerr != nil {
		out.ignore = "unreadable object: " + uerr.Error()
	} else {
		obj.fillDetached(ev)
		// From the fetch to the commit, one event per customer at a time:
		// an event that fetched an older snapshot must not commit it after
		// a newer one. Other customers' events still run, and
		// group-commit, concurrently.
		defer s.syncing.lock(obj.syncKey())()
		out, err = s.dispatch(ctx, ev, obj)
	}
	if err != nil {
		s.stats.failed.Add(1)
		rec.Status, rec.Error, rec.AccountID, rec.Latency = store.EventStatusFailed, err.Error(), out.accountID, time.Since(start)
		log.Error("webhook: handling failed; Stripe will retry", "account", out.accountID, "err", err)
		if rerr := s.db.RecordEvent(rec); rerr != nil {
			log.Error("webhook: failure not recorded", "err", rerr)
		}
		return http.StatusServiceUnavailable, "temporary failure; retry"
	}
	rec.Latency = time.Since(start)
	if out.ignore != "" {
		// Recorded as final through ApplyEvent, which also tells a
		// concurrent redelivery (dup) apart.
		rec.Status, rec.Error, rec.AccountID = store.EventStatusIgnored, out.ignore, out.accountID
		_, dup, err := s.db.ApplyEvent(rec, "", nil)
		if err != nil {
			s.stats.failed.Add(1)
			log.Error("webhook: store failed", "err", err)
			return http.StatusInternalServerError, "store unavailable; retry"
		}
		if dup {
			s.stats.duplicates.Add(1)
			return http.StatusOK, "duplicate"
		}
		s.stats.ignored.Add(1)
		// Unhandled types are routine (Stripe sends what the endpoint or
		// sandbox emits); anything else ignored is worth seeing.
		level := slog.LevelInfo
		if out.ignore == ignoreUnhandled {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "webhook: ignored", "reason", out.ignore, "account", out.accountID)
		return http.StatusOK, "ignored: " + out.ignore
	}
	// One transaction: the event record, the account update and every
	// notice it raises. A crash or store error before the commit leaves
	// none of them, the reply is 5xx and Stripe redelivers.
	var dup bool
	rec.AccountID = out.accountID
	err = s.db.Update(context.Background(), func(tx store.Tx) error {
		var err error
		if dup, err = tx.RecordEvent(rec); err != nil || dup {
			return err
		}
		var notes []store.Notice
		acct, err := tx.UpdateAccount(out.accountID, s.updateFn(out.mutate, out.snap, !out.cardOnly, &notes))
		if err != nil {
			return err
		}
		if err := addNotices(tx, append(slices.Clip(out.notices), notes...)); err != nil {
			return err
		}
		return settlePending(tx, acct)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The account vanished between lookup and commit.
		rec.Status, rec.Error = store.EventStatusIgnored, "account deleted"
		if _, _, err := s.db.ApplyEvent(rec, "", nil); err != nil {
			s.stats.failed.Add(1)
			return http.StatusInternalServerError, "store unavailable; retry"
		}
		s.stats.ignored.Add(1)
		return http.StatusOK, "ignored: account deleted"
	case err != nil:
		s.stats.failed.Add(1)
		log.Error("webhook: commit failed; Stripe will retry", "account", out.accountID, "err", err)
		return http.StatusInternalServerError, "store unavailable; retry"
	case dup:
		s.stats.duplicates.Add(1)
		return http.StatusOK, "duplicate"
	}
	s.stats.processed.Add(1)
	log.Debug("webhook: processed", "account", out.accountID, "latency", time.Since(start))
	return http.StatusOK, "ok"
}

// ref is an expandable reference: an id string, an object with an id, or null.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*r = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(s)
	case b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = ref(o.ID)
	default:
		return fmt.Errorf("reference is neither an id nor an object: %.20s", b)
	}
	return nil
}

// eventObject is the subset of the event's object the handler reads: every
// field is optional, and every reference may be an id, an object or null.
type eventObject struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Customer      ref               `json:"customer"`
	Subscription  ref               `json:"subscription"`
	SetupIntent   ref               `json:"setup_intent"`
	Mode          string            `json:"mode"`
	Metadata      map[string]string `json:"metadata"`
	BillingReason string            `json:"billing_reason"`
	AmountPaid    int64             `json:"amount_paid"`
	AmountDue     int64             `json:"amount_due"`
	Currency      string            `json:"currency"`
	// Invoices: the hosted page, and the lines (the plan an invoice bills).
	HostedInvoiceURL string       `json:"hosted_invoice_url"`
	Lines            invoiceLines `json:"lines"`
	// Disputes: the charge disputed.
	Charge ref `json:"charge"`
	// Subscription schedules: the subscription a released (or completed)
	// schedule let go; its subscription field is then null.
	ReleasedSubscription ref `json:"released_subscription"`
}

// syncKey is the Stripe customer the object concerns ("" when none): the
// key that orders the handling of events (Service.syncing).
func (o eventObject) syncKey() string {
	if o.Object == "customer" {
		return o.ID
	}
	return string(o.Customer)
}

// dispatch decides what event ev, whose object is obj, means for the store.
// An error means a temporary failure (Stripe or store unreachable): the
// event is retried.
func (s *Service) dispatch(ctx context.Context, ev *stripe.Event, obj eventObject) (outcome, error) {
	switch ev.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.trial_will_end", "customer.subscription.paused", "customer.subscription.resumed",
		"customer.subscription.pending_update_applied", "customer.subscription.pending_update_expired":
		if obj.Object != "subscription" || obj.ID == "" {
			return outcome{ignore: "event object is not a subscription"}, nil
		}
		out, sub, err := s.subscriptionOutcome(ctx, string(obj.Customer), obj.Metadata, obj.ID)
		if err != nil || out.ignore != "" {
			return out, err
		}
		if ev.Type == "customer.subscription.trial_will_end" && out.snap.Status == stripe.SubscriptionStatusTrialing && !out.snap.TrialEnd.IsZero() && !out.snap.CancelAtPeriodEnd {
			out.notices = append(out.notices, s.trialWillEndNotice(out.accountID, out.snap, sub))
		}
		return out, nil
	case "checkout.session.completed":
		return s.checkoutCompleted(ctx, obj)
	case "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required", "invoice.voided", "invoice.marked_uncollectible":
		if obj.Subscription == "" {
			return outcome{ignore: "invoice without a subscription"}, nil
		}
		out, _, err := s.subscriptionOutcome(ctx, string(obj.Customer), nil, string(obj.Subscription))
		if err != nil || out.ignore != "" {
			return out, err
		}
		switch ev.Type {
		case "invoice.paid":
			// The $0 invoice that opens a trial is not a conversion; Derive
			// keeps the account in trial because the subscription is trialing.
			if !(obj.BillingReason == "subscription_create" && obj.AmountPaid == 0) {
				requestid.Logger(ctx, s.log).Info("webhook: invoice paid", "account", out.accountID, "amount", obj.AmountPaid, "reason", obj.BillingReason)
				out.mutate = paidAt(unixTime(ev.Created))
			}
		case "invoice.payment_failed":
			out.notices = append(out.notices, s.paymentFailedNotice(out.accountID, out.snap, obj))
		case "invoice.payment_action_required":
			out.mutate = actionRequired(obj)
		}
		return out, nil
	case "customer.updated":
		if obj.Object != "customer" || obj.ID == "" {
			return outcome{ignore: "event object is not a customer"}, nil
		}
		return s.customerUpdated(ctx, obj)
	}
	if out, ok, err := s.dispatchMore(ctx, ev, obj); ok {
		return out, err
	}
	return outcome{ignore: ignoreUnhandled}, nil
}

// accountFor finds the account of a Stripe customer, falling back to the
// account_id metadata the portal puts on its objects (only for an account
// that has no other customer yet).
func (s *Service) accountFor(customerID string, meta map[string]string) (store.Account, bool, error) {
	if customerID != "" {
		acct, err := s.db.AccountByCustomer(customerID)
		if err == nil {
			return acct, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return acct, false, err
		}
	}
	if id := meta["account_id"]; id != "" {
		acct, err := s.db.Account(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return acct, false, nil
		case err != nil:
			return acct, false, err
		case acct.CustomerID == "" || acct.CustomerID == customerID:
			return acct, true, nil
		}
	}
	return store.Account{}, false, nil
}

// subscriptionOutcome re-fetches subscription subID and derives from it.
func (s *Service) subscriptionOutcome(ctx context.Context, customerID string, meta map[string]string, subID string) (outcome, *stripe.Subscription, error) {
	acct, ok, err := s.accountFor(customerID, meta)
	if err != nil {
		return outcome{}, nil, fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return outcome{ignore: "unknown customer"}, nil, nil
	}
	sub, err := s.fetchSubscription(ctx, subID)
	if isMissing(err) {
		return outcome{accountID: acct.ID, ignore: "subscription not found at Stripe"}, nil, nil
	}
	if err != nil {
		return outcome{accountID: acct.ID}, nil, fmt.Errorf("fetch subscription: %w", err)
	}
	snap := s.snapshot(sub)
	if snap.CustomerID != "" && acct.CustomerID != "" && snap.CustomerID != acct.CustomerID {
		return outcome{accountID: acct.ID, ignore: "subscription of another customer"}, nil, nil
	}
	if !snap.BelongsTo(acct.ID) {
		return outcome{accountID: acct.ID, ignore: ignoreForeign}, nil, nil
	}
	next, nextSub, err := s.successor(ctx, acct, snap)
	if err != nil {
		return outcome{accountID: acct.ID}, nil, err
	}
	if next != nil {
		return outcome{accountID: acct.ID, snap: next}, nextSub, nil
	}
	return outcome{accountID: acct.ID, snap: snap}, sub, nil
}

func (s *Service) trialWillEndNotice(accountID string, snap *Snapshot, sub *stripe.Subscription) store.Notice {
	msg := fmt.Sprintf("Your %s trial ends on %s.", s.cat.Name(snap.PlanID), snap.TrialEnd.Format("2 Jan 2006"))
	if snap.HasCard {
		msg += fmt.Sprintf(" Your card will then be charged %s a month.", FormatAmount(snap.Amount, snap.Currency))
	} else {
		msg += " Add a card to keep your plan."
	}
	return store.Notice{AccountID: accountID, Kind: NoticeTrialWillEnd, Key: sub.ID + ":" + strconv.FormatInt(snap.TrialEnd.Unix(), 10), Message: msg, CreatedAt: s.now()}
}

// checkoutCompleted handles a finished Checkout Session. Setup mode: make the
// saved card the customer's default (Checkout does not), then resume a paused
// subscription or pay the open invoice of a past_due/unpaid one, each with an
// idempotency key per session so redeliveries repeat nothing. Subscription
// mode: link the new subscription.
func (s *Service) checkoutCompleted(ctx context.Context, obj eventObject) (outcome, error) {
	if obj.ID == "" || obj.Customer == "" {
		return outcome{ignore: "checkout session without a customer"}, nil
	}
	switch obj.Mode {
	case "subscription":
		if obj.Subscription == "" {
			return outcome{ignore: "subscription checkout without a subscription"}, nil
		}
		out, _, err := s.subscriptionOutcome(ctx, string(obj.Customer), obj.Metadata, string(obj.Subscription))
		return out, err
	case "setup":
	default:
		return outcome{ignore: "checkout mode " + strconv.Quote(obj.Mode) + " not used by the portal"}, nil
	}
	acct, ok, err := s.accountFor(string(obj.Customer), obj.Metadata)
	if err != nil {
		return outcome{}, fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return outcome{ignore: "unknown customer"}, nil
	}
	if obj.SetupIntent == "" {
		return outcome{accountID: acct.ID, ignore: "setup checkout without a setup intent"}, nil
	}
	sip := &stripe.SetupIntentParams{}
	sip.Context = ctx
	sip.AddExpand("payment_method")
	si, err := s.api.SetupIntents.Get(string(obj.SetupIntent), sip)
	if isMissing(err) {
		return outcome{accountID: acct.ID, ignore: "setup intent not found at Stripe"}, nil
	}
	if err != nil {
		return outcome{accountID: acct.ID}, fmt.Errorf("fetch setup intent: %w", err)
	}
	if si.PaymentMethod == nil || si.PaymentMethod.ID == "" {
		return outcome{accountID: acct.ID, ignore: "setup intent without a payment method"}, nil
	}
	pm := si.PaymentMethod
	cp := &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(pm.ID)}}
	cp.Context = ctx
	cp.SetIdempotencyKey("portal-default-pm-" + obj.ID)
	if _, err := s.api.Customers.Update(string(obj.Customer), cp); err != nil {
		return outcome{accountID: acct.ID}, fmt.Errorf("set default payment method: %w", err)
	}
	subID := si.Metadata["subscription_id"]
	if subID == "" {
		subID = obj.Metadata["subscription_id"]
	}
	if subID == "" {
		subID = acct.SubscriptionID
	}
	if subID == "" {
		// A card without a subscription: record it on the account.
		card := &Snapshot{}
		card.setCard(pm)
		return outcome{accountID: acct.ID, cardOnly: true, mutate: func(a *store.Account) {
			card.applyCard(a)
		}}, nil
	}
	sub, err := s.fetchSubscription(ctx, subID)
	if isMissing(err) {
		return outcome{accountID: acct.ID, ignore: "subscription not found at Stripe"}, nil
	}
	if err != nil {
		return outcome{accountID: acct.ID}, fmt.Errorf("fetch subscription: %w", err)
	}
	if !s.snapshot(sub).BelongsTo(acct.ID) {
		// Never resume or pay for another integration's subscription.
		return outcome{accountID: acct.ID, ignore: ignoreForeign}, nil
	}
	if sub, err = s.useCardOnSubscription(ctx, sub, pm.ID, obj.ID); err != nil {
		return outcome{accountID: acct.ID}, err
	}
	switch sub.Status {
	case stripe.SubscriptionStatusPaused:
		if _, err := s.resume(ctx, subID, "portal-resume-"+obj.ID); err != nil && !isCardError(err) {
			return outcome{accountID: acct.ID}, fmt.Errorf("resume subscription: %w", err)
		}
	case stripe.SubscriptionStatusPastDue, stripe.SubscriptionStatusUnpaid:
		if inv := sub.LatestInvoice; inv != nil && inv.ID != "" && inv.Status == stripe.InvoiceStatusOpen {
			if err := s.payInvoice(ctx, inv.ID, pm.ID, "portal-pay-"+obj.ID+"-"+inv.ID); err != nil && !isCardError(err) {
				return outcome{accountID: acct.ID}, fmt.Errorf("pay open invoice: %w", err)
			}
		}
	default:
		return outcome{accountID: acct.ID, snap: s.snapshotWithCard(sub, pm)}, nil
	}
	if sub, err = s.fetchSubscription(ctx, subID); err != nil {
		return outcome{accountID: acct.ID}, fmt.Errorf("fetch subscription: %w", err)
	}
	return outcome{accountID: acct.ID, snap: s.snapshotWithCard(sub, pm)}, nil
}

// snapshotWithCard is snapshot, with pm as the card when the fetched
// subscription does not show one yet.
func (s *Service) snapshotWithCard(sub *stripe.Subscription, pm *stripe.PaymentMethod) *Snapshot {
	snap := s.snapshot(sub)
	if !snap.HasCard {
		snap.setCard(pm)
	}
	return snap
}

// customerUpdated follows a change of the customer's default card (e.g. in
// the customer portal): re-derive from the subscription, or just the card.
func (s *Service) customerUpdated(ctx context.Context, obj eventObject) (outcome, error) {
	acct, ok, err := s.accountFor(obj.ID, obj.Metadata)
	if err != nil {
		return outcome{}, fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return outcome{ignore: "unknown customer"}, nil
	}
	if acct.SubscriptionID != "" {
		out, _, err := s.subscriptionOutcome(ctx, obj.ID, obj.Metadata, acct.SubscriptionID)
		return out, err
	}
	p := &stripe.CustomerParams{}
	p.Context = ctx
	p.AddExpand("invoice_settings.default_payment_method")
	c, err := s.api.Customers.Get(obj.ID, p)
	if isMissing(err) {
		return outcome{accountID: acct.ID, ignore: "customer not found at Stripe"}, nil
	}
	if err != nil {
		return outcome{accountID: acct.ID}, fmt.Errorf("fetch customer: %w", err)
	}
	card := &Snapshot{}
	if c.InvoiceSettings != nil {
		card.setCard(c.InvoiceSettings.DefaultPaymentMethod)
	}
	return outcome{accountID: acct.ID, cardOnly: true, mutate: func(a *store.Account) {
		card.applyCard(a)
	}}, nil
}

// isCardError reports a declined card: the subscription state (past_due,
// unpaid, ...) tells the customer; it is not a reason to retry the event.
func isCardError(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.Type == stripe.ErrorTypeCard || se.Code == stripe.ErrorCodeCardDeclined)
}

// resume resumes a paused subscription, starting a new billing period now
// (the trial is over: the first invoice is due).
func (s *Service) resume(ctx context.Context, subID, idempotencyKey string) (*stripe.Subscription, error) {
	rp := &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now"), ProrationBehavior: stripe.String("none")}
	rp.Context = ctx
	rp.SetIdempotencyKey(idempotencyKey)
	return s.api.Subscriptions.Resume(subID, rp)
}

// payInvoice pays an open invoice with payment method pmID.
func (s *Service) payInvoice(ctx context.Context, invoiceID, pmID, idempotencyKey string) error {
	ip := &stripe.InvoicePayParams{PaymentMethod: stripe.String(pmID)}
	ip.Context = ctx
	ip.SetIdempotencyKey(idempotencyKey)
	_, err := s.api.Invoices.Pay(invoiceID, ip)
	return err
}
