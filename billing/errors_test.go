package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

func TestMessage(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{wrap("ChoosePlan", ErrCardRequired), "add a card"},
		{wrap("ChoosePlan", ErrUnknownPlan), "plan does not exist"},
		{wrap("ChoosePlan", fmt.Errorf("%w: %w", ErrTrialPending, &stripe.Error{HTTPStatusCode: 503})), "still being set up"},
		{wrap("ChangePlan", ErrNoSubscription), "no subscription"},
		{wrap("ChoosePlan", store.ErrNotFound), "no longer exists"},
		{wrap("ChoosePlan", storeErr(errors.New("store: disk full"))), "could not be saved"},
		{wrap("ChoosePlan", context.DeadlineExceeded), "interrupted"},
		{wrap("CardLink", &stripe.Error{Type: stripe.ErrorTypeCard, Code: stripe.ErrorCodeCardDeclined, Msg: `{"raw":"json"}`}), "declined"},
		{wrap("CardLink", &stripe.Error{HTTPStatusCode: 429, Msg: "rate"}), "busy"},
		{wrap("CardLink", &stripe.Error{HTTPStatusCode: 503}), "unavailable"},
		{wrap("CardLink", &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Msg: `{"error":{}}`}), "refused"},
		{fmt.Errorf("plain: %w", errors.New("x")), "went wrong"},
	}
	for _, c := range cases {
		got := Message(c.err)
		if !strings.Contains(got, c.want) || strings.ContainsAny(got, "{}") {
			t.Errorf("Message(%v) = %q, want it to contain %q", c.err, got, c.want)
		}
	}
	err := wrap("ChoosePlan", ErrCardRequired)
	if !errors.Is(err, ErrCardRequired) || !strings.Contains(err.Error(), "ChoosePlan") {
		t.Errorf("wrapped error %v lost its cause or op", err)
	}
}
