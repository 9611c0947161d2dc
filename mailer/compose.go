package mailer

import (
	"fmt"
	"strings"
	"time"

	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	gomail "github.com/wneessen/go-mail"
)

// Content is the subject and plain-text body of a notice's email.
type Content struct {
	Subject string
	Body    string
}

// Compose writes the email for notice n to account a. The notice's Message
// (the same text as the session banner) leads the body; a line per kind says
// what the customer can do. An unknown kind still gets a generic subject, so
// a new notice kind is mailed rather than stuck.
func Compose(n store.Notice, a store.Account) Content {
	var subject, action string
	switch n.Kind {
	case billing.NoticeTrialWillEnd:
		subject = "Your trial ends soon"
		if !a.TrialEnd.IsZero() {
			subject = "Your trial ends on " + day(a.TrialEnd)
		}
		action = "Add a card to keep your plan when the trial ends; without one the account is paused."
		if a.HasCard {
			action = "Your card on file will be charged when the trial ends; nothing else to do."
		}
	case billing.NoticePaymentFailed:
		subject = "Payment failed: please update your card"
		// Only past_due is a grace period (Stripe still retries, the
		// plan stays); once retries are over the account is locked.
		switch {
		case a.State == store.StatePastDue && !a.HasCard:
			// Stripe retries nothing without a card to charge.
			subject = "Payment due: please add a card"
			action = "Add a card in the portal and the invoice is paid with it; nothing is charged until you do."
		case a.State == store.StatePastDue:
			action = "Update your card in the portal; your plan stays available while Stripe retries the payment."
		case a.State.Locked():
			action = "Your account is locked until the invoice is paid: add a working card in the portal and it is paid with it."
		default:
			action = "Update your card in the portal."
		}
	case billing.NoticeUpgradeFailed:
		subject = "Your plan change could not be paid"
		action = "Nothing else changed: you keep your current plan. Update your card in the portal, then choose the new plan again."
	case billing.NoticeTrialEnded:
		subject = "Your trial has ended"
		action = "Add a card to continue on your plan, or choose the free plan, in the portal."
	case billing.NoticeCardAdded:
		subject = "Card added to your account"
		action = "It is the card charged from now on. If you did not add it, connect to the portal and replace it at once."
	case billing.NoticePlanChanged:
		// The message names both plans, as the customer knows them.
		subject = "Your plan has changed"
	case accounts.KindKeyAdded:
		subject = "A new SSH key was added to your account"
		action = "To remove it, connect with another of your keys and press k, or run `ssh <host> keys remove FINGERPRINT`. " +
			"Your other keys keep working."
	default:
		subject = "A notice about your account"
	}

	var b strings.Builder
	b.WriteString("Hello,\n\n")
	if msg := strings.TrimSpace(n.Message); msg != "" {
		b.WriteString(msg + "\n\n")
	}
	if action != "" {
		b.WriteString(action + "\n\n")
	}
	b.WriteString("Connect to the portal over SSH with your registered key to manage your account.\n\n")
	b.WriteString("-- \nThis message was sent automatically about account " + a.ID + ". Replies are not read.\n")
	return Content{Subject: subject, Body: b.String()}
}

// day formats t as a date in UTC, e.g. "Mon, 2 Jan 2006 (UTC)".
func day(t time.Time) string { return t.UTC().Format("Mon, 2 Jan 2006") + " (UTC)" }

// message builds the go-mail message for a notice. The Message-ID derives from
// the notice id, so a retry after a lost acknowledgement can be recognised as
// a duplicate by the receiving side.
func (m *Mailer) message(n store.Notice, a store.Account, now time.Time) (*gomail.Msg, error) {
	c := Compose(n, a)
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.settings.From); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(a.Email); err != nil {
		return nil, fmt.Errorf("account email: %w", err)
	}
	msg.Subject(c.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(n.ID + "@" + m.fromDomain)
	// RFC 3834: ask auto-responders (vacation replies) not to answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, c.Body)
	return msg, nil
}
