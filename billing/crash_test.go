package billing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// The crash test's child process: the test binary re-run with these
// variables set serves the webhook listener on the store file until it is
// killed.
const (
	crashStoreEnv = "PORTAL_CRASH_CHILD_STORE"
	crashAddrEnv  = "PORTAL_CRASH_CHILD_ADDR_FILE"
	crashAccounts = 24 // four of each scenario
)

// crashScenario is the final state at Stripe of crashAccounts accounts and,
// per account, its events in order; the same in parent and child.
func crashScenario() (*fakeStripe, [][]testEvent) {
	fake := newFakeStripe()
	perAccount := make([][]testEvent, crashAccounts)
	for i := range crashAccounts {
		_, _, steps := scenario(i)
		for _, st := range steps {
			perAccount[i] = append(perAccount[i], stepEvents(fake, st)...)
		}
	}
	return fake, perAccount
}

// createCrashAccounts registers the scenario's accounts in db.
func createCrashAccounts(tb testing.TB, db *store.DB) {
	tb.Helper()
	for i := range crashAccounts {
		email, setup, _ := scenario(i)
		a := newAccount(tb, db, email)
		if _, err := db.UpdateAccount(a.ID, func(acc *store.Account) error { setup(acc); return nil }); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestCrashChild is not a test: it is the crash test's child process.
func TestCrashChild(t *testing.T) {
	path, addrFile := os.Getenv(crashStoreEnv), os.Getenv(crashAddrEnv)
	if path == "" {
		t.Skip("the child process of TestWebhookCrashLosesNothing; runs only from it")
	}
	db, err := store.Open(path, store.Options{}) // fsync on commit, as in production
	if err != nil {
		t.Fatal(err)
	}
	fake, _ := crashScenario()
	svc, err := New(Config{API: fake.api(), Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tmp := addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, addrFile); err != nil {
		t.Fatal(err)
	}
	// Serves until the parent kills the process.
	t.Fatal(http.Serve(ln, svc.WebhookHandler(testSecret, WebhookOptions{})))
}

// TestWebhookCrashLosesNothing: a child process handles a stream of signed
// webhooks that raise notices and is killed with SIGKILL at random moments,
// several times. After each restart the events that got no 2xx are sent
// again (as Stripe redelivers). At the end every notice is present exactly
// once and every account equals the one of an uncrashed run.
func TestWebhookCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const kills = 8
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	dir := t.TempDir()
	path := filepath.Join(dir, "portal.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	createCrashAccounts(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, perAccount := crashScenario()
	queues := make([][]testEvent, len(perAccount)) // what has not had a 2xx yet, in order
	copy(queues, perAccount)
	var mu sync.Mutex // guards queues

	remaining := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, q := range queues {
			n += len(q)
		}
		return n
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	killed := 0
	for round := 0; remaining() > 0; round++ {
		if round > kills+3 {
			t.Fatalf("%d events still without a 2xx after %d rounds", remaining(), round)
		}
		child, addr := startCrashChild(t, path, filepath.Join(dir, fmt.Sprintf("addr%d", round)))
		url := "http://" + addr + "/webhooks/stripe"
		// The kill comes a moment (0 to 2 ms) after a random number (at
		// least one) of the remaining events got their 2xx: in the middle of
		// the stream, with requests in flight, often mid-commit.
		var acked atomic.Int32
		killAt := int32(-1)
		var killOnce sync.Once
		killedNow := false
		if killed < kills {
			killAt = int32(rng.IntN(max(min(remaining()/3, 15), 1))) + 1
		}
		delay := time.Duration(rng.IntN(2000)) * time.Microsecond
		ack := func() {
			if acked.Add(1) == killAt {
				killOnce.Do(func() {
					killedNow = true
					time.AfterFunc(delay, func() { _ = child.Process.Kill() })
				})
			}
		}
		var wg sync.WaitGroup
		for w := range 4 { // each sender owns whole accounts, so each account's order holds
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(queues); i += 4 {
					for {
						mu.Lock()
						if len(queues[i]) == 0 {
							mu.Unlock()
							break
						}
						e := queues[i][0]
						mu.Unlock()
						code, body, err := postEvent(client, url, e)
						if err != nil {
							return // the child is gone: this round is over
						}
						if code/100 != 2 {
							t.Errorf("%s %s answered %d %q with a healthy store", e.ID, e.Type, code, body)
							return
						}
						mu.Lock()
						queues[i] = queues[i][1:]
						mu.Unlock()
						ack()
					}
				}
			}()
		}
		wg.Wait()
		_ = child.Process.Kill() // killed already, or done with its events
		_ = child.Wait()
		client.CloseIdleConnections()
		if killedNow {
			killed++
		}
		if t.Failed() {
			return
		}
	}
	if killed == 0 {
		t.Fatal("the child was never killed mid-stream")
	}
	t.Logf("%d kills", killed)

	got, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	crashed := &webhookEnv{db: got}

	// The uncrashed run: the same events, each delivered once, in order.
	fake, events := crashScenario()
	ref := newWebhookEnv(t, fake, true)
	createCrashAccounts(t, ref.db)
	for _, evs := range events {
		for _, e := range evs {
			if code := deliver(t, ref.h, e); code != http.StatusOK {
				t.Fatalf("uncrashed run: %s %s: %d", e.ID, e.Type, code)
			}
		}
	}

	wantNotices, gotNotices := ref.notices(t), crashed.notices(t)
	if len(wantNotices) == 0 {
		t.Fatal("the scenario raises no notice: the test proves nothing")
	}
	if !slices.Equal(gotNotices, wantNotices) {
		t.Errorf("notices after %d crashes:\n got %q\nwant %q", killed, gotNotices, wantNotices)
	}
	want, have := ref.accounts(t), crashed.accounts(t)
	for email, w := range want {
		if h := have[email]; !reflect.DeepEqual(h, w) {
			t.Errorf("%s after crashes:\n got %+v\nwant %+v", email, h, w)
		}
	}
	for _, evs := range events {
		for _, e := range evs {
			if done, err := got.EventProcessed(e.ID); err != nil || !done {
				t.Errorf("%s not recorded as handled (%v)", e.ID, err)
			}
		}
	}
}

// startCrashChild starts the child process on the store at path and
// returns it with its listener's address.
func startCrashChild(t *testing.T, path, addrFile string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashStoreEnv+"="+path, crashAddrEnv+"="+addrFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			return cmd, strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child did not start:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// postEvent signs and posts e; err is a transport failure (the child died).
func postEvent(c *http.Client, url string, e testEvent) (int, string, error) {
	p := e.payload(stripe.APIVersion)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(p))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Stripe-Signature", sign(p, testSecret, time.Now()))
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", errors.Join(errors.New("reply cut short"), err)
	}
	return resp.StatusCode, string(body), nil
}
