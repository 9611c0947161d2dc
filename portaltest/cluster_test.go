package portaltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/portal/portal/app"
	"github.com/portal/portal/billing/sandbox"
	"github.com/portal/portal/hostkeys"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres"
	"github.com/portal/portal/store/postgres/pgtest"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Several instances, end to end: two portal processes on one PostgreSQL
// database and one standalone sandbox, whose webhooks go through a small
// load balancer to instance A (B when A is down).

const clusterChildEnv = "PORTAL_CLUSTER_CHILD"

// childConfig is what the parent hands a child instance.
type childConfig struct {
	DataDir, AddrFile        string
	DatabaseURL, HostKeyPath string
	Stripe                   app.StripeConfig
}

// TestClusterChild is not a test: it is one portal instance of
// TestTwoInstances, run as a child process so that it can be killed -9.
func TestClusterChild(t *testing.T) {
	raw := os.Getenv(clusterChildEnv)
	if raw == "" {
		t.Skip("a child process of TestTwoInstances; runs only from it")
	}
	var c childConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Config{
		DataDir: c.DataDir, SSHAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		DatabaseURL: c.DatabaseURL, HostKeyPath: c.HostKeyPath, Stripe: c.Stripe,
		ReconcileEvery: time.Hour, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.AddrFile, []byte(a.SSHAddr()+" "+a.HTTPAddr()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

type instance struct {
	name      string
	cmd       *exec.Cmd
	log       *testkit.Buffer
	ssh, http string
	exited    chan struct{}
}

func startInstance(t testing.TB, name string, cfg app.Config) *instance {
	t.Helper()
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addrs")
	raw, err := json.Marshal(childConfig{DataDir: dir, AddrFile: addrFile, DatabaseURL: cfg.DatabaseURL, HostKeyPath: cfg.HostKeyPath, Stripe: cfg.Stripe})
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, log: &testkit.Buffer{}, exited: make(chan struct{})}
	in.cmd = exec.Command(os.Args[0], "-test.run=^TestClusterChild$", "-test.v")
	in.cmd.Env = append(os.Environ(), clusterChildEnv+"="+string(raw))
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("instance %s log:\n%s", name, in.log.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil && len(b) > 0 {
			addrs := strings.Fields(string(b))
			in.ssh, in.http = addrs[0], addrs[1]
			return in
		}
		select {
		case <-in.exited:
			t.Fatalf("instance %s exited at start:\n%s", name, in.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s did not start:\n%s", name, in.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leading reports whether the instance's log says it took the job, and has
// not lost it since.
func (in *instance) leading(job string) bool {
	log := in.log.String()
	took := strings.LastIndex(log, "running job on this instance\" component=store job="+job)
	lost := strings.LastIndex(log, "stopping the job here\" component=store job="+job)
	return took >= 0 && took > lost
}

// balancer sends each webhook to the first instance that takes the
// connection, in order, and counts what went to each.
type balancer struct {
	mu       sync.Mutex
	backends []*instance
	sent     map[string]int
	onSend   func(in *instance, n int) // called before each forward
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lb.mu.Lock()
	backends := append([]*instance(nil), lb.backends...)
	lb.mu.Unlock()
	for _, in := range backends {
		u, _ := url.Parse("http://" + in.http)
		rp := httputil.NewSingleHostReverseProxy(u)
		failed := false
		rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			failed = true
		}
		lb.mu.Lock()
		lb.sent[in.name]++
		n := lb.sent[in.name]
		lb.mu.Unlock()
		if lb.onSend != nil {
			lb.onSend(in, n)
		}
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := &captured{header: http.Header{}}
		rp.ServeHTTP(rec, req)
		if failed {
			continue // that instance is down: the next one
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	http.Error(w, "no instance up", http.StatusBadGateway)
}

type captured struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header { return c.header }
func (c *captured) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captured) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(p)
}

// cluster is the sandbox alone, a load balancer in front of two instances
// (webhooks to A, to B when A is down) and the instances.
type cluster struct {
	dbURL   string
	hostKey hostkeys.Key
	lb      *balancer
	sc      *client.API
	apiKey  string
	a, b    *instance
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{dbURL: pgtest.NewDatabase(t)}
	var err error
	if c.hostKey, err = hostkeys.LoadOrCreate(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	c.lb = &balancer{sent: map[string]int{}}
	lbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lbSrv := &http.Server{Handler: c.lb}
	go lbSrv.Serve(lbLn)
	t.Cleanup(func() { lbSrv.Close() })

	sbDir := t.TempDir()
	sbAddr := make(chan string, 1)
	sbCtx, sbStop := context.WithCancel(context.Background())
	sbDone := make(chan error, 1)
	go func() {
		sbDone <- app.RunSandbox(sbCtx, app.SandboxConfig{
			Addr: "127.0.0.1:0", DataDir: sbDir, WebhookURL: "http://" + lbLn.Addr().String() + "/webhooks/stripe",
			Ready: func(addr string) { sbAddr <- addr },
		}, io.Discard)
	}()
	t.Cleanup(func() { sbStop(); <-sbDone })
	var apiBase string
	select {
	case a := <-sbAddr:
		apiBase = "http://" + a
	case err := <-sbDone:
		t.Fatalf("sandbox: %v", err)
	}
	key, _ := os.ReadFile(filepath.Join(sbDir, app.SandboxAPIKeyFile))
	secret, _ := os.ReadFile(filepath.Join(sbDir, app.SandboxWebhookSecretFile))
	c.apiKey = strings.TrimSpace(string(key))
	cfg := app.Config{
		DatabaseURL: c.dbURL, HostKeyPath: c.hostKey.Path,
		Stripe: app.StripeConfig{APIBase: apiBase, SecretKey: c.apiKey, WebhookSecret: strings.TrimSpace(string(secret))},
	}
	c.a = startInstance(t, "A", cfg)
	c.b = startInstance(t, "B", cfg)
	c.lb.mu.Lock()
	c.lb.backends = []*instance{c.a, c.b}
	c.lb.mu.Unlock()
	c.sc = client.New(c.apiKey, &stripe.Backends{
		API: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(apiBase)}),
	})
	return c
}

// trialSession registers a new key on in and starts a trial of plan M.
func (c *cluster) trialSession(t testing.TB, in *instance, email string) (*Session, store.Key) {
	t.Helper()
	k := NewKey(t)
	s, err := Dial(in.ssh, k, WithSize(100, 30), WithHostKeyFingerprint(c.hostKey.Fingerprint()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SignUp(t, email, "3")
	s.WaitFor(t, "trial, no card yet")
	return s, store.Key{Fingerprint: ssh.FingerprintSHA256(k.PublicKey())}
}

func TestTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two portal processes and a sandbox")
	}
	c := startCluster(t)
	a, b, lb, sc, hostKey, dbURL := c.a, c.b, c.lb, c.sc, c.hostKey, c.dbURL
	_ = hostKey
	// One host key, and the jobs on exactly one instance.
	waitUntil(t, 30*time.Second, "one instance runs the reconciler", func() bool { return a.leading("reconciler") != b.leading("reconciler") })

	// A session on B redraws when the webhook lands on A: B starts a trial,
	// the sandbox's clock passes its end, the pause reaches A by webhook,
	// and B's screen shows the plan paused.
	s, _ := c.trialSession(t, b, "ada@example.com")
	lb.mu.Lock()
	toA := lb.sent["A"]
	lb.mu.Unlock()
	// One sandbox, one clock: the countdown on B follows the sandbox's
	// clock when it moves.
	advance := func(d time.Duration) {
		t.Helper()
		clk, err := sc.TestHelpersTestClocks.Get(sandbox.ClockID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.TestHelpersTestClocks.Advance(sandbox.ClockID, &stripe.TestHelpersTestClockAdvanceParams{
			FrozenTime: stripe.Int64(clk.FrozenTime + int64(d/time.Second)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	advance(20 * 24 * time.Hour)
	s.WaitScreen(t, "the countdown at 10 days or fewer", func(scr string) bool {
		return strings.Contains(scr, "10 days left") || strings.Contains(scr, " 9 days left")
	}, 30*time.Second)
	advance(11 * 24 * time.Hour)
	s.WaitFor(t, "trial ended", 30*time.Second)
	lb.mu.Lock()
	if lb.sent["A"] == toA || lb.sent["B"] != 0 {
		t.Errorf("webhooks sent: %v (A had %d before the clock moved); want the pause delivered to A only", lb.sent, toA)
	}
	lb.mu.Unlock()

	// kill -9 A while it handles webhooks: the sandbox redelivers to B.
	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	price, err := findMonthlyPrice(sc, "portal_m_monthly")
	if err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	lb.mu.Lock()
	sentA := lb.sent["A"]
	lb.onSend = func(in *instance, n int) {
		if in == a && n == sentA+8 && killed.CompareAndSwap(false, true) {
			_ = a.cmd.Process.Kill() // SIGKILL, mid-stream
		}
	}
	lb.mu.Unlock()
	const accounts = 12
	type want struct{ id, sub string }
	var wants []want
	for i := range accounts {
		acct, err := db.CreateAccount(fmt.Sprintf("u%d@example.com", i), store.Key{Fingerprint: fmt.Sprint("SHA256:u", i)})
		if err != nil {
			t.Fatal(err)
		}
		cus, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String(acct.Email)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateAccount(acct.ID, func(x *store.Account) error { x.CustomerID = cus.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		sub, err := sc.Subscriptions.New(&stripe.SubscriptionParams{
			Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
			TrialPeriodDays: stripe.Int64(30),
			TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
				MissingPaymentMethod: stripe.String("pause")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		wants = append(wants, want{acct.ID, sub.ID})
	}
	waitUntil(t, 30*time.Second, "A killed while handling webhooks", killed.Load)
	<-a.exited
	waitUntil(t, 60*time.Second, "every subscription reaches its account through B", func() bool {
		for _, w := range wants {
			got, err := db.Account(w.id)
			if err != nil || got.SubscriptionID != w.sub || got.State != store.StateTrial || got.Plan != "m" {
				return false
			}
		}
		return true
	})
	// The same final state an uncrashed run reaches: what Stripe says now.
	for _, w := range wants {
		got, _ := db.Account(w.id)
		sub, err := sc.Subscriptions.Get(w.sub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.TrialEnd.Unix() != sub.TrialEnd || got.SubscriptionStatus != string(sub.Status) {
			t.Errorf("account %s: trial end %v status %q; Stripe says %v %q", w.id, got.TrialEnd, got.SubscriptionStatus, time.Unix(sub.TrialEnd, 0), sub.Status)
		}
	}
	evs, err := db.Events(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Status == store.EventStatusFailed {
			t.Errorf("event %s %s left failed: %s", ev.ID, ev.Type, ev.Error)
		}
	}
	lb.mu.Lock()
	t.Logf("webhooks forwarded: %v", lb.sent)
	lb.mu.Unlock()

	// The reconciler moves when its holder dies.
	waitUntil(t, 30*time.Second, "B runs the reconciler once A is gone", func() bool { return b.leading("reconciler") })
}

func findMonthlyPrice(sc *client.API, lookup string) (string, error) {
	it := sc.Prices.List(&stripe.PriceListParams{LookupKeys: []*string{stripe.String(lookup)}})
	for it.Next() {
		return it.Price().ID, nil
	}
	if err := it.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no price " + lookup)
}

func waitUntil(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkWebhookToScreenAcrossInstances: the sandbox changes a
// subscription (cancel at period end, on and off), its webhook lands on
// instance A, and the time until the account's session shows it is
// measured for a session on B (across instances: A's commit, the feed, B's
// redraw) and, in the same run, for one on A itself (the baseline):
//
//	go test -run '^$' -bench WebhookToScreenAcrossInstances ./portaltest/
func BenchmarkWebhookToScreenAcrossInstances(b *testing.B) {
	c := startCluster(b)
	db, err := postgres.Open(context.Background(), c.dbURL, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const events = 200
	results := map[string][]time.Duration{}
	for _, where := range []struct {
		name string
		in   *instance
	}{{"on-B", c.b}, {"on-A", c.a}} {
		s, key := c.trialSession(b, where.in, "bench-"+where.name+"@example.com")
		acct, err := db.AccountByKey(key.Fingerprint)
		if err != nil {
			b.Fatal(err)
		}
		waitUntil(b, 30*time.Second, "the subscription recorded", func() bool {
			a, err := db.Account(acct.ID)
			acct = a
			return err == nil && a.SubscriptionID != ""
		})
		for i := range events {
			cancel := i%2 == 0
			want := "trial, no card yet"
			if cancel {
				want = "then Free"
			}
			start := time.Now()
			if _, err := c.sc.Subscriptions.Update(acct.SubscriptionID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(cancel)}); err != nil {
				b.Fatal(err)
			}
			s.WaitFor(b, want, 30*time.Second)
			results[where.name] = append(results[where.name], time.Since(start))
		}
	}
	c.lb.mu.Lock()
	if c.lb.sent["B"] != 0 {
		b.Errorf("webhooks reached B: %v", c.lb.sent)
	}
	c.lb.mu.Unlock()
	for name, lat := range results {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
}
