package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// readyTimeout bounds the store read /readyz makes: a store slower than this
// is as good as down for a session that is waiting on it.
const readyTimeout = 2 * time.Second

// livez answers while the process serves HTTP at all: a supervisor restarts
// the process when it does not.
func (a *App) livez(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when the portal can serve a customer: the SSH listener
// accepts, the store answers a read within readyTimeout, and no shutdown has
// begun. Otherwise 503 with the reasons, so a load balancer stops sending
// new connections (during shutdown, before sessions are cut).
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ready := true
	fail := func(name, why string) { checks[name] = why; ready = false }
	switch {
	case a.shuttingDown.Load():
		fail("shutdown", "shutting down")
	case !a.sshServing.Load():
		fail("ssh", "listener not serving")
	default:
		checks["ssh"] = "ok"
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.pingStore(ctx); err != nil {
		fail("store", err.Error())
	} else {
		checks["store"] = "ok"
	}
	status, code := "ready", http.StatusOK
	if !ready {
		status, code = "not ready", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
}
