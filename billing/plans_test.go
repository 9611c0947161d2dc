package billing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()
	var ids []string
	for _, p := range c.Plans() {
		ids = append(ids, p.ID)
		if len(p.Features) == 0 || p.Currency != "usd" {
			t.Errorf("plan %s: %+v", p.ID, p)
		}
		if !p.Free() && p.LookupKey != "portal_"+p.ID+"_monthly" {
			t.Errorf("plan %s lookup key %q", p.ID, p.LookupKey)
		}
		if got, ok := c.PlanByLookupKey(p.LookupKey); !p.Free() && (!ok || got.ID != p.ID) {
			t.Errorf("PlanByLookupKey(%q) = %v %v", p.LookupKey, got.ID, ok)
		}
	}
	if got := strings.Join(ids, ","); got != "free,s,m,xl,xxl" {
		t.Fatalf("plans = %s", got)
	}
	if _, ok := c.Plan("nope"); ok {
		t.Fatal("unknown plan found")
	}
	if _, ok := c.PlanByLookupKey(""); ok {
		t.Fatal("empty lookup key matched the free plan")
	}
	p, _ := c.Plan("s")
	p.Features[0] = "mutated"
	if q, _ := c.Plan("s"); q.Features[0] == "mutated" {
		t.Fatal("catalog shares its slices")
	}
}

func TestLoadCatalog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadCatalog(write("ok.json", `{"plans":[
		{"id":"pro","name":"Pro","amount":5000,"features":["everything"],"lookup_key":"custom_pro"},
		{"id":"free","name":"Free","amount":0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if ps := c.Plans(); len(ps) != 2 || ps[0].ID != "free" || ps[1].LookupKey != "custom_pro" || ps[1].Currency != "usd" {
		t.Fatalf("plans = %+v", ps)
	}
	if _, err := LoadCatalog(write("list.json", `[{"id":"free"},{"id":"s","amount":1}]`)); err != nil {
		t.Fatalf("list form: %v", err)
	}
	for name, body := range map[string]string{
		"nofree":   `[{"id":"s","amount":100}]`,
		"dup":      `[{"id":"free"},{"id":"s","amount":1},{"id":"s","amount":2}]`,
		"zero":     `[{"id":"free"},{"id":"s","amount":0}]`,
		"paidfree": `[{"id":"free","amount":5}]`,
		"badid":    `[{"id":"free"},{"id":"S P","amount":5}]`,
		"badcur":   `[{"id":"free"},{"id":"s","amount":5,"currency":"dollars"}]`,
		"dupkey":   `[{"id":"free"},{"id":"s","amount":5,"lookup_key":"k"},{"id":"m","amount":6,"lookup_key":"k"}]`,
		"garbage":  `{"plans":`,
	} {
		if _, err := LoadCatalog(write(name+".json", body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadCatalog(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestCatalogNameAndLine(t *testing.T) {
	c := DefaultCatalog()
	for _, tc := range []struct{ id, name, line string }{
		{"m", "M", "M · $29.00/month"},
		{PlanFree, "Free", "Free"},
		{"gone", "gone", "gone"},
	} {
		if got := c.Name(tc.id); got != tc.name {
			t.Errorf("Name(%q) = %q, want %q", tc.id, got, tc.name)
		}
		if got := c.Line(tc.id); got != tc.line {
			t.Errorf("Line(%q) = %q, want %q", tc.id, got, tc.line)
		}
	}
}
