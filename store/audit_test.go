package store

import (
	"fmt"
	"testing"
	"time"
)

func TestAuditOrdering(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	fixed := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		acc := "acc_a"
		if i%2 == 1 {
			acc = "acc_b"
		}
		// Same At for all: order must come from insertion, not the clock.
		e, err := db.AppendAudit(AuditEntry{Actor: "admin", AccountID: acc, Action: fmt.Sprint("act", i), At: fixed})
		if err != nil || e.ID == "" {
			t.Fatalf("AppendAudit = %+v, %v", e, err)
		}
	}
	if _, err := db.AppendAudit(AuditEntry{Actor: "admin"}); err == nil {
		t.Error("AppendAudit without an action succeeded")
	}
	actions := joinBy(t, func(e AuditEntry) string { return e.Action })
	if got := actions(db.Audit("", 0)); got != "act4 act3 act2 act1 act0 " {
		t.Errorf("Audit(all) = %s", got)
	}
	if got := actions(db.Audit("acc_a", 2)); got != "act4 act2 " {
		t.Errorf("Audit(acc_a, 2) = %s", got)
	}
	if got := actions(db.Audit("acc_b", 0)); got != "act3 act1 " {
		t.Errorf("Audit(acc_b) = %s", got)
	}
	if got := actions(db.Audit("acc_c", 0)); got != "" {
		t.Errorf("Audit(acc_c) = %s", got)
	}
}
