package sshserver

import (
	"log/slog"
	"testing"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/metrics"
	gossh "golang.org/x/crypto/ssh"
)

// Each panic the recover middleware catches counts once in
// portal_ssh_panics_recovered_total (issue 15), the metric the portal's
// Observer feeds.
func TestRecoveredPanicIsCounted(t *testing.T) {
	m := metrics.New()
	addr := serveSSH(t,
		func(ssh.Handler) ssh.Handler { return func(ssh.Session) { panic("boom") } },
		recoverMiddleware(slog.New(slog.DiscardHandler), m),
	)
	for range 2 {
		c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
			User: "x", Auth: []gossh.AuthMethod{gossh.PublicKeys(testkit.NewSigner(t))},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CombinedOutput(""); err == nil {
			t.Error("panicking session exited 0")
		}
		c.Close()
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "portal_ssh_panics_recovered_total" {
			if got := f.GetMetric()[0].GetCounter().GetValue(); got != 2 {
				t.Errorf("portal_ssh_panics_recovered_total = %v, want 2", got)
			}
			return
		}
	}
	t.Error("portal_ssh_panics_recovered_total missing")
}
