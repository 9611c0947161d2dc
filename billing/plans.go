package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/portal/portal/store"
)

// PlanFree is the id of the free plan, the one plan that never touches Stripe.
const PlanFree = store.PlanFree

// Plan is one entry of the catalog. Amount is the monthly price in minor units
// of Currency (cents for usd); the free plan has Amount 0 and no LookupKey.
type Plan struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Amount    int64    `json:"amount"`
	Currency  string   `json:"currency"`
	Features  []string `json:"features"`
	LookupKey string   `json:"lookup_key,omitempty"`
}

// Free reports whether p is the free plan.
func (p Plan) Free() bool { return p.ID == PlanFree }

// Catalog is an immutable, ordered set of plans: cheapest first.
// The zero Catalog has no plans; use DefaultCatalog or LoadCatalog.
type Catalog struct {
	plans []Plan
}

// DefaultLookupKey is the Stripe price lookup_key of a paid plan id:
// "portal_<id>_monthly".
func DefaultLookupKey(id string) string { return "portal_" + id + "_monthly" }

// DefaultCatalog returns the built-in plans: free, s, m, xl and xxl, billed
// monthly in USD.
func DefaultCatalog() Catalog {
	c, err := newCatalog([]Plan{
		{ID: PlanFree, Name: "Free", Features: []string{"1 connection", "25 MB keyspace browser", "community support"}},
		{ID: "s", Name: "S", Amount: 900, Features: []string{"3 connections", "1 GB keyspace browser", "7-day query history"}},
		{ID: "m", Name: "M", Amount: 2900, Features: []string{"10 connections", "10 GB keyspace browser", "30-day query history", "email support"}},
		{ID: "xl", Name: "XL", Amount: 7900, Features: []string{"50 connections", "unlimited keyspace browser", "1-year query history", "SSO"}},
		{ID: "xxl", Name: "XXL", Amount: 19900, Features: []string{"unlimited connections", "audit log export", "priority support", "SSO and SCIM"}},
	})
	if err != nil {
		panic("billing: built-in catalog is invalid: " + err.Error()) // a programming error, caught by tests
	}
	return c
}

// LoadCatalog reads a JSON plans file, either a list of plans or an object
// {"plans": [...]}. It must contain the free plan (amount 0); every other plan
// needs a positive amount. Currency defaults to "usd" and LookupKey to
// DefaultLookupKey(id). Plans are ordered by amount.
func LoadCatalog(path string) (Catalog, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Catalog{}, fmt.Errorf("billing: plans file: %w", err)
	}
	var plans []Plan
	if err := json.Unmarshal(raw, &plans); err != nil {
		var doc struct {
			Plans []Plan `json:"plans"`
		}
		if err2 := json.Unmarshal(raw, &doc); err2 != nil {
			return Catalog{}, fmt.Errorf("billing: plans file %s: %w", path, err)
		}
		plans = doc.Plans
	}
	c, err := newCatalog(plans)
	if err != nil {
		return Catalog{}, fmt.Errorf("billing: plans file %s: %w", path, err)
	}
	return c, nil
}

var planIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func newCatalog(in []Plan) (Catalog, error) {
	plans := make([]Plan, 0, len(in))
	seenID, seenKey := map[string]bool{}, map[string]bool{}
	for _, p := range in {
		p.ID = strings.TrimSpace(p.ID)
		p.Currency = strings.ToLower(strings.TrimSpace(p.Currency))
		if p.Currency == "" {
			p.Currency = "usd"
		}
		if p.Name == "" {
			p.Name = p.ID
		}
		p.Features = slices.Clone(p.Features)
		switch {
		case !planIDPattern.MatchString(p.ID):
			return Catalog{}, fmt.Errorf("plan id %q: want 1-32 of a-z, 0-9, _ and -", p.ID)
		case seenID[p.ID]:
			return Catalog{}, fmt.Errorf("plan %q listed twice", p.ID)
		case len(p.Currency) != 3:
			return Catalog{}, fmt.Errorf("plan %q: currency %q is not an ISO code", p.ID, p.Currency)
		case p.Free() && p.Amount != 0:
			return Catalog{}, errors.New(`plan "free" must cost 0`)
		case !p.Free() && p.Amount <= 0:
			return Catalog{}, fmt.Errorf("plan %q: a paid plan needs a positive amount", p.ID)
		}
		if p.Free() {
			p.LookupKey = ""
		} else if p.LookupKey == "" {
			p.LookupKey = DefaultLookupKey(p.ID)
		}
		if p.LookupKey != "" && seenKey[p.LookupKey] {
			return Catalog{}, fmt.Errorf("plan %q: lookup key %q used twice", p.ID, p.LookupKey)
		}
		seenID[p.ID], seenKey[p.LookupKey] = true, true
		plans = append(plans, p)
	}
	if !seenID[PlanFree] {
		return Catalog{}, errors.New(`the catalog needs a "free" plan`)
	}
	slices.SortStableFunc(plans, func(a, b Plan) int {
		switch {
		case a.Amount < b.Amount:
			return -1
		case a.Amount > b.Amount:
			return 1
		}
		return 0
	})
	return Catalog{plans: plans}, nil
}

// Plans returns a copy of the plans, cheapest first.
func (c Catalog) Plans() []Plan {
	out := make([]Plan, len(c.plans))
	for i, p := range c.plans {
		p.Features = slices.Clone(p.Features)
		out[i] = p
	}
	return out
}

// Plan returns the plan with the given id.
func (c Catalog) Plan(id string) (Plan, bool) {
	for _, p := range c.plans {
		if p.ID == id {
			p.Features = slices.Clone(p.Features)
			return p, true
		}
	}
	return Plan{}, false
}

// Name is the plan's display name, or its id when the catalog lacks it.
func (c Catalog) Name(id string) string {
	if p, ok := c.Plan(id); ok {
		return p.Name
	}
	return id
}

// Line is the plan's name and price, "M · $29.00/month", or "Free" (the id
// when the catalog lacks it).
func (c Catalog) Line(id string) string {
	p, ok := c.Plan(id)
	switch {
	case !ok:
		return id
	case p.Free():
		return p.Name
	}
	return p.Name + " · " + FormatAmount(p.Amount, p.Currency) + "/month"
}

// PlanByLookupKey returns the paid plan whose Stripe price has lookupKey.
func (c Catalog) PlanByLookupKey(lookupKey string) (Plan, bool) {
	if lookupKey == "" {
		return Plan{}, false
	}
	for _, p := range c.plans {
		if p.LookupKey == lookupKey {
			p.Features = slices.Clone(p.Features)
			return p, true
		}
	}
	return Plan{}, false
}

// Paid returns the paid plans, cheapest first.
func (c Catalog) Paid() []Plan {
	var out []Plan
	for _, p := range c.Plans() {
		if !p.Free() {
			out = append(out, p)
		}
	}
	return out
}
