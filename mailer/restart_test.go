package mailer

import (
	"context"
	"testing"
	"time"
)

// TestBackoffSurvivesRestart: a failed try's next attempt time is stored
// with the notice, so a restarted mailer (a new Mailer on the same store)
// waits for it instead of trying at once.
func TestBackoffSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{})
	ts.RejectData(1)
	url := smtpURL(ts, "", "", "none")
	backoff := func(c *Config) { c.Backoff = func(int) time.Duration { return 10 * time.Minute } }
	ctx := context.Background()
	if err := e.mailer(t, url, backoff).Flush(ctx); err == nil {
		t.Fatal("first try: want the server's rejection")
	}
	if n := e.stored(t, e.notice.ID); n.MailTries != 1 || !n.MailNextAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after one failure: tries %d, next attempt %v, want %v", n.MailTries, n.MailNextAt, t0.Add(10*time.Minute))
	}

	restarted := e.mailer(t, url, backoff)
	e.flushNotDue(t, restarted, ts, 9*time.Minute, 1)
	e.clk.Add(time.Minute)
	if err := restarted.Flush(ctx); err != nil {
		t.Fatalf("Flush at the stored retry time: %v", err)
	}
	if n := e.stored(t, e.notice.ID); n.MailedAt.IsZero() || !n.MailNextAt.IsZero() || len(ts.Messages()) != 1 {
		t.Errorf("after the retry: mailed %v, next %v, %d messages", n.MailedAt, n.MailNextAt, len(ts.Messages()))
	}
}
