package sandbox

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	bolt "go.etcd.io/bbolt"
)

// A change whose write fails (a full disk, here a file reopened read-only:
// writes fail, reads work) is answered 500 and leaves nothing behind in
// memory: not served, and no event of it delivered (issue 11).
func TestFailedCommitLeavesMemoryAsTheFile(t *testing.T) {
	e := newEnv(t)
	cus := e.customer("a@example.com")
	e.rc.waitFor("customer.created", cus.ID)

	e.sb.mu.Lock()
	path := e.sb.db.Path()
	if err := e.sb.db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.sb.db = ro
	objs, deliveries := len(e.sb.st.objs), len(e.sb.st.deliveries)
	e.sb.mu.Unlock()

	is500 := func(what string, err error) {
		t.Helper()
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusInternalServerError {
			t.Fatalf("%s with failing writes: %v, want a 500", what, err)
		}
	}
	_, err = e.sc.Customers.Update(cus.ID, &stripe.CustomerParams{Email: stripe.String("b@example.com")})
	is500("update", err)
	_, err = e.sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("c@example.com")})
	is500("create", err)
	got, err := e.sc.Customers.Get(cus.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "a@example.com" {
		t.Errorf("after a failed update the customer's email is %q, want the stored a@example.com", got.Email)
	}
	e.sb.mu.RLock()
	defer e.sb.mu.RUnlock()
	if len(e.sb.st.objs) != objs || len(e.sb.st.deliveries) != deliveries {
		t.Errorf("after failed writes memory holds %d objects and %d deliveries, the file %d and %d",
			len(e.sb.st.objs), len(e.sb.st.deliveries), objs, deliveries)
	}
}
