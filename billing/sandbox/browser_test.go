package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	stripe "github.com/stripe/stripe-go/v76"
)

// chromium finds Debian's chromium, installing it with apt-get when it is
// missing (CI machines are fresh); it skips loudly only when that fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		t.Log("chromium is missing: installing Debian's chromium with apt-get")
		upd := exec.CommandContext(ctx, "apt-get", "update", "-qq")
		inst := exec.CommandContext(ctx, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium")
		inst.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out1, err1 := upd.CombinedOutput()
		out2, err2 := inst.CombinedOutput()
		if p, err := exec.LookPath("chromium"); err == nil {
			return p
		}
		t.Logf("apt-get update: %v %s\napt-get install: %v %s", err1, out1, err2, out2)
	}
	t.Skip("BROWSER TEST SKIPPED: no chromium, and it could not be installed with apt-get")
	return ""
}

func TestBrowserCompletesCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	e := newEnv(t)
	_, cus, sub := e.trialOn("browser@example.com", "plan_s", "pause")

	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><h1 id="success">Card saved: %s</h1>`, r.URL.Query().Get("session_id"))
	}))
	t.Cleanup(portal.Close)
	cs, err := e.sc.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("setup"), Customer: stripe.String(cus.ID),
		Currency:        stripe.String("usd"),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{Metadata: map[string]string{"subscription_id": sub.ID}},
		SuccessURL:      stripe.String(portal.URL + "/checkout/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:       stripe.String(portal.URL + "/checkout/cancel")})
	if err != nil {
		t.Fatal(err)
	}

	// Chromium's helper processes may still write the profile for a moment
	// after the browser exits, so the profile is removed with retries
	// rather than by t.TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "sandbox-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if err = os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the browser profile %s: %v", profile, err)
	})
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true)}
	// Cleanups run last-registered first: the browser is stopped before
	// its profile is removed.
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	ctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()

	var banner, cardErr, exp, number, formErr, done string
	err = chromedp.Run(ctx,
		chromedp.Navigate(cs.URL),
		chromedp.Text(".banner", &banner, chromedp.ByQuery),
		// A number failing Luhn: an inline error; expiry kept, number cleared.
		chromedp.SendKeys("#cardnumber", "4242 4242 4242 4241", chromedp.ByID),
		chromedp.SendKeys("#exp", "12/34", chromedp.ByID),
		chromedp.SendKeys("#cvc", "123", chromedp.ByID),
		chromedp.Click("#submit", chromedp.ByID),
		chromedp.WaitVisible("#cardnumber-error", chromedp.ByID),
		chromedp.Text("#cardnumber-error", &cardErr, chromedp.ByID),
		chromedp.Value("#exp", &exp, chromedp.ByID),
		chromedp.Value("#cardnumber", &number, chromedp.ByID),
		// A declined card.
		chromedp.SendKeys("#cardnumber", "4000 0000 0000 0002", chromedp.ByID),
		chromedp.Click("#submit", chromedp.ByID),
		chromedp.WaitVisible("#form-error", chromedp.ByID),
		chromedp.Text("#form-error", &formErr, chromedp.ByID),
		// A good card completes the session and lands on success_url.
		chromedp.SendKeys("#cardnumber", "4242 4242 4242 4242", chromedp.ByID),
		chromedp.Click("#submit", chromedp.ByID),
		chromedp.WaitVisible("#success", chromedp.ByID),
		chromedp.Text("#success", &done, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(banner, "OFFLINE SANDBOX") {
		t.Errorf("banner %q", banner)
	}
	if !strings.Contains(cardErr, "invalid") || exp != "12/34" || number != "" {
		t.Errorf("after a Luhn failure: error %q, exp %q, number %q", cardErr, exp, number)
	}
	if !strings.Contains(formErr, "declined") {
		t.Errorf("decline message %q", formErr)
	}
	if !strings.Contains(done, cs.ID) {
		t.Errorf("success page %q", done)
	}
	got, err := e.sc.CheckoutSessions.Get(cs.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stripe.CheckoutSessionStatusComplete || got.SetupIntent == nil {
		t.Fatalf("session %s, setup intent %v", got.Status, got.SetupIntent)
	}
	e.rc.waitFor("setup_intent.succeeded", got.SetupIntent.ID)
	e.rc.waitFor("payment_method.attached", "")
}
