package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// RetryPolicy is the webhook retry schedule: attempt n (1-based) that fails
// is retried after Initial·2^(n-1), capped at Max, until MaxAttempts.
type RetryPolicy struct {
	MaxAttempts int           // total attempts per event and endpoint; default 8
	Initial     time.Duration // default 1s
	Max         time.Duration // default 5m
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
	if p.Initial <= 0 {
		p.Initial = time.Second
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Minute
	}
	return p
}

func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

const (
	deliveryPending   = "pending"
	deliveryDelivered = "delivered"
	deliveryFailed    = "failed"

	// defaultEndpointID names the endpoint made from Config.WebhookURL.
	defaultEndpointID = "we_sandbox_default"
)

// delivery is one event's journey to one endpoint. NextAttempt is on the
// base clock: retries wait real time, whatever the sandbox clock does.
type delivery struct {
	ID          string
	Seq         uint64
	EventID     string
	EndpointID  string
	URL         string
	ObjectID    string
	Attempts    int
	NextAttempt time.Time
	Status      string
	LastError   string
}

// endpoints returns every endpoint that receives typ: the configured one
// first, then those created through the API.
func (s *Sandbox) endpoints(typ string) []*webhookEndpoint {
	var out []*webhookEndpoint
	if s.cfg.WebhookURL != "" {
		out = append(out, &webhookEndpoint{ID: defaultEndpointID, URL: s.cfg.WebhookURL, SigningSecret: s.cfg.WebhookSecret, Status: "enabled"})
	}
	for _, we := range all[*webhookEndpoint](s.st, "webhook_endpoint") {
		if we.Status != "enabled" || we.URL == s.cfg.WebhookURL {
			continue
		}
		for _, ev := range we.EnabledEvents {
			if ev == "*" || matchEventType(ev, typ) {
				out = append(out, we)
				break
			}
		}
	}
	return out
}

func (s *Sandbox) enqueueDeliveries(t *txn, e *event) {
	for _, we := range s.endpoints(e.Type) {
		s.st.nextSeq++
		d := &delivery{ID: newID("whd_", 20), Seq: s.st.nextSeq, EventID: e.ID, EndpointID: we.ID, URL: we.URL,
			ObjectID: e.ObjectID, NextAttempt: s.cfg.Now(), Status: deliveryPending}
		s.st.deliveries[d.ID] = d
		s.st.byEvent[e.ID] = append(s.st.byEvent[e.ID], d)
		t.deliveries[d.ID] = d
	}
}

func (s *Sandbox) wakeDeliverer() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// deliverer sends due deliveries until Close. Per endpoint and object,
// events go out in the order they happened: a later event waits while an
// earlier one for the same object is pending (in flight or backing off).
func (s *Sandbox) deliverer() {
	defer s.wg.Done()
	const workers = 4
	inflight := map[string]bool{} // delivery ids
	done := make(chan *delivery, workers)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// Pick what is due, in order.
		s.mu.RLock()
		now := s.cfg.Now()
		var pending []*delivery
		for _, d := range s.st.deliveries {
			if d.Status == deliveryPending {
				pending = append(pending, d)
			}
		}
		s.mu.RUnlock()
		sort.Slice(pending, func(i, j int) bool { return pending[i].Seq < pending[j].Seq })
		blocked := map[string]bool{} // endpoint+object with an earlier pending delivery
		next := time.Hour
		var start []*delivery
		for _, d := range pending {
			k := d.EndpointID + "\x00" + d.ObjectID
			if blocked[k] {
				continue
			}
			blocked[k] = true
			if inflight[d.ID] {
				continue
			}
			if wait := d.NextAttempt.Sub(now); wait > 0 {
				next = min(next, wait)
				continue
			}
			if len(inflight)+len(start) < workers {
				start = append(start, d)
			}
		}
		for _, d := range start {
			inflight[d.ID] = true
			go func(d *delivery) {
				s.attempt(d)
				done <- d
			}(d)
		}
		timer.Reset(next)
		select {
		case <-s.stop:
			for len(inflight) > 0 {
				d := <-done
				delete(inflight, d.ID)
			}
			return
		case d := <-done:
			delete(inflight, d.ID)
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// attempt makes one delivery attempt and records its outcome.
func (s *Sandbox) attempt(d *delivery) {
	s.mu.RLock()
	e, ok := get[*event](s.st, d.EventID)
	url, secret := s.target(d)
	var payload []byte
	if ok {
		v := *e
		v.PendingWebhooks = int64(len(s.st.byEvent[e.ID]))
		payload = marshalObject(&v)
	}
	s.mu.RUnlock()
	var errText string
	if !ok {
		errText = "event no longer exists"
	} else {
		errText = s.post(url, payload, secret)
	}
	if errText != "" && s.ctx.Err() != nil {
		// Close aborted the post: the receiver did nothing wrong, so this
		// is no attempt; the delivery stays pending for the next Open.
		s.log.Info("sandbox webhook delivery aborted by Close, left pending", "event", d.EventID, "url", url)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	d.URL = url
	d.Attempts++
	switch {
	case errText == "":
		d.Status, d.LastError = deliveryDelivered, ""
	case d.Attempts >= s.retry.MaxAttempts || !ok:
		d.Status, d.LastError = deliveryFailed, errText
		s.log.Warn("sandbox webhook delivery failed for good", "event", d.EventID, "url", d.URL, "attempts", d.Attempts, "error", errText)
	default:
		d.LastError = errText
		d.NextAttempt = s.cfg.Now().Add(s.retry.backoff(d.Attempts))
		s.log.Info("sandbox webhook delivery will be retried", "event", d.EventID, "url", d.URL, "attempt", d.Attempts, "error", errText)
	}
	if err := s.saveDelivery(d); err != nil {
		s.log.Error("sandbox: saving delivery state", "error", err)
	}
}

// target is where d goes now, as at Stripe: its endpoint's current URL
// and secret. The default endpoint follows Config, so deliveries left
// pending by a portal that restarts on another address reach the new one.
// An endpoint deleted since keeps the URL d was made for.
func (s *Sandbox) target(d *delivery) (url, secret string) {
	if d.EndpointID == defaultEndpointID && s.cfg.WebhookURL != "" {
		return s.cfg.WebhookURL, s.cfg.WebhookSecret
	}
	if we, ok := get[*webhookEndpoint](s.st, d.EndpointID); ok {
		return we.URL, we.SigningSecret
	}
	return d.URL, s.cfg.WebhookSecret
}

// post sends one signed payload; it returns "" on a 2xx answer.
func (s *Sandbox) post(url string, payload []byte, secret string) string {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", signatureHeader(s.cfg.Now(), payload, secret))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return ""
}

// signatureHeader signs payload as Stripe does: t=<unix>,v1=<hex
// HMAC-SHA256 of "<t>.<payload>" keyed with the whole whsec_ secret>.
// The timestamp is the base clock (real time by default), not the sandbox
// clock: receivers check it against their own wall clock.
func signatureHeader(now time.Time, payload []byte, secret string) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(payload)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Webhook endpoints API.

var webhookEndpointCreateSchema = schema{"url", "enabled_events[]", "api_version", "description", "metadata", "metadata[*]", "connect", "expand[]"}

func (s *Sandbox) createWebhookEndpoint(q *request) (any, *apiError) {
	url, err := q.f.required("url")
	if err != nil {
		return nil, err
	}
	evs := q.f.strs("enabled_events")
	if len(evs) == 0 {
		return nil, paramMissing("enabled_events")
	}
	if v := q.f.str("api_version"); v != "" && v != APIVersion {
		return nil, invalidRequest("api_version", "The offline sandbox only speaks API version %s; got %s.", APIVersion, v)
	}
	if c, _, err := q.f.bool("connect"); err != nil {
		return nil, err
	} else if c {
		return nil, invalidRequest("connect", "The offline sandbox has no Connect accounts.")
	}
	md, err := applyMetadata(map[string]string{}, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	v := APIVersion
	we := &webhookEndpoint{ID: newID("we_", 24), Object: "webhook_endpoint", APIVersion: &v, Created: q.t.now,
		Description: q.f.optStr("description"), EnabledEvents: evs, Metadata: md, Status: "enabled", URL: url}
	// The endpoint at the configured webhook URL is the sandbox's own; it
	// signs with the configured secret and is not delivered to twice.
	if url == s.cfg.WebhookURL {
		we.SigningSecret = s.cfg.WebhookSecret
	} else {
		we.SigningSecret = newID("whsec_", 32)
	}
	s.put(q.t, we)
	out := *we
	out.Secret = we.SigningSecret
	return &out, nil
}

func (s *Sandbox) listWebhookEndpoints(q *request) (any, *apiError) {
	return listed[*webhookEndpoint](s, q, "webhook_endpoint", "/v1/webhook_endpoints", nil)
}

func (s *Sandbox) deleteWebhookEndpoint(q *request) (any, *apiError) {
	we, err := byID[*webhookEndpoint](s, q, "webhook_endpoint")
	if err != nil {
		return nil, err
	}
	s.remove(q.t, we)
	return map[string]any{"id": we.ID, "object": "webhook_endpoint", "deleted": true}, nil
}

var webhookEndpointUpdateSchema = schema{"url", "enabled_events[]", "description", "disabled", "metadata", "metadata[*]", "expand[]"}

func (s *Sandbox) updateWebhookEndpoint(q *request) (any, *apiError) {
	we, err := byID[*webhookEndpoint](s, q, "webhook_endpoint")
	if err != nil {
		return nil, err
	}
	disabled, hasDisabled, err := q.f.bool("disabled")
	if err != nil {
		return nil, err
	}
	md, err := applyMetadata(we.Metadata, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	if u := q.f.str("url"); u != "" {
		we.URL = u
	}
	if evs := q.f.strs("enabled_events"); len(evs) > 0 {
		we.EnabledEvents = evs
	}
	if d := q.f.optStr("description"); d != nil {
		we.Description = nilIfEmpty(*d)
	}
	if hasDisabled {
		we.Status = "enabled"
		if disabled {
			we.Status = "disabled"
		}
	}
	we.Metadata = md
	s.put(q.t, we)
	return we, nil
}
