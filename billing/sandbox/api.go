package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// request is one API call being served.
type request struct {
	r      *http.Request
	f      *form
	expand []string
	t      *txn // nil for reads
}

func (q *request) id() string { return q.r.PathValue("id") }

type apiHandler func(q *request) (any, *apiError)

// maxBody bounds request bodies; Stripe's own limit is far larger, but no
// call the portal makes comes near it.
const maxBody = 1 << 20

// idemRecord is a stored response to an idempotent request.
type idemRecord struct {
	Method, Path string
	BodyHash     string
	Status       int
	Body         []byte
	RequestID    string
	// At is when the request ran, by the wall clock (keys expire after
	// 24 hours as at Stripe, whatever the sandbox clock says; see
	// PruneIdempotencyKeys). Zero in records written before it existed.
	At time.Time
}

// handle registers an API endpoint: it authenticates, checks the version,
// parses and validates parameters against sc, applies idempotency to
// writes, runs h under the state lock and renders the result with expand[].
func (s *Sandbox) handle(pattern string, sc schema, h apiHandler) {
	s.handleMode(pattern, sc, h, !strings.HasPrefix(pattern, "GET "), true)
}

// handleMode is handle with the locking spelled out: locked=false runs h
// without the state lock (h locks for itself, as the clock advance must).
func (s *Sandbox) handleMode(pattern string, sc schema, h apiHandler, write, locked bool) {
	if !containsExpand(sc) {
		sc = append(sc, "expand[]")
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		reqID := newID("req_", 14)
		w.Header().Set("Request-Id", reqID)
		w.Header().Set("Stripe-Version", APIVersion)
		if e := s.checkAuth(r); e != nil {
			writeError(w, e)
			return
		}
		if v := r.Header.Get("Stripe-Version"); v != "" && v != APIVersion {
			writeError(w, invalidRequest("", "The offline sandbox only speaks Stripe API version %s; this request asked for %s.", APIVersion, v))
			return
		}
		var raw []byte
		var vals url.Values
		var err error
		// stripe-go sends a DELETE's parameters (a cancel's prorate,
		// invoice_now) in the body, as it does a POST's.
		if r.Method == http.MethodPost || r.Method == http.MethodDelete && r.URL.RawQuery == "" {
			raw, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err == nil {
				vals, err = url.ParseQuery(string(raw))
			}
		} else {
			raw = []byte(r.URL.RawQuery)
			vals, err = url.ParseQuery(r.URL.RawQuery)
		}
		if err != nil {
			writeError(w, invalidRequest("", "Invalid request body: %v", err))
			return
		}
		f := &form{vals: vals}
		if e := f.check(sc); e != nil {
			writeError(w, e)
			return
		}
		q := &request{r: r, f: f, expand: f.strs("expand")}
		if len(q.expand) > 0 {
			for _, p := range q.expand {
				if strings.Count(p, ".") > 3 {
					writeError(w, invalidRequest("expand", "You cannot expand more than 4 levels of a property. Property: %s", p))
					return
				}
			}
		}
		if !locked || !write {
			body, e := s.reply(q, h, locked)
			if e != nil {
				writeError(w, e)
				return
			}
			writeJSON(w, http.StatusOK, body)
			return
		}

		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		hash := bodyHash(vals)
		var status int
		var body []byte
		err = s.update(func(t *txn) bool {
			if key != "" {
				if rec, ok := s.st.idempotency[key]; ok {
					if rec.Method != r.Method || rec.Path != r.URL.Path || rec.BodyHash != hash {
						e := idempotencyMismatch(key)
						status, body = e.Status, marshalObject(map[string]any{"error": e})
						return true
					}
					w.Header().Set("Idempotent-Replayed", "true")
					w.Header().Set("Original-Request", rec.RequestID)
					w.Header().Set("Idempotency-Key", key)
					status, body = rec.Status, rec.Body
					return true
				}
				w.Header().Set("Idempotency-Key", key)
			}
			t.reqID = &reqID
			if key != "" {
				t.idemKey = &key
			}
			q.t = t
			v, e := h(q)
			status = http.StatusOK
			if e == nil {
				body, e = s.render(v, q.expand)
			}
			if e != nil {
				status = e.Status
				body = marshalObject(map[string]any{"error": e})
				// Like Stripe, keep the outcome of requests that ran (a
				// declined card) but not of those rejected up front; those
				// rejected up front changed nothing.
				if e.Status != http.StatusPaymentRequired {
					return false
				}
			}
			if key != "" {
				t.idem[key] = &idemRecord{Method: r.Method, Path: r.URL.Path, BodyHash: hash, Status: status, Body: body, RequestID: reqID, At: s.cfg.Now()}
				s.st.idempotency[key] = t.idem[key]
			}
			return true
		})
		switch {
		case errors.Is(err, errClosed):
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "api_error", Message: "The sandbox is shutting down."})
		case err != nil:
			s.log.Error("sandbox: commit", "error", err)
			writeError(w, internalError(err))
		default:
			writeJSON(w, status, body)
		}
	})
}

func containsExpand(sc schema) bool {
	for _, p := range sc {
		if p == "expand[]" {
			return true
		}
	}
	return false
}

func bodyHash(vals url.Values) string {
	h := sha256.New()
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range vals[k] {
			h.Write([]byte(strconv.Quote(k) + "=" + strconv.Quote(v) + "\n"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkAuth authenticates a /v1 request as Stripe does: the key comes as a
// Bearer token or as the basic-auth user. With Config.APIKey set only that
// key is accepted; without it any test-mode secret key is (tests).
func (s *Sandbox) checkAuth(r *http.Request) *apiError {
	a := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(a, "Bearer ")
	if !ok {
		if u, _, basic := r.BasicAuth(); basic {
			key, ok = u, true
		}
	}
	if !ok || key == "" {
		return &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error",
			Message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."}
	}
	if s.apiKeyHash != nil {
		// Comparing digests keeps the comparison constant-time whatever
		// the length of the key offered.
		got := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(got[:], s.apiKeyHash) != 1 {
			return &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error",
				Message: "Invalid API Key provided: " + redactKey(key)}
		}
		return nil
	}
	if !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "rk_test_") {
		return &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "api_key_expired",
			Message: "The offline sandbox accepts only test-mode secret keys (sk_test_...)."}
	}
	return nil
}

// redactKey shows a rejected key as Stripe does, "sk_test_****abcd": the
// mode prefix and at most the last 4 characters, and those only when most
// of the key stays hidden.
func redactKey(key string) string {
	prefix := ""
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(key, p) {
			prefix = p
			break
		}
	}
	rest := key[len(prefix):]
	if len(rest) < 12 {
		return prefix + "****"
	}
	return prefix + "****" + rest[len(rest)-4:]
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, marshalObject(map[string]any{"error": e}))
}

// reply runs h and renders its result, without idempotency: for reads
// (locked: h under the read lock too) and for handlers that lock what they
// touch themselves (only the rendering under the read lock).
func (s *Sandbox) reply(q *request, h apiHandler, locked bool) ([]byte, *apiError) {
	if locked {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	v, e := h(q)
	if e != nil {
		return nil, e
	}
	if !locked {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	return s.render(v, q.expand)
}

// render marshals v, expanding the expand[] paths.
func (s *Sandbox) render(v any, expand []string) ([]byte, *apiError) {
	if len(expand) == 0 {
		return marshalObject(v), nil
	}
	var m any
	if err := json.Unmarshal(marshalObject(v), &m); err != nil {
		return nil, internalError(err)
	}
	for _, p := range expand {
		if e := s.expandPath(m, strings.Split(p, "."), p); e != nil {
			return nil, e
		}
	}
	return marshalObject(m), nil
}

func (s *Sandbox) expandPath(node any, segs []string, full string) *apiError {
	if len(segs) == 0 {
		return nil
	}
	switch n := node.(type) {
	case []any:
		for _, el := range n {
			if e := s.expandPath(el, segs, full); e != nil {
				return e
			}
		}
		return nil
	case map[string]any:
		seg := segs[0]
		if n["object"] == "list" && seg == "data" {
			return s.expandPath(n["data"], segs[1:], full)
		}
		v, ok := n[seg]
		if !ok {
			return invalidRequest("expand", "This property cannot be expanded (%s).", full)
		}
		if id, isID := v.(string); isID {
			o, found := s.st.objs[id]
			if !found {
				return invalidRequest("expand", "This property cannot be expanded (%s).", full)
			}
			var om any
			if err := json.Unmarshal(marshalObject(s.view(o)), &om); err != nil {
				return internalError(err)
			}
			n[seg] = om
			v = om
		}
		if v == nil {
			return nil
		}
		return s.expandPath(v, segs[1:], full)
	}
	return invalidRequest("expand", "This property cannot be expanded (%s).", full)
}

// view is how an object looks when read back (events carry delivery state).
func (s *Sandbox) view(o object) any {
	if e, ok := o.(*event); ok {
		return s.eventView(e)
	}
	return o
}

// page applies limit / starting_after / ending_before to objs (oldest
// first, as stored) and returns a Stripe list, newest first.
func (s *Sandbox) page(q *request, path string, objs []object) (any, *apiError) {
	limit := int64(10)
	if n, ok, err := q.f.int("limit"); err != nil {
		return nil, err
	} else if ok {
		if n < 1 || n > 100 {
			return nil, invalidRequest("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
		}
		limit = n
	}
	// Newest first.
	rev := make([]object, len(objs))
	for i, o := range objs {
		rev[len(objs)-1-i] = o
	}
	start, end := 0, len(rev)
	if sa := q.f.str("starting_after"); sa != "" {
		i := indexOf(rev, sa)
		if i < 0 {
			return nil, invalidRequest("starting_after", "No such object: '%s'", sa)
		}
		start = i + 1
	}
	if eb := q.f.str("ending_before"); eb != "" {
		i := indexOf(rev, eb)
		if i < 0 {
			return nil, invalidRequest("ending_before", "No such object: '%s'", eb)
		}
		end = i
		start = max(0, end-int(limit))
	}
	data := rev[start:end]
	hasMore := false
	if int64(len(data)) > limit {
		data, hasMore = data[:limit], true
	} else if q.f.str("ending_before") != "" {
		hasMore = start > 0
	}
	out := listOf[any]{Object: "list", Data: make([]any, len(data)), HasMore: hasMore, URL: path}
	for i, o := range data {
		out.Data[i] = o
	}
	return out, nil
}

func indexOf(objs []object, id string) int {
	for i, o := range objs {
		if o.objectID() == id {
			return i
		}
	}
	return -1
}
