package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

func TestFormatLeft(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30*24*time.Hour - 5*time.Millisecond, "30 days"},
		{12*24*time.Hour + 4*time.Hour, "12 days 4 hours"},
		{24*time.Hour + time.Hour + 30*time.Second, "1 day 1 hour"},
		{5*time.Hour + 12*time.Minute, "5 hours 12 minutes"},
		{time.Hour + time.Second, "1 hour 1 minute"},
		{time.Hour, "1 hour"},
		{42*time.Minute + 7*time.Second, "42 minutes 7 seconds"},
		{3 * time.Minute, "3 minutes"},
		{1500 * time.Millisecond, "2 seconds"},
		{0, "no time"},
		{-time.Second, "no time"},
	}
	for _, tt := range tests {
		if got := FormatLeft(tt.d); got != tt.want {
			t.Errorf("FormatLeft(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// The countdown ticks on the clock's minute boundary, on the second in the
// last hour, and not at all without a running trial.
func TestCountdownCadence(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.fb.Set(fixedNow.Add(30*time.Second + 500*time.Millisecond))
	h.load(trialAccount())
	if len(h.ticks) != 1 || h.ticks[0].d != 29500*time.Millisecond {
		t.Fatalf("ticks %+v, want one in 29.5s (the countdown's next minute)", h.ticks)
	}

	h.fb.Set(trialEnd.Add(-10*time.Minute - 250*time.Millisecond))
	h.fire()
	if len(h.ticks) != 1 || h.ticks[0].d != 250*time.Millisecond {
		t.Fatalf("ticks %+v, want one in 250ms (the next second) in the last hour", h.ticks)
	}
	if !strings.Contains(h.view(), "10 minutes 1 second left") {
		t.Errorf("view after tick:\n%s", h.view())
	}

	// A fresh read restarts the chain; the old chain's tick is dropped.
	stale := h.ticks[0]
	h.ticks = nil
	h.load(trialAccount())
	if len(h.ticks) != 1 {
		t.Fatalf("reload scheduled %d ticks, want 1", len(h.ticks))
	}
	h.ticks = nil
	h.send(stale.msg)
	if len(h.ticks) != 0 {
		t.Errorf("a stale chain's tick scheduled %+v", h.ticks)
	}

	// A trial ending off the minute ticks when its text changes.
	g := newHarness(t, 80, 24)
	off := trialAccount()
	off.TrialEnd = trialEnd.Add(38 * time.Second)
	g.load(off)
	if len(g.ticks) != 1 || g.ticks[0].d != 38*time.Second {
		t.Fatalf("ticks %+v, want one in 38s (the countdown's minute)", g.ticks)
	}

	f := newHarness(t, 80, 24)
	f.load(freeAccount())
	f.load(activeAccount())
	if len(f.ticks) != 0 {
		t.Errorf("no trial, yet ticks %+v", f.ticks)
	}
}

// The add-card screen turns into the result when a fresh read of the
// account shows the card, with no key pressed.
func TestAddCardLandsByItself(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.fb.link = billing.Link{URL: sandboxURL}
	h.load(trialAccount()).keys("c")
	if !strings.Contains(h.view(), "Waiting for Stripe") {
		t.Fatalf("not waiting:\n%s", h.view())
	}
	h.load(trialAccount()) // an unrelated change: still waiting
	if !strings.Contains(h.view(), "Waiting for Stripe") {
		t.Fatalf("left the wait on an unrelated change:\n%s", h.view())
	}
	h.load(withCard(trialAccount()))
	if v := h.view(); !strings.Contains(v, "Card saved: Visa •••• 4242") {
		t.Fatalf("no result:\n%s", v)
	}
	h.keys("enter")
	if v := h.view(); !strings.Contains(v, "Your account") || !strings.Contains(v, "Visa •••• 4242") {
		t.Errorf("enter did not return to the dashboard:\n%s", v)
	}
}

// Locked follows the account both ways without a key press.
func TestLockedFollowsAccount(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.load(trialAccount())
	locked := trialAccount()
	locked.State, locked.SubscriptionStatus = store.StateLockedTrialEnded, "paused"
	h.load(locked)
	if !strings.Contains(h.view(), "Your account is locked") {
		t.Fatalf("not locked:\n%s", h.view())
	}
	h.fb.account = freeAccount()
	h.keys("f")
	if len(h.fb.calls) != 0 || !strings.Contains(h.view(), "Switch to Free now? (y/n)") {
		t.Fatalf("f acted without asking: calls %q\n%s", h.fb.calls, h.view())
	}
	h.keys("n")
	if strings.Contains(h.view(), "(y/n)") || len(h.fb.calls) != 0 {
		t.Fatalf("n did not keep the choices:\n%s", h.view())
	}
	h.keys("f", "y")
	if got := h.fb.calls; len(got) != 1 || got[0] != "ChoosePlan free" {
		t.Fatalf("billing calls %q", got)
	}
	if v := h.view(); !strings.Contains(v, "Plan          Free") {
		t.Errorf("not free after choosing free:\n%s", v)
	}
}

// The link is copyable: its pieces are flush left, exactly the content
// width, and join back into the address; with hyperlinks each piece is an
// OSC 8 link to the whole address.
func TestLinkTextAndHyperlink(t *testing.T) {
	for _, width := range []int{80, 48} {
		h := newHarness(t, width, 24)
		h.e.hyperlinks = true
		h.fb.link = billing.Link{URL: sandboxURL}
		h.load(trialAccount()).keys("c")
		v := h.view()
		if n := strings.Count(v, ansi.SetHyperlink(sandboxURL, "")[:len("\x1b]8;")]); n == 0 {
			t.Fatalf("no OSC 8 link at width %d", width)
		}
		if !strings.Contains(v, ";"+sandboxURL+"\x1b\\") && !strings.Contains(v, ";"+sandboxURL+"\a") {
			t.Errorf("OSC 8 target is not the whole address at width %d:\n%q", width, v)
		}
		var joined string
		for _, line := range strings.Split(ansi.Strip(v), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "http://") || joined != "" && !strings.Contains(line, " ") && line != "" {
				if len(line) > width-2*framePadX {
					t.Errorf("piece %q wider than the content at width %d", line, width)
				}
				joined += line
				if joined == sandboxURL {
					break
				}
			}
		}
		if joined != sandboxURL {
			t.Errorf("pieces join into %q, want %q", joined, sandboxURL)
		}
	}
}

// What is drawn scans, whatever the terminal: colour paints black on
// white; monochrome draws the light modules on a dark background and the
// dark ones on a light background.
func TestDrawnQRScans(t *testing.T) {
	for _, tc := range []struct {
		name      string
		profile   termenv.Profile
		dark      bool
		fillLight bool
	}{
		{"truecolor", termenv.TrueColor, true, false},
		{"ascii-dark", termenv.Ascii, true, true},
		{"ascii-light", termenv.Ascii, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 80, 24)
			h.e.renderer.SetColorProfile(tc.profile)
			h.e.renderer.SetHasDarkBackground(tc.dark)
			h.fb.link = billing.Link{URL: sandboxURL}
			h.load(trialAccount()).keys("c", "v")
			if got := decodeDrawnQR(t, h.view(), tc.fillLight); got != sandboxURL {
				t.Errorf("decoded %q, want %q", got, sandboxURL)
			}
		})
	}
}

// Confirming a change returns to the dashboard even when the plan has not
// moved yet (an upgrade waiting for its payment).
func TestChangePlanConfirmReturns(t *testing.T) {
	h := previewUpgrade(t, 3333, "$33.33")
	h.keys("enter")
	// The price is checked again at the moment of confirming, then charged.
	if got := h.fb.calls; len(got) != 3 || got[1] != "PreviewChange xl" || got[2] != "ChoosePlan xl" {
		t.Fatalf("billing calls %q", got)
	}
	if v := h.view(); !strings.Contains(v, "Your account") {
		t.Errorf("still on the confirmation:\n%s", v)
	}
}

// previewUpgrade opens the change from M to XL on an active account's
// dashboard, whose preview asks amountDue now, and checks that the preview
// shows it as shown ("$33.33"). Confirming charges activeAccount.
func previewUpgrade(t *testing.T, amountDue int64, shown string) *harness {
	t.Helper()
	h := newHarness(t, 80, 24)
	h.fb.preview = billing.Preview{PlanID: "xl", Upgrade: true, AmountDue: amountDue, Currency: "usd", NextAmount: 7900}
	h.fb.account = activeAccount()
	h.load(activeAccount()).keys("p", "4", "enter")
	if !strings.Contains(h.view(), "Due now: "+shown) {
		t.Fatalf("no preview:\n%s", h.view())
	}
	return h
}

// A locked (canceled) account may pick its previous plan again.
func TestLockedCanceledRepicksPlan(t *testing.T) {
	h := newHarness(t, 80, 24)
	a := canceledAccount()
	h.fb.preview = billing.Preview{PlanID: "m", AmountDue: 2900, Currency: "usd", NextAmount: 2900}
	h.load(a).keys("p", "3", "enter")
	if v := h.view(); !strings.Contains(v, "Due now: $29.00") {
		t.Errorf("no preview for the previous plan:\n%s", v)
	}
}

// The screens promise the trial the server is configured to give.
func TestTrialLengthFollowsBilling(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.fb.trial = 14
	h.load(newAccount())
	if v := h.view(); !strings.Contains(v, "14-day trial, no card needed") || strings.Contains(v, "30-day") {
		t.Fatalf("plan picker with a 14-day trial:\n%s", v)
	}
	if got := trialFraction(7*24*time.Hour, 14); got != 0.5 {
		t.Errorf("trialFraction(7 days of 14) = %v, want 0.5", got)
	}
	if got := trialFraction(40*24*time.Hour, 30); got != 1 {
		t.Errorf("trialFraction of an extended trial = %v, want a full bar", got)
	}
}

// A setting's length reads in words ("Closed after 30 minutes…"), never
// as Duration.String's "30m0s".
func TestDurationWords(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Minute, "30 minutes"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{3 * time.Second, "3 seconds"},
		{time.Minute + time.Second, "1 minute 1 second"},
		{0, "0 seconds"},
	} {
		if got := durationWords(tt.d); got != tt.want {
			t.Errorf("durationWords(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// A preview left open follows the account and the clock, and the amount is
// checked at the moment of charging: a different amount is shown and asked
// about again, never charged unseen. (A preview showed $33.86 and charged
// $9.66 after a clock move.)
func TestChangePlanPreviewRefreshesAndConfirmsAmount(t *testing.T) {
	h := previewUpgrade(t, 3386, "$33.86")
	// The clock moves (the registry wakes the session; the account is read
	// again): the preview is fetched again and shows the new amount.
	h.fb.preview.AmountDue = 2410
	h.load(activeAccount())
	if v := h.view(); !strings.Contains(v, "Due now: $24.10") || !strings.Contains(v, "price changed") {
		t.Fatalf("preview not refreshed after the account was read again:\n%s", v)
	}
	// Time passes with the screen open: the minute refresh.
	h.fb.preview.AmountDue = 1900
	h.fire()
	if v := h.view(); !strings.Contains(v, "Due now: $19.00") {
		t.Fatalf("preview not refreshed after a minute:\n%s", v)
	}
	// Between the last refresh and enter the amount moves again: no charge.
	h.fb.preview.AmountDue = 966
	h.fb.calls = nil
	h.keys("enter")
	if got := h.fb.calls; len(got) != 1 || got[0] != "PreviewChange xl" {
		t.Fatalf("charged an amount not shown: calls %q", got)
	}
	if v := h.view(); !strings.Contains(v, "Due now: $9.66") || !strings.Contains(v, "Press enter to confirm") {
		t.Fatalf("the new amount is not asked about:\n%s", v)
	}
	h.keys("enter")
	if got := h.fb.calls; len(got) != 3 || got[2] != "ChoosePlan xl" {
		t.Fatalf("billing calls %q after confirming the new amount", got)
	}
}

// esc on the change-plan preview goes back to the plan list, on the plan
// that was previewed, as its help line says.
func TestChangePlanEscGoesBackToPlanList(t *testing.T) {
	h := previewUpgrade(t, 3386, "$33.86").keys("esc")
	p, ok := h.m.screen.(*planPicker)
	if !ok {
		t.Fatalf("esc went to %T, want the plan list", h.m.screen)
	}
	if p.plans[p.cursor].ID != "xl" {
		t.Errorf("cursor on %q, want xl", p.plans[p.cursor].ID)
	}
}

// An expired link's QR code is not drawn: scanning it would only lead to an
// error page. (With room for it, the code stayed beside "This link has
// expired.")
func TestExpiredLinkShowsNoQRCode(t *testing.T) {
	h := newHarness(t, 140, 60)
	h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(time.Minute)}
	h.load(trialAccount()).keys("c")
	if v := h.view(); !strings.ContainsAny(v, "▀▄█") {
		t.Fatalf("no QR code while the link works:\n%s", v)
	}
	h.fb.Set(fixedNow.Add(2 * time.Minute))
	h.fire()
	v := h.view()
	if !strings.Contains(v, "This link has expired.") {
		t.Fatalf("not expired:\n%s", v)
	}
	if strings.ContainsAny(v, "▀▄") {
		t.Errorf("the expired link's QR code is still drawn:\n%s", v)
	}
}

// A date is never split across lines ("Thu 31 Dec" / "20:14 UTC").
func TestWrapKeepsDatesTogether(t *testing.T) {
	got := wrap("Your trial ends on Thu 31 Dec 20:14 UTC; nothing is charged before.", 30)
	if !strings.Contains(got, "Thu 31 Dec 20:14 UTC") {
		t.Errorf("date split:\n%s", got)
	}
	for _, l := range strings.Split(got, "\n") {
		if len([]rune(l)) > 30 {
			t.Errorf("line %q is wider than 30", l)
		}
	}
}

// ? on the QR code alone goes back to the screen with the help open
// (it did nothing there).
func TestQRViewAnswersHelp(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(24 * time.Hour)}
	h.load(trialAccount()).keys("c", "v")
	if !strings.Contains(h.view(), "Scan with your phone") {
		t.Fatalf("not on the QR code:\n%s", h.view())
	}
	h.keys("?")
	v := h.view()
	if strings.Contains(v, "Scan with your phone") || !strings.Contains(v, "? help") || !strings.Contains(v, "Add a card") {
		t.Errorf("? on the QR code:\n%s", v)
	}
}
