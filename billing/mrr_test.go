package billing

import (
	"maps"
	"testing"

	"github.com/portal/portal/store"
)

func TestMRR(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		name   string
		counts []store.AccountCount
		want   map[string]int64
	}{
		{"none", nil, map[string]int64{"usd": 0}},
		{"active and past due bill", []store.AccountCount{
			{State: store.StateActive, Plan: "s", SubscriptionStatus: "active", N: 3},
			{State: store.StateCanceling, Plan: "m", SubscriptionStatus: "active", N: 1},
			{State: store.StatePastDue, Plan: "xl", SubscriptionStatus: "past_due", N: 2},
		}, map[string]int64{"usd": 3*900 + 2900 + 2*7900}},
		{"trials, unpaid, free and unknown plans do not", []store.AccountCount{
			{State: store.StateTrial, Plan: "s", SubscriptionStatus: "trialing", N: 5},
			{State: store.StateCanceling, Plan: "s", SubscriptionStatus: "trialing", N: 1},
			{State: store.StateLockedUnpaid, Plan: "m", SubscriptionStatus: "unpaid", N: 1},
			{State: store.StateFree, Plan: "free", N: 9},
			{State: store.StateActive, Plan: "gone", SubscriptionStatus: "active", N: 1},
		}, map[string]int64{"usd": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MRR(tt.counts, c); !maps.Equal(got, tt.want) {
				t.Errorf("MRR = %v, want %v", got, tt.want)
			}
		})
	}
}
