package billing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/billing/sandbox"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

const day = 24 * time.Hour

// lifecycle is the portal's billing wired to the offline sandbox over real
// HTTP: the sandbox API and hosted pages under /sandbox, the webhook
// listener at /webhooks/stripe, signed deliveries from the sandbox to it.
type lifecycle struct {
	t   *testing.T
	sb  *sandbox.Sandbox
	db  *store.DB
	svc *Service
	srv *httptest.Server
	// down makes the listener answer 503, as if the portal missed webhooks;
	// the sandbox redelivers (quickly: see Retry below) once it is up again.
	down atomic.Bool
}

// lifecycleOption changes the sandbox's settings (Stripe's) or the
// portal's billing configuration before they start.
type lifecycleOption func(*sandbox.Config, *Config)

func newLifecycle(t *testing.T, opts ...lifecycleOption) *lifecycle {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sbCfg := sandbox.Config{
		Path: filepath.Join(t.TempDir(), "sandbox.db"), BaseURL: srv.URL + "/sandbox",
		WebhookURL: srv.URL + "/webhooks/stripe", WebhookSecret: testSecret, Tick: -1, Logger: testLogger(t),
		Retry: sandbox.RetryPolicy{MaxAttempts: 50, Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
	}
	var billCfg Config
	for _, o := range opts {
		o(&sbCfg, &billCfg)
	}
	sb, err := sandbox.Open(sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	api := apiFor(srv.URL+"/sandbox", &http.Client{Timeout: 10 * time.Second})
	if _, err := Setup(context.Background(), api, DefaultCatalog(), "", io.Discard); err != nil {
		t.Fatal(err)
	}
	db := openStore(t, true)
	billCfg.API, billCfg.Store, billCfg.Now, billCfg.PublicURL, billCfg.Logger = api, db, sb.Now, srv.URL, testLogger(t)
	svc, err := New(billCfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &lifecycle{t: t, sb: sb, db: db, svc: svc, srv: srv}
	mux.Handle("/l/", svc.LinkHandler())
	wh := svc.WebhookHandler(testSecret, WebhookOptions{})
	mux.HandleFunc("/webhooks/stripe", func(w http.ResponseWriter, r *http.Request) {
		if l.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		wh.ServeHTTP(w, r)
	})
	return l
}

func (l *lifecycle) advance(d time.Duration) {
	l.t.Helper()
	if err := l.sb.Advance(context.Background(), d); err != nil {
		l.t.Fatal(err)
	}
}

// waitFor blocks until the account satisfies cond (checked after every store
// change), failing after a generous deadline that only guards against hangs.
func (l *lifecycle) waitFor(id, what string, cond func(store.Account) bool) store.Account {
	l.t.Helper()
	sub := l.db.Subscribe(id)
	defer sub.Close()
	deadline := time.After(20 * time.Second)
	for {
		a, err := l.db.Account(id)
		if err != nil {
			l.t.Fatal(err)
		}
		if cond(a) {
			return a
		}
		select {
		case <-sub.C():
		case <-deadline:
			l.t.Fatalf("account never reached %s; last: %s", what, a.AuditSummary())
		}
	}
}

func (l *lifecycle) waitState(id string, st store.State) store.Account {
	l.t.Helper()
	return l.waitFor(id, "state "+string(st), func(a store.Account) bool { return a.State == st })
}

// waitEvent waits until an event of type typ for the account has been processed.
func (l *lifecycle) waitEvent(id, typ string) {
	l.t.Helper()
	l.waitRecord(id, "a processed "+typ, func(e store.Event) bool { return e.Type == typ && e.Status == store.EventStatusProcessed })
}

// waitRecord waits until one of the account's event records satisfies ok.
func (l *lifecycle) waitRecord(id, what string, ok func(store.Event) bool) {
	l.t.Helper()
	l.waitFor(id, what, func(store.Account) bool {
		evs, err := l.db.EventsForAccount(id, 0)
		if err != nil {
			l.t.Fatal(err)
		}
		return slices.ContainsFunc(evs, ok)
	})
}

func (l *lifecycle) hasNotice(id string, kind store.NoticeKind) bool {
	l.t.Helper()
	ns, err := l.db.Notices(id)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range ns {
		if n.Kind == kind {
			return true
		}
	}
	return false
}

// payCard completes a hosted checkout page the way a browser would: open
// the short link, follow its redirect to the page, then POST its card form.
func (l *lifecycle) payCard(link Link, number string) {
	l.t.Helper()
	if !strings.HasPrefix(link.URL, l.srv.URL+"/l/") || link.Target == "" {
		l.t.Fatalf("checkout link %+v", link)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link.URL)
	if err != nil {
		l.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != link.Target {
		l.t.Fatalf("short link: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), link.Target)
	}
	resp, err = c.Get(link.Target)
	if err != nil {
		l.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="cardnumber"`) {
		l.t.Fatalf("checkout page: %d\n%s", resp.StatusCode, page)
	}
	form := url.Values{"cardnumber": {number}, "exp": {"12/45"}, "cvc": {"123"}, "name": {"Test Customer"}, "email": {"pay@example.com"}}
	resp, err = c.PostForm(link.Target, form)
	if err != nil {
		l.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		l.t.Fatalf("checkout submit: %d\n%s", resp.StatusCode, body)
	}
}

func (l *lifecycle) trial(email, plan string) store.Account {
	l.t.Helper()
	a := newAccount(l.t, l.db, email)
	a, err := l.svc.ChoosePlan(context.Background(), a.ID, plan)
	if err != nil {
		l.t.Fatalf("ChoosePlan(%s): %v (%s)", plan, err, Message(err))
	}
	if a.State != store.StateTrial || a.HasCard || !a.TrialUsed || a.CustomerID == "" {
		l.t.Fatalf("after ChoosePlan: %s", a.AuditSummary())
	}
	l.waitEvent(a.ID, "customer.subscription.created")
	return a
}

func (l *lifecycle) addCard(id, number string) {
	l.t.Helper()
	link, err := l.svc.CardLink(context.Background(), id)
	if err != nil {
		l.t.Fatalf("CardLink: %v", err)
	}
	l.payCard(link, number)
	l.waitEvent(id, "checkout.session.completed")
}

// active is a trial with a working card past the trial's end: an active
// subscription on plan.
func (l *lifecycle) active(email, plan string) store.Account {
	l.t.Helper()
	a := l.trial(email, plan)
	l.addCard(a.ID, "4242424242424242")
	l.advance(31 * day)
	return l.waitState(a.ID, store.StateActive)
}

// buy pays a subscription-mode Checkout page selling plan, as the screen
// asks for one once the trial is used.
func (l *lifecycle) buy(id, plan, number string) {
	l.t.Helper()
	link, err := l.svc.CheckoutLink(context.Background(), id, plan)
	if err != nil {
		l.t.Fatalf("CheckoutLink: %v", err)
	}
	l.payCard(link, number)
	l.waitEvent(id, "checkout.session.completed")
}

func TestLifecycleTrialNoCardLockedThenFree(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("nocard@example.com", "s")
	l.advance(28 * day)
	l.waitFor(a.ID, "a trial_will_end notice", func(store.Account) bool { return l.hasNotice(a.ID, "trial_will_end") })
	l.advance(3 * day)
	a = l.waitState(a.ID, store.StateLockedTrialEnded)
	l.waitFor(a.ID, "a trial_ended notice", func(store.Account) bool { return l.hasNotice(a.ID, "trial_ended") })
	if !a.State.Locked() || a.SubscriptionStatus != "paused" {
		t.Fatalf("locked: %s", a.AuditSummary())
	}
	// A second trial is refused.
	if _, err := l.svc.ChoosePlan(ctx, a.ID, "m"); err == nil {
		t.Fatal("ChoosePlan paid on a locked account: no error")
	}
	a, err := l.svc.ChoosePlan(ctx, a.ID, PlanFree)
	if err != nil {
		t.Fatalf("ChoosePlan(free): %v", err)
	}
	if a.State != store.StateFree || a.Plan != PlanFree {
		t.Fatalf("after free: %s", a.AuditSummary())
	}
	l.waitEvent(a.ID, "customer.subscription.deleted")
	a, _ = l.db.Account(a.ID)
	if a.State != store.StateFree || a.Plan != PlanFree || a.CustomerID == "" || !a.TrialUsed {
		t.Fatalf("after the webhook: %s (customer %q)", a.AuditSummary(), a.CustomerID)
	}
	// Trial used: a paid plan now needs a card, through subscription-mode checkout.
	if _, err := l.svc.ChoosePlan(ctx, a.ID, "m"); err == nil || Message(err) == "" {
		t.Fatalf("ChoosePlan after trial: %v", err)
	}
	l.buy(a.ID, "m", "4242424242424242")
	a = l.waitState(a.ID, store.StateActive)
	if a.Plan != "m" || !a.HasCard {
		t.Fatalf("bought after trial: %s", a.AuditSummary())
	}
}

func TestLifecycleTrialCardActive(t *testing.T) {
	l := newLifecycle(t)
	a := l.trial("card@example.com", "m")
	l.addCard(a.ID, "4242424242424242")
	a = l.waitFor(a.ID, "a card_added notice", func(a store.Account) bool { return l.hasNotice(a.ID, "card_added") })
	if a.State != store.StateTrial || a.CardLast4 != "4242" || !a.HasCard {
		t.Fatalf("with card: %s", a.AuditSummary())
	}
	l.advance(31 * day)
	a = l.waitState(a.ID, store.StateActive)
	if a.Plan != "m" || a.NextInvoiceAmount != 2900 || !a.NextInvoiceAt.After(l.sb.Now()) {
		t.Fatalf("active: %s next %d at %s", a.AuditSummary(), a.NextInvoiceAmount, a.NextInvoiceAt)
	}
}

func TestLifecycleFailingCardUnpaidThenFixed(t *testing.T) {
	l := newLifecycle(t)
	a := l.trial("declines@example.com", "s")
	l.addCard(a.ID, "4000000000000341") // attaches, then every charge fails
	l.advance(31 * day)
	a = l.waitState(a.ID, store.StatePastDue)
	l.waitFor(a.ID, "a payment_failed notice", func(store.Account) bool { return l.hasNotice(a.ID, "payment_failed") })
	l.advance(6 * day)
	a = l.waitState(a.ID, store.StateLockedUnpaid)
	l.addCard(a.ID, "4242424242424242")
	a = l.waitState(a.ID, store.StateActive)
	if a.CardLast4 != "4242" {
		t.Fatalf("fixed: %s", a.AuditSummary())
	}
}

func TestLifecycleUpgradeDowngradeCancelUndo(t *testing.T) {
	l := newLifecycle(t, func(_ *sandbox.Config, c *Config) { c.DowngradeAt = "now" })
	ctx := context.Background()
	a := l.active("changes@example.com", "s")

	l.advance(10 * day) // mid-period: the upgrade is prorated
	pv, err := l.svc.PreviewChange(ctx, a.ID, "xl")
	if err != nil {
		t.Fatalf("PreviewChange: %v", err)
	}
	if !pv.Upgrade || pv.AmountDue <= 0 || pv.AmountDue >= 7900 || pv.NextAmount != 7900 {
		t.Fatalf("preview: %+v", pv)
	}
	l.advance(20 * time.Minute) // the customer reads the preview, then confirms
	a, err = l.svc.ChoosePlan(ctx, a.ID, "xl")
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	// The charge is the amount shown, not one prorated from the confirm.
	var charged int64 = -1
	ip := &stripe.InvoiceListParams{Customer: stripe.String(a.CustomerID)}
	for it := l.svc.api.Invoices.List(ip); it.Next(); {
		if inv := it.Invoice(); inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionUpdate {
			charged = inv.AmountPaid
		}
	}
	if charged != pv.AmountDue {
		t.Fatalf("upgrade charged %d cents, the preview showed %d", charged, pv.AmountDue)
	}
	if a.Plan != "xl" || a.State != store.StateActive || a.PaymentPending {
		t.Fatalf("upgraded: %s", a.AuditSummary())
	}
	l.waitFor(a.ID, "plan_changed", func(store.Account) bool { return l.hasNotice(a.ID, "plan_changed") })
	a, err = l.svc.ChoosePlan(ctx, a.ID, "s")
	if err != nil {
		t.Fatalf("downgrade: %v", err)
	}
	if a.Plan != "s" || a.State != store.StateActive {
		t.Fatalf("downgraded: %s", a.AuditSummary())
	}

	a, err = l.svc.CancelAtPeriodEnd(ctx, a.ID)
	if err != nil || a.State != store.StateCanceling {
		t.Fatalf("cancel: %v %s", err, a.AuditSummary())
	}
	a, err = l.svc.UndoCancel(ctx, a.ID)
	if err != nil || a.State != store.StateActive || a.CancelAtPeriodEnd {
		t.Fatalf("undo: %v %s", err, a.AuditSummary())
	}
	// To free while paid and active: at the period end.
	a, err = l.svc.ChoosePlan(ctx, a.ID, PlanFree)
	if err != nil || a.State != store.StateCanceling || a.Plan != "s" {
		t.Fatalf("to free: %v %s", err, a.AuditSummary())
	}
	l.advance(25 * day)
	a = l.waitState(a.ID, store.StateFree)
	if a.Plan != PlanFree || a.SubscriptionStatus != "canceled" {
		t.Fatalf("ended: %s", a.AuditSummary())
	}
}

func TestLifecycleResyncAndReconciler(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	l.down.Store(true) // every webhook of this test is missed until the end
	a := newAccount(t, l.db, "drift@example.com")
	a, err := l.svc.ChoosePlan(ctx, a.ID, "s")
	if err != nil {
		t.Fatal(err)
	}
	// The store believes something else, and has not synced for long.
	if _, err := l.db.UpdateAccount(a.ID, func(acc *store.Account) error {
		acc.State, acc.SubscriptionStatus, acc.LastSyncAt = store.StateLockedUnpaid, "unpaid", time.Time{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	synced, drift := l.svc.ReconcileOnce(ctx, time.Hour)
	if synced != 1 || drift != 1 {
		t.Fatalf("reconcile: synced %d drift %d", synced, drift)
	}
	a, _ = l.db.Account(a.ID)
	if a.State != store.StateTrial || a.LastSyncAt.IsZero() {
		t.Fatalf("healed: %s", a.AuditSummary())
	}
	audit, err := l.db.Audit(a.ID, 0)
	if err != nil || len(audit) != 1 || audit[0].Actor != "reconciler" || !strings.Contains(audit[0].Before, "locked_unpaid") {
		t.Fatalf("audit: %v %+v", err, audit)
	}
	if synced, _ := l.svc.ReconcileOnce(ctx, time.Hour); synced != 0 {
		t.Fatalf("fresh account resynced again: %d", synced)
	}
	// The trial ends unseen; the reconciler finds the lock by itself.
	l.advance(31 * day)
	if synced, drift := l.svc.ReconcileOnce(ctx, time.Hour); synced != 1 || drift != 1 {
		t.Fatalf("after trial end: synced %d drift %d", synced, drift)
	}
	a, _ = l.db.Account(a.ID)
	if a.State != store.StateLockedTrialEnded {
		t.Fatalf("after trial end: %s", a.AuditSummary())
	}
	// Ops: extend the trial of the paused account.
	a, err = l.svc.ExtendTrial(ctx, a.ID, 7)
	if err != nil {
		t.Fatalf("ExtendTrial: %v", err)
	}
	if a.State != store.StateTrial || !a.TrialEnd.After(l.sb.Now().Add(6*day)) {
		t.Fatalf("extended: %s", a.AuditSummary())
	}
	// Webhooks come back: the whole backlog, including the replaced
	// subscription's cancellation, must not undo the extension.
	l.down.Store(false)
	l.waitEvent(a.ID, "customer.subscription.deleted")
	if b, _ := l.db.Account(a.ID); b.State != store.StateTrial || b.SubscriptionID != a.SubscriptionID {
		t.Fatalf("after the backlog: %s", b.AuditSummary())
	}
	link, err := l.svc.PortalLink(ctx, a.ID)
	if err != nil || !strings.HasPrefix(link.URL, l.srv.URL+"/l/") || !strings.Contains(link.Target, "/portal/") ||
		!link.ExpiresAt.After(l.sb.Now().Add(23*time.Hour)) {
		t.Fatalf("PortalLink: %v %+v", err, link)
	}
	resp, err := http.Get(link.URL) // follows the redirect to the sandbox's portal page
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != link.Target {
		t.Fatalf("portal short link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

// TestLifecycleExtendTrialOnlyTrials: a running trial can be extended; an
// active (paying) subscription cannot, and stays exactly as it was.
func TestLifecycleExtendTrialOnlyTrials(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("extend@example.com", "s")
	before := a.TrialEnd
	a, err := l.svc.ExtendTrial(ctx, a.ID, 7)
	if err != nil {
		t.Fatalf("ExtendTrial on a trial: %v", err)
	}
	if a.State != store.StateTrial || !a.TrialEnd.Equal(before.Add(7*day)) {
		t.Fatalf("extended trial: %s (was %s)", a.AuditSummary(), fmtTime(before))
	}
	l.addCard(a.ID, "4242424242424242")
	l.advance(38 * day)
	a = l.waitState(a.ID, store.StateActive)
	_, err = l.svc.ExtendTrial(ctx, a.ID, 7)
	var be *Error
	if !errors.As(err, &be) || !strings.Contains(Message(err), "Only a trial") || !strings.Contains(Message(err), "active") {
		t.Fatalf("ExtendTrial on an active subscription: %v (%q)", err, Message(err))
	}
	sub, err := l.svc.fetchSubscription(ctx, a.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != "active" || unixTime(sub.TrialEnd).After(l.sb.Now()) {
		t.Fatalf("refused extension still changed the subscription: status %s trial_end %s", sub.Status, fmtTime(unixTime(sub.TrialEnd)))
	}
	if b, _ := l.db.Account(a.ID); b.State != store.StateActive {
		t.Fatalf("after the refusal: %s", b.AuditSummary())
	}
}

// waitIgnored waits until event type typ for the account was recorded as
// ignored with reason why.
func (l *lifecycle) waitIgnored(id, typ, why string) {
	l.t.Helper()
	l.waitRecord(id, "an ignored "+typ, func(e store.Event) bool {
		return e.Type == typ && e.Status == store.EventStatusIgnored && e.Error == why
	})
}

// TestLifecycleForeignSubscription: the same Stripe customer buys another
// product of the company (a price with no lookup key, made by another
// integration): its webhooks are ignored, and a resync neither adopts it nor
// lets it hide the portal's own subscription.
func TestLifecycleForeignSubscription(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("shared@example.com", "s")
	a, err := l.svc.ChoosePlan(ctx, a.ID, PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	l.waitEvent(a.ID, "customer.subscription.deleted")
	want, _ := l.db.Account(a.ID)
	if want.State != store.StateFree || want.CustomerID == "" {
		t.Fatalf("free: %s", want.AuditSummary())
	}

	pr, err := l.svc.api.Prices.New(&stripe.PriceParams{
		Currency: stripe.String("usd"), UnitAmount: stripe.Int64(500),
		Recurring:   &stripe.PriceRecurringParams{Interval: stripe.String("month")},
		ProductData: &stripe.PriceProductDataParams{Name: stripe.String("Another product")},
	})
	if err != nil {
		t.Fatal(err)
	}
	foreign := func() *stripe.Subscription {
		t.Helper()
		sub, err := l.svc.api.Subscriptions.New(&stripe.SubscriptionParams{
			Customer: stripe.String(a.CustomerID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(pr.ID)}},
			TrialPeriodDays: stripe.Int64(14), Metadata: map[string]string{"integration": "other"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !live(sub.Status) {
			t.Fatalf("foreign subscription is %s", sub.Status)
		}
		return sub
	}
	other := foreign()
	l.waitIgnored(a.ID, "customer.subscription.created", ignoreForeign)
	same := func(what string) {
		t.Helper()
		got, _ := l.db.Account(a.ID)
		if got.State != want.State || got.Plan != want.Plan || got.SubscriptionID != want.SubscriptionID || got.SubscriptionStatus != want.SubscriptionStatus {
			t.Fatalf("%s: %s, want %s", what, got.AuditSummary(), want.AuditSummary())
		}
	}
	same("after the foreign subscription's webhook")
	if _, err := l.svc.Resync(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	same("after a resync")

	// The portal's own subscription is bought while its webhooks are
	// missed, then another foreign one, newer, appears: the resync must
	// still find the portal's.
	l.down.Store(true)
	if _, err := l.svc.ChoosePlan(ctx, a.ID, "s"); !errors.Is(err, ErrCardRequired) {
		t.Fatalf("ChoosePlan after the trial: %v", err)
	}
	link, err := l.svc.CheckoutLink(ctx, a.ID, "s")
	if err != nil {
		t.Fatal(err)
	}
	l.payCard(link, "4242424242424242")
	l.advance(time.Hour)
	newer := foreign()
	got, err := l.svc.Resync(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateActive || got.Plan != "s" || got.SubscriptionID == other.ID || got.SubscriptionID == newer.ID {
		t.Fatalf("resync with a newer foreign subscription: %s", got.AuditSummary())
	}
	l.down.Store(false)
	l.waitIgnored(a.ID, "customer.subscription.created", ignoreForeign)
	l.waitEvent(a.ID, "checkout.session.completed")
	if b, _ := l.db.Account(a.ID); b.SubscriptionID != got.SubscriptionID || b.State != store.StateActive {
		t.Fatalf("after the backlog: %s", b.AuditSummary())
	}
}

// TestLifecycleOneTrialUnderRace: two sessions of one account choose
// different paid plans at the same moment; the account gets one trial. The
// other session is told the trial is used, or still being set up when it
// comes while the first session's request runs.
func TestLifecycleOneTrialUnderRace(t *testing.T) {
	l := newLifecycle(t)
	a := newAccount(t, l.db, "twice@example.com")
	if ok, refused := chooseAtOnce(t, l.svc, a.ID); ok != 1 || refused != 1 {
		t.Errorf("%d trials started, %d refused; want 1 and 1", ok, refused)
	}
	a, _ = l.db.Account(a.ID)
	p := &stripe.SubscriptionListParams{Customer: stripe.String(a.CustomerID), Status: stripe.String("all")}
	it := l.svc.api.Subscriptions.List(p)
	var trials []string
	for it.Next() {
		if sub := it.Subscription(); sub.Status == stripe.SubscriptionStatusTrialing {
			trials = append(trials, sub.ID)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(trials) != 1 || a.SubscriptionID != trials[0] || a.State != store.StateTrial || !a.TrialUsed {
		t.Fatalf("trialing subscriptions %v; account %s", trials, a.AuditSummary())
	}
}

// A trial canceled before its end ends at the trial end, on Free, with
// nothing charged, whether or not a card was added.
func TestLifecycleTrialCanceledEndsInFree(t *testing.T) {
	for _, card := range []string{"", "4242424242424242"} {
		t.Run("card="+card, func(t *testing.T) {
			l := newLifecycle(t)
			ctx := context.Background()
			a := l.trial("trialcancel@example.com", "s")
			if card != "" {
				l.addCard(a.ID, card)
			}
			a, err := l.svc.CancelAtPeriodEnd(ctx, a.ID)
			if err != nil || a.State != store.StateCanceling || !a.CurrentPeriodEnd.Equal(a.TrialEnd) {
				t.Fatalf("cancel: %v %s", err, a.AuditSummary())
			}
			l.advance(30*day + time.Hour)
			a = l.waitState(a.ID, store.StateFree)
			if a.Plan != PlanFree || a.SubscriptionStatus != "canceled" || a.State.Locked() {
				t.Fatalf("after the trial: %s", a.AuditSummary())
			}
			ip := &stripe.InvoiceListParams{Customer: stripe.String(a.CustomerID)}
			for it := l.svc.api.Invoices.List(ip); it.Next(); {
				if inv := it.Invoice(); inv.AmountDue != 0 {
					t.Errorf("a canceled trial was invoiced %d (%s)", inv.AmountDue, inv.BillingReason)
				}
			}
			if l.hasNotice(a.ID, "trial_ended") {
				t.Error("a canceled trial got the 'trial ended without a card' notice")
			}
		})
	}
}

// newSecondSubscription makes another subscription of plan for the
// account's customer, as the Dashboard would: a trial of days without a
// card that cancels at its end.
func (l *lifecycle) newSecondSubscription(a store.Account, plan string, days int64) *stripe.Subscription {
	l.t.Helper()
	p, _ := l.svc.cat.Plan(plan)
	price, err := l.svc.priceID(context.Background(), p)
	if err != nil {
		l.t.Fatal(err)
	}
	sp := &stripe.SubscriptionParams{
		Customer: stripe.String(a.CustomerID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
		TrialPeriodDays: stripe.Int64(days),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String("cancel")}},
	}
	sub, err := l.svc.api.Subscriptions.New(sp)
	if err != nil {
		l.t.Fatal(err)
	}
	return sub
}

// One subscription per account: a second subscription of the same
// customer never takes the account over; it is flagged while live, and its
// end leaves the account on its own trial.
func TestLifecycleSecondSubscriptionFlaggedNeverAdopted(t *testing.T) {
	l := newLifecycle(t)
	a := l.trial("second@example.com", "s")
	own := a.SubscriptionID
	second := l.newSecondSubscription(a, "m", 7)
	a = l.waitFor(a.ID, "the second subscription flagged", func(a store.Account) bool { return a.SecondSubscriptionID == second.ID })
	if a.SubscriptionID != own || a.Plan != "s" || a.State != store.StateTrial || a.SecondSubscriptionPlan != "m" {
		t.Fatalf("with a second subscription: %s second %s/%s", a.AuditSummary(), a.SecondSubscriptionID, a.SecondSubscriptionPlan)
	}
	l.advance(7*day + time.Hour) // the second one's trial ends: canceled
	a = l.waitFor(a.ID, "the flag cleared", func(a store.Account) bool { return a.SecondSubscriptionID == "" })
	if a.SubscriptionID != own || a.Plan != "s" || a.State != store.StateTrial || a.State.Locked() {
		t.Fatalf("after the second subscription ended: %s", a.AuditSummary())
	}
	if l.hasNotice(a.ID, "plan_changed") {
		t.Error("a second subscription changed the plan, if only in a notice")
	}
}

// When the account's own subscription ends while a second live one is on
// record, the account moves to the second one: the one Stripe still bills.
func TestLifecycleSecondSubscriptionTakesOverWhenOwnEnds(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("takeover@example.com", "s")
	second := l.newSecondSubscription(a, "m", 20)
	l.waitFor(a.ID, "the second subscription flagged", func(a store.Account) bool { return a.SecondSubscriptionID == second.ID })
	if _, err := l.svc.api.Subscriptions.Cancel(a.SubscriptionID, &stripe.SubscriptionCancelParams{}); err != nil {
		t.Fatal(err)
	}
	a = l.waitFor(a.ID, "the second subscription adopted", func(a store.Account) bool { return a.SubscriptionID == second.ID })
	if a.Plan != "m" || a.State != store.StateTrial || a.SecondSubscriptionID != "" {
		t.Fatalf("after the own subscription ended: %s second %q", a.AuditSummary(), a.SecondSubscriptionID)
	}
	// Ops cancels a second subscription, crediting the unused time.
	l.addCard(a.ID, "4242424242424242")
	third, err := l.svc.api.Subscriptions.New(&stripe.SubscriptionParams{
		Customer: stripe.String(a.CustomerID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(second.Items.Data[0].Price.ID)}},
	})
	if err != nil || third.Status != stripe.SubscriptionStatusActive {
		t.Fatalf("third subscription: %v %+v", err, third)
	}
	l.waitFor(a.ID, "the third subscription flagged", func(a store.Account) bool { return a.SecondSubscriptionID == third.ID })
	l.advance(15 * day)
	a, err = l.svc.CancelSecondSubscription(ctx, a.ID, true)
	if err != nil || a.SecondSubscriptionID != "" || a.SubscriptionID != second.ID || a.Plan != "m" {
		t.Fatalf("CancelSecondSubscription: %v %s second %q", err, a.AuditSummary(), a.SecondSubscriptionID)
	}
	cus, err := l.svc.api.Customers.Get(a.CustomerID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cus.Balance >= 0 || cus.Balance <= -2900 {
		t.Errorf("customer balance after a prorated cancel of a half-used $29 month: %d", cus.Balance)
	}
	if _, err := l.svc.CancelSecondSubscription(ctx, a.ID, false); !errors.Is(err, ErrNoSubscription) {
		t.Errorf("cancel with no second subscription: %v", err)
	}
}

// The card on screen is the card Stripe charges. A subscription bought
// through Checkout (subscription mode) has its own default payment method;
// a card saved later replaces it there, so the shown card is charged at
// the next renewal, and fixing a failing card leaves the fixed one shown
// and charged.
func TestLifecycleCardShownIsCardCharged(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("charged@example.com", "s")
	if _, err := l.svc.ChoosePlan(ctx, a.ID, PlanFree); err != nil {
		t.Fatal(err)
	}
	l.waitState(a.ID, store.StateFree)
	if _, err := l.svc.ChoosePlan(ctx, a.ID, "m"); !errors.Is(err, ErrCardRequired) {
		t.Fatalf("ChoosePlan(m) after the trial: %v", err)
	}
	l.buy(a.ID, "m", "4242424242424242") // subscription-mode Checkout
	a = l.waitFor(a.ID, "active on M", func(a store.Account) bool { return a.State == store.StateActive && a.Plan == "m" })
	subPM := func() string {
		sub, err := l.svc.fetchSubscription(ctx, a.SubscriptionID)
		if err != nil {
			t.Fatal(err)
		}
		if sub.DefaultPaymentMethod == nil {
			return ""
		}
		return sub.DefaultPaymentMethod.Card.Last4
	}
	if got := subPM(); got != "4242" {
		t.Fatalf("Checkout's subscription charges %q", got)
	}
	l.addCard(a.ID, "4000000000000341") // attaches, every charge fails; replace the card: setup-mode Checkout
	a = l.waitFor(a.ID, "the new card shown", func(a store.Account) bool { return a.CardLast4 == "0341" })
	if got := subPM(); got != "0341" {
		t.Fatalf("screen shows 0341, Stripe charges %q", got)
	}
	l.advance(31 * day) // the renewal charges the card shown: it fails
	a = l.waitState(a.ID, store.StatePastDue)
	l.addCard(a.ID, "5555555555554444")
	a = l.waitFor(a.ID, "active with the fixed card", func(a store.Account) bool {
		return a.State == store.StateActive && a.CardLast4 == "4444"
	})
	if got := subPM(); got != "4444" {
		t.Fatalf("fixed: screen shows 4444, Stripe charges %q", got)
	}
	l.advance(31 * day)
	a = l.waitFor(a.ID, "the next renewal paid", func(a store.Account) bool {
		return a.State == store.StateActive && a.CurrentPeriodEnd.After(l.sb.Now())
	})
	if a.CardLast4 != "4444" || a.AmountDue != 0 {
		t.Fatalf("after the next renewal: %s card %s due %d", a.AuditSummary(), a.CardLast4, a.AmountDue)
	}
}

// A new Checkout link expires the account's earlier open ones, so two
// links cannot both be paid; a checkout completed while the account holds
// a live subscription (a link paid after the account got another one) is
// flagged as a second subscription, never adopted.
func TestLifecycleCheckoutLinksOneAtATime(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.trial("links@example.com", "s")
	first, err := l.svc.CardLink(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := l.svc.CardLink(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	status := func(id string) stripe.CheckoutSessionStatus {
		cs, err := l.svc.api.CheckoutSessions.Get(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cs.Status
	}
	if st := status(first.SessionID); st != stripe.CheckoutSessionStatusExpired {
		t.Fatalf("the first link's session is %s after a second link, want expired", st)
	}
	if st := status(second.SessionID); st != stripe.CheckoutSessionStatusOpen {
		t.Fatalf("the new link's session is %s", st)
	}
	// The portal sells no plan to an account that has one.
	if _, err := l.svc.CheckoutLink(ctx, a.ID, "xl"); err == nil || !strings.Contains(Message(err), "already has a subscription") {
		t.Fatalf("CheckoutLink during a trial: %v", err)
	}
	// A subscription-mode session of the account made elsewhere (an old
	// link, another tool) that gets paid makes a second subscription:
	// flagged.
	xl, _ := l.svc.cat.Plan("xl")
	price, err := l.svc.priceID(ctx, xl)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"account_id": a.ID, "plan": "xl"}
	sess, err := l.svc.api.CheckoutSessions.New(&stripe.CheckoutSessionParams{
		Mode: stripe.String("subscription"), Customer: stripe.String(a.CustomerID),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta}, Metadata: meta,
		SuccessURL: stripe.String(l.srv.URL + "/ok"), CancelURL: stripe.String(l.srv.URL + "/cancel"),
	})
	if err != nil {
		t.Fatal(err)
	}
	buy := l.svc.shorten(Link{URL: sess.URL, SessionID: sess.ID}, checkoutLinkTTL)
	l.payCard(buy, "4242424242424242")
	a = l.waitFor(a.ID, "the checkout's subscription flagged", func(a store.Account) bool { return a.SecondSubscriptionID != "" })
	if a.Plan != "s" || a.State != store.StateTrial || a.SecondSubscriptionPlan != "xl" {
		t.Fatalf("after a second checkout: %s second %s/%s", a.AuditSummary(), a.SecondSubscriptionID, a.SecondSubscriptionPlan)
	}
	cs, err := l.svc.api.CheckoutSessions.Get(buy.SessionID, nil)
	if err != nil || cs.Metadata["plan"] != "xl" {
		t.Fatalf("the session's metadata: %v %v", err, cs.Metadata)
	}
}

// Every Stripe configuration an operator can choose: the trial's end
// behaviour without a card × the retry setting's outcome, each ending in
// the state Stripe's documentation gives, then back to a paid plan with a
// card from the same add-card path (a canceled trial re-subscribes through
// Checkout in subscription mode). A trial with a failing card goes through
// the retries whatever the end behaviour.
func TestLifecycleConfigurations(t *testing.T) {
	type want struct {
		atEnd, afterRetries store.State
	}
	for _, behavior := range []string{"pause", "cancel", "create_invoice"} {
		for _, outcome := range []string{"unpaid", "canceled", "past_due"} {
			t.Run(behavior+"/"+outcome, func(t *testing.T) {
				t.Parallel()
				l := newLifecycle(t, func(sb *sandbox.Config, c *Config) {
					sb.FailedPaymentOutcome, sb.PaymentRetryDelays = outcome, []time.Duration{day, 2 * day}
					c.TrialEndBehavior = behavior
				})
				ctx := context.Background()
				retried := map[string]store.State{"unpaid": store.StateLockedUnpaid, "canceled": store.StateLockedCanceled, "past_due": store.StatePastDue}[outcome]
				w := map[string]want{
					"pause":          {store.StateLockedTrialEnded, store.StateLockedTrialEnded},
					"cancel":         {store.StateLockedCanceled, store.StateLockedCanceled},
					"create_invoice": {store.StatePastDue, retried},
				}[behavior]

				// Without a card.
				a := l.trial("nocard-"+behavior+"@example.com", "s")
				l.advance(30*day + time.Hour)
				a = l.waitState(a.ID, w.atEnd)
				if behavior == "create_invoice" {
					// Nothing was charged: the notice asks for a card, never says "failed, update your card".
					l.waitFor(a.ID, "a payment_failed notice asking for a card", func(store.Account) bool {
						ns, err := l.db.Notices(a.ID)
						if err != nil {
							l.t.Fatal(err)
						}
						for _, n := range ns {
							if n.Kind == NoticePaymentFailed {
								return strings.Contains(n.Message, "there is no card to charge")
							}
						}
						return false
					})
				}
				l.advance(4 * day)
				a = l.waitState(a.ID, w.afterRetries)
				if a.Plan != "s" || !a.TrialUsed {
					t.Fatalf("after the trial: %s", a.AuditSummary())
				}
				if a.State == store.StateLockedCanceled {
					// Re-subscribe: a subscription-mode Checkout of the same plan.
					l.buy(a.ID, a.Plan, "4242424242424242")
				} else {
					l.addCard(a.ID, "4242424242424242")
				}
				a = l.waitFor(a.ID, "active with a card", func(a store.Account) bool { return a.State == store.StateActive && a.HasCard })
				if a.Plan != "s" || a.AmountDue != 0 {
					t.Fatalf("after the card: %s due %d", a.AuditSummary(), a.AmountDue)
				}

				// With a card whose charges fail.
				b := l.trial("failing-"+behavior+"@example.com", "m")
				l.addCard(b.ID, "4000000000000341")
				l.advance(30*day + time.Hour)
				b = l.waitState(b.ID, store.StatePastDue)
				if b.AmountDue != 2900 {
					t.Fatalf("past due: %s due %d", b.AuditSummary(), b.AmountDue)
				}
				l.advance(4 * day)
				b = l.waitState(b.ID, retried)
				if outcome == "canceled" {
					l.buy(b.ID, "m", "4242424242424242")
				} else {
					l.addCard(b.ID, "4242424242424242")
				}
				b = l.waitFor(b.ID, "active again", func(a store.Account) bool { return a.State == store.StateActive && a.CardLast4 == "4242" })
				if _, err := l.svc.Resync(ctx, b.ID); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// A renewal whose card asks for 3-D Secure: the account records the
// invoice's hosted page (invoice.payment_action_required) while it is
// open, and forgets it once another card paid it.
func TestLifecyclePaymentActionRequired(t *testing.T) {
	l := newLifecycle(t)
	a := l.trial("threeds@example.com", "s")
	l.addCard(a.ID, "4000002760003184")
	l.advance(30*day + time.Hour)
	a = l.waitFor(a.ID, "a payment awaiting confirmation", func(a store.Account) bool { return a.ActionURL != "" })
	if a.State != store.StatePastDue || !strings.Contains(a.ActionURL, "/invoice/"+a.ActionInvoiceID) || a.AmountDue != 900 {
		t.Fatalf("awaiting 3-D Secure: %s url %q invoice %q due %d", a.AuditSummary(), a.ActionURL, a.ActionInvoiceID, a.AmountDue)
	}
	if l.hasNotice(a.ID, "payment_failed") {
		t.Error("a payment awaiting the customer was announced as failed")
	}
	l.addCard(a.ID, "4242424242424242")
	a = l.waitFor(a.ID, "paid with another card", func(a store.Account) bool { return a.State == store.StateActive })
	if a.ActionURL != "" || a.ActionInvoiceID != "" {
		t.Fatalf("after paying: url %q invoice %q", a.ActionURL, a.ActionInvoiceID)
	}
}

// TestLifecycleDowngradeAtPeriodEnd: with the default DowngradeAt, a move to
// a cheaper plan waits for the period end through a subscription schedule:
// the account stays on M until then, the renewal is invoiced at S, and the
// schedule is gone afterwards. Undone before the end, the account stays on M.
func TestLifecycleDowngradeAtPeriodEnd(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.active("later@example.com", "m")
	end := a.CurrentPeriodEnd

	pv, err := l.svc.PreviewChange(ctx, a.ID, "s")
	if err != nil || pv.Upgrade || !pv.AtPeriodEnd || !pv.NextAt.Equal(end) || pv.AmountDue != 0 {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	a, err = l.svc.ChoosePlan(ctx, a.ID, "s")
	if err != nil {
		t.Fatalf("downgrade: %v (%s)", err, Message(err))
	}
	if a.Plan != "m" || a.ScheduledPlan != "s" || !a.ScheduledAt.Equal(end) || a.ScheduleID == "" || a.State != store.StateActive {
		t.Fatalf("scheduled: %s plan %s → %s at %v (%s)", a.AuditSummary(), a.Plan, a.ScheduledPlan, a.ScheduledAt, a.ScheduleID)
	}
	if s, _ := l.svc.cat.Plan("s"); a.NextInvoiceAmount != s.Amount {
		t.Fatalf("next invoice %d, want S's %d", a.NextInvoiceAmount, s.Amount)
	}
	l.waitEvent(a.ID, "customer.subscription.updated")
	if a, _ = l.db.Account(a.ID); a.ScheduledPlan != "s" {
		t.Fatalf("a webhook dropped the scheduled change: %s", a.AuditSummary())
	}
	// Choosing S again changes nothing.
	if b, err := l.svc.ChoosePlan(ctx, a.ID, "s"); err != nil || b.ScheduleID != a.ScheduleID {
		t.Fatalf("again: %v %s", err, b.ScheduleID)
	}

	l.advance(end.Sub(l.sb.Now()) + time.Hour)
	a = l.waitFor(a.ID, "plan s", func(a store.Account) bool { return a.Plan == "s" && a.CurrentPeriodEnd.After(end) })
	if a.ScheduledPlan != "" || !a.ScheduledAt.IsZero() || a.State != store.StateActive {
		t.Fatalf("after the period end: %s scheduled %q", a.AuditSummary(), a.ScheduledPlan)
	}
	var renewal *stripe.Invoice
	ip := &stripe.InvoiceListParams{Customer: stripe.String(a.CustomerID)}
	for it := l.svc.api.Invoices.List(ip); it.Next(); {
		if inv := it.Invoice(); inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionCycle && inv.PeriodStart == end.Unix() {
			renewal = inv
		}
	}
	if s, _ := l.svc.cat.Plan("s"); renewal == nil || renewal.AmountPaid != s.Amount {
		t.Fatalf("renewal at the period end: %+v, want paid %d", renewal, s.Amount)
	}

	// Back up to M is immediate (the schedule, still in its last phase, is
	// released first); then schedule S and undo it.
	if a, err = l.svc.ChoosePlan(ctx, a.ID, "m"); err != nil || a.Plan != "m" || a.ScheduledPlan != "" || a.ScheduleID != "" {
		t.Fatalf("upgrade: %v %s", err, a.AuditSummary())
	}
	end = a.CurrentPeriodEnd
	if a, err = l.svc.ChoosePlan(ctx, a.ID, "s"); err != nil || a.ScheduledPlan != "s" {
		t.Fatalf("downgrade again: %v %s", err, a.AuditSummary())
	}
	if a, err = l.svc.UndoDowngrade(ctx, a.ID); err != nil || a.ScheduledPlan != "" || a.ScheduleID != "" || a.Plan != "m" {
		t.Fatalf("undo: %v %s", err, a.AuditSummary())
	}
	l.advance(end.Sub(l.sb.Now()) + time.Hour)
	a = l.waitFor(a.ID, "the next period", func(a store.Account) bool { return a.CurrentPeriodEnd.After(end) })
	if a.Plan != "m" || a.State != store.StateActive {
		t.Fatalf("after an undone downgrade: %s", a.AuditSummary())
	}
}

// editSchedule replaces the phases of schedule id as the Dashboard would:
// the current price until end, then plan's price for one period.
func (l *lifecycle) editSchedule(id string, current string, end time.Time, plan string) {
	l.t.Helper()
	ctx := context.Background()
	p, _ := l.svc.cat.Plan(plan)
	price, err := l.svc.priceID(ctx, p)
	if err != nil {
		l.t.Fatal(err)
	}
	sch, err := l.svc.api.SubscriptionSchedules.Get(id, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	_, err = l.svc.api.SubscriptionSchedules.Update(id, &stripe.SubscriptionScheduleParams{
		EndBehavior: stripe.String("release"),
		Phases: []*stripe.SubscriptionSchedulePhaseParams{{
			Items:     []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(current), Quantity: stripe.Int64(1)}},
			StartDate: stripe.Int64(sch.CurrentPhase.StartDate), EndDate: stripe.Int64(end.Unix()),
		}, {
			Items:      []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
			Iterations: stripe.Int64(1),
		}},
	})
	if err != nil {
		l.t.Fatal(err)
	}
}

// A scheduled change is the schedule's next phase as Stripe has it: edited
// in the Dashboard (subscription_schedule.updated, no subscription event),
// the account follows, and the renewal lands on the edited plan; a schedule
// made in the Dashboard shows as a scheduled change the customer can undo;
// one released in the Dashboard is gone.
func TestLifecycleScheduleChangedAtStripe(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := l.active("dashboard-schedule@example.com", "xl")
	end := a.CurrentPeriodEnd
	a, err := l.svc.ChoosePlan(ctx, a.ID, "m")
	if err != nil || a.ScheduledPlan != "m" || a.ScheduleID == "" {
		t.Fatalf("downgrade: %v %s", err, a.AuditSummary())
	}
	sub, err := l.svc.fetchSubscription(ctx, a.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	xlPrice := sub.Items.Data[0].Price.ID

	l.editSchedule(a.ScheduleID, xlPrice, end, "s") // the Dashboard: S instead of M
	a = l.waitFor(a.ID, "the edited schedule", func(a store.Account) bool { return a.ScheduledPlan == "s" })
	if a.Plan != "xl" || !a.ScheduledAt.Equal(end) || a.State != store.StateActive {
		t.Fatalf("after the Dashboard edit: %s then %s at %v", a.AuditSummary(), a.ScheduledPlan, a.ScheduledAt)
	}
	if s, _ := l.svc.cat.Plan("s"); a.NextInvoiceAmount != s.Amount {
		t.Errorf("next invoice %d after the edit, want S's %d", a.NextInvoiceAmount, s.Amount)
	}
	l.advance(end.Sub(l.sb.Now()) + time.Hour)
	a = l.waitFor(a.ID, "plan s", func(a store.Account) bool { return a.Plan == "s" })
	if a.ScheduledPlan != "" || a.State != store.StateActive {
		t.Fatalf("after the renewal: %s scheduled %q", a.AuditSummary(), a.ScheduledPlan)
	}
	// The schedule completes at the end of its last phase and releases.
	end = a.CurrentPeriodEnd
	l.advance(end.Sub(l.sb.Now()) + time.Hour)
	a = l.waitFor(a.ID, "the schedule released", func(a store.Account) bool { return a.ScheduleID == "" })
	if a.Plan != "s" || a.ScheduledPlan != "" {
		t.Fatalf("after the schedule ended: %s scheduled %q", a.AuditSummary(), a.ScheduledPlan)
	}

	// A schedule made in the Dashboard: S now, M at the period end.
	end = a.CurrentPeriodEnd
	sch, err := l.svc.api.SubscriptionSchedules.New(&stripe.SubscriptionScheduleParams{FromSubscription: stripe.String(a.SubscriptionID)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err = l.svc.fetchSubscription(ctx, a.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	l.editSchedule(sch.ID, sub.Items.Data[0].Price.ID, end, "m")
	a = l.waitFor(a.ID, "the Dashboard's schedule", func(a store.Account) bool { return a.ScheduledPlan == "m" })
	if a.ScheduleID != sch.ID || !a.ScheduledAt.Equal(end) || a.Plan != "s" {
		t.Fatalf("a Dashboard schedule: %s %s then %s at %v", a.AuditSummary(), a.ScheduleID, a.ScheduledPlan, a.ScheduledAt)
	}
	// The customer undoes it.
	if a, err = l.svc.UndoDowngrade(ctx, a.ID); err != nil || a.ScheduledPlan != "" || a.ScheduleID != "" {
		t.Fatalf("undo a Dashboard schedule: %v %s", err, a.AuditSummary())
	}

	// Released in the Dashboard.
	sch, err = l.svc.api.SubscriptionSchedules.New(&stripe.SubscriptionScheduleParams{FromSubscription: stripe.String(a.SubscriptionID)})
	if err != nil {
		t.Fatal(err)
	}
	l.editSchedule(sch.ID, sub.Items.Data[0].Price.ID, a.CurrentPeriodEnd, "m")
	l.waitFor(a.ID, "the second Dashboard schedule", func(a store.Account) bool { return a.ScheduledPlan == "m" })
	if _, err := l.svc.api.SubscriptionSchedules.Release(sch.ID, nil); err != nil {
		t.Fatal(err)
	}
	a = l.waitFor(a.ID, "the release", func(a store.Account) bool { return a.ScheduleID == "" })
	if a.ScheduledPlan != "" || a.Plan != "s" {
		t.Fatalf("after a Dashboard release: %s scheduled %q", a.AuditSummary(), a.ScheduledPlan)
	}
}
