package mailer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portal/portal/store"
	gomail "github.com/wneessen/go-mail"
)

// Run drains the outbox until ctx ends: at once, after every change the
// store's all-accounts feed reports (coalesced), when a failed notice's retry
// time comes, and once a minute as a safety net. Outcomes are logged per
// notice. If the store closes the feed, Run keeps polling until ctx ends. A
// nil Mailer just waits for ctx.
func (m *Mailer) Run(ctx context.Context) {
	if m == nil {
		<-ctx.Done()
		return
	}
	sub := m.db.Subscribe("")
	defer sub.Close()
	feed := sub.C()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	m.log.Info("mailer: started", "smtp", m.settings)

	for {
		// Errors are logged per notice inside flush.
		next, _ := m.flush(ctx)
		if next.IsZero() {
			retry.Stop()
		} else {
			retry.Reset(max(next.Sub(m.now()), 0))
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-feed:
			if !ok {
				m.log.Warn("mailer: change feed closed; polling only")
				feed = nil
				break
			}
			feed = drain(feed)
		case <-tick.C:
		case <-retry.C:
		}
	}
}

// drain consumes changes already queued so that a burst costs one pass. It
// returns nil if the feed closed.
func drain(feed <-chan store.Change) <-chan store.Change {
	for {
		select {
		case _, ok := <-feed:
			if !ok {
				return nil
			}
		default:
			return feed
		}
	}
}

// Flush makes one pass over the outbox: each notice that has not used up its
// tries and whose retry time has come is composed and sent, over one SMTP
// connection per pass, and the outcome recorded with store.MarkMailed. It
// returns the pass's failures joined (each is also recorded on its notice
// and logged), nil when everything due was mailed. A nil Mailer returns nil.
//
// Sending is at least once: if the server accepts a message and the store
// then fails to record it, the notice is sent again on a later pass (with
// the same Message-ID).
func (m *Mailer) Flush(ctx context.Context) error {
	if m == nil {
		return nil
	}
	_, err := m.flush(ctx)
	return err
}

// flush is Flush; it also returns the earliest retry time among notices that
// are waiting (zero if none).
func (m *Mailer) flush(ctx context.Context) (next time.Time, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	outbox, err := m.db.Outbox()
	if err != nil {
		m.log.Error("mailer: reading outbox", "err", err)
		return time.Time{}, fmt.Errorf("mailer: outbox: %w", err)
	}
	now := m.now()
	inOutbox := make(map[string]bool, len(outbox))
	var due []store.Notice
	for _, n := range outbox {
		inOutbox[n.ID] = true
		if n.MailTries >= m.maxTries {
			continue // given up; stays for the ops view
		}
		at := n.MailNextAt // the backoff, stored with the try
		if held, ok := m.retryAt[n.ID]; ok && held.After(at) {
			at = held // the store could not record the last try
		}
		if now.Before(at) {
			next = earliest(next, at)
			continue
		}
		due = append(due, n)
	}
	for id := range m.retryAt {
		if !inOutbox[id] {
			delete(m.retryAt, id)
		}
	}
	if len(due) == 0 {
		return next, nil
	}

	type job struct {
		n   store.Notice
		msg *gomail.Msg
	}
	var errs []error
	var jobs []job
	for _, n := range due {
		a, err := m.db.Account(n.AccountID)
		var msg *gomail.Msg
		if err == nil {
			msg, err = m.message(n, a, now)
		}
		if err != nil {
			errs = append(errs, m.failed(n, fmt.Errorf("compose: %w", err), &next))
			continue
		}
		jobs = append(jobs, job{n, msg})
	}
	if len(jobs) == 0 {
		return next, errors.Join(errs...)
	}

	c, err := m.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return next, errors.Join(append(errs, ctx.Err())...) // shutting down: not a try
		}
		err = fmt.Errorf("connect to %s:%d: %w", m.settings.Host, m.settings.Port, err)
		for _, j := range jobs {
			errs = append(errs, m.failed(j.n, err, &next))
		}
		return next, errors.Join(errs...)
	}
	// go-mail's sends take no context: closing the socket ends a send that
	// is under way when ctx ends, so shutdown does not wait for a timeout.
	conn := m.lastConn
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		if stop() {
			if err := m.client.CloseWithSMTPClient(c); err != nil {
				m.log.Debug("mailer: closing SMTP connection", "err", m.redact(err))
			}
		}
	}()

	for _, j := range jobs {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if err := m.client.SendWithSMTPClient(c, j.msg); err != nil {
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				break
			}
			errs = append(errs, m.failed(j.n, fmt.Errorf("send: %w", err), &next))
			continue
		}
		delete(m.retryAt, j.n.ID)
		m.observe(true)
		if err := m.db.MarkMailed(j.n.ID, m.now(), nil, time.Time{}); err != nil {
			m.log.Error("mailer: notice mailed but not recorded; it will be sent again",
				"notice", j.n.ID, "err", err)
			errs = append(errs, fmt.Errorf("mailer: notice %s mailed but not recorded: %w", j.n.ID, err))
			continue
		}
		m.log.Info("mailer: notice mailed", "notice", j.n.ID, "kind", j.n.Kind,
			"account", j.n.AccountID, "tries", j.n.MailTries+1)
	}
	return next, errors.Join(errs...)
}

// failed records a failed try of n with the time of the next one (or gives
// up after MaxTries) and returns the error for Flush. The next try's time is
// stored with the try, so a restart keeps the backoff; when the store cannot
// record the try, an in-memory retry time keeps Run from spinning.
func (m *Mailer) failed(n store.Notice, err error, next *time.Time) error {
	err = m.redact(err)
	m.observe(false)
	now := m.now()
	tries := n.MailTries + 1
	attrs := []any{"notice", n.ID, "kind", n.Kind, "account", n.AccountID, "tries", tries, "err", err}
	var at time.Time
	if tries < m.maxTries {
		at = now.Add(m.backoff(tries))
	}
	storeErr := m.db.MarkMailed(n.ID, now, err, at)
	if storeErr != nil {
		m.log.Error("mailer: recording failed try", "notice", n.ID, "err", storeErr)
		if at.IsZero() {
			at = now.Add(m.backoff(tries))
		}
		m.retryAt[n.ID] = at
	} else {
		delete(m.retryAt, n.ID)
	}
	if at.IsZero() {
		m.log.Error("mailer: giving up on notice; it stays in the outbox", attrs...)
	} else {
		*next = earliest(*next, at)
		m.log.Warn("mailer: notice not mailed; will retry", append(attrs, "retry_at", at)...)
	}
	return errors.Join(fmt.Errorf("mailer: notice %s: %w", n.ID, err), storeErr)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
