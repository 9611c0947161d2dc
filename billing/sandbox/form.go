package sandbox

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// form is a request's parameters in Stripe's bracket encoding
// (items[0][price]=p, expand[]=x, metadata[k]=v), checked against the
// endpoint's schema before any handler reads them.
type form struct {
	vals url.Values
}

// schema lists the parameter patterns an endpoint accepts. In a pattern,
// "[]" matches an array index ("[0]" or "[]") and "[*]" matches any key
// (metadata). A bare "metadata" also accepts "metadata=" (clear all).
type schema []string

func splitKey(k string) []string {
	i := strings.IndexByte(k, '[')
	if i < 0 {
		return []string{k}
	}
	parts := []string{k[:i]}
	rest := k[i:]
	for len(rest) > 0 && rest[0] == '[' {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			parts = append(parts, "\x00") // unbalanced bracket: matches no pattern
			break
		}
		parts = append(parts, rest[1:j])
		rest = rest[j+1:]
	}
	if rest != "" {
		parts = append(parts, "\x00")
	}
	return parts
}

func isIndex(seg string) bool {
	if seg == "" {
		return true
	}
	_, err := strconv.Atoi(seg)
	return err == nil
}

func (sc schema) allows(key string) bool {
	ks := splitKey(key)
	for _, p := range sc {
		ps := splitKey(p)
		if len(ps) != len(ks) {
			continue
		}
		ok := true
		for i := range ps {
			switch {
			case ps[i] == "*" && ks[i] != "" && ks[i] != "\x00":
			case ps[i] == "" && isIndex(ks[i]):
			case ps[i] == ks[i]:
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// check rejects the first parameter (in sorted order, so errors are
// deterministic) that the schema does not name, as Stripe does.
func (f *form) check(sc schema) *apiError {
	keys := make([]string, 0, len(f.vals))
	for k := range f.vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !sc.allows(k) {
			return invalidRequest(k, "Received unknown parameter: %s", k)
		}
	}
	return nil
}

func (f *form) has(key string) bool { _, ok := f.vals[key]; return ok }

func (f *form) str(key string) string { return f.vals.Get(key) }

// optStr returns nil when the parameter is absent, and a pointer to the value
// (possibly "", which Stripe reads as "unset") otherwise.
func (f *form) optStr(key string) *string {
	v, ok := f.vals[key]
	if !ok || len(v) == 0 {
		return nil
	}
	s := v[0]
	return &s
}

func (f *form) required(key string) (string, *apiError) {
	v := f.vals.Get(key)
	if v == "" {
		return "", paramMissing(key)
	}
	return v, nil
}

func (f *form) int(key string) (int64, bool, *apiError) {
	v, ok := f.vals[key]
	if !ok || len(v) == 0 || v[0] == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return 0, false, invalidRequest(key, "Invalid integer: %s", v[0])
	}
	return n, true, nil
}

func (f *form) bool(key string) (bool, bool, *apiError) {
	v, ok := f.vals[key]
	if !ok || len(v) == 0 || v[0] == "" {
		return false, false, nil
	}
	switch v[0] {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, invalidRequest(key, "Invalid boolean: %s", v[0])
}

// enum returns the value if it is one of allowed ("" when absent).
func (f *form) enum(key string, allowed ...string) (string, *apiError) {
	v := f.vals.Get(key)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	list := strings.Join(allowed[:len(allowed)-1], ", ") + ", or " + allowed[len(allowed)-1]
	if len(allowed) == 2 {
		list = allowed[0] + " or " + allowed[1]
	}
	return "", invalidRequest(key, "Invalid %s: must be one of %s", key, list)
}

// timeOrNow parses a timestamp parameter that also accepts "now"
// (trial_end, billing_cycle_anchor): now reports the literal "now".
func (f *form) timeOrNow(key string) (ts int64, now bool, present bool, err *apiError) {
	v := f.vals.Get(key)
	if v == "" {
		return 0, false, false, nil
	}
	if v == "now" {
		return 0, true, true, nil
	}
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil {
		return 0, false, false, invalidRequest(key, "Invalid timestamp: must be an integer Unix timestamp in the future, or `now`.")
	}
	return n, false, true, nil
}

// indices returns the array indices present under prefix (items → [0 1]),
// in numeric order; "[]" entries are numbered in order of appearance.
func (f *form) indices(prefix string) []string {
	seen := map[string]bool{}
	var idx []string
	for k := range f.vals {
		ks := splitKey(k)
		ps := splitKey(prefix)
		if len(ks) <= len(ps) {
			continue
		}
		match := true
		for i := range ps {
			if ks[i] != ps[i] {
				match = false
				break
			}
		}
		if match && !seen[ks[len(ps)]] {
			seen[ks[len(ps)]] = true
			idx = append(idx, ks[len(ps)])
		}
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := strconv.Atoi(idx[i])
		b, _ := strconv.Atoi(idx[j])
		return a < b
	})
	return idx
}

// strs returns the values of a string array parameter (expand[0]=a, expand[]=b).
func (f *form) strs(key string) []string {
	var out []string
	for _, i := range f.indices(key) {
		for _, v := range f.vals[key+"["+i+"]"] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// metadata returns the metadata[...] entries under prefix and whether the
// parameter was sent; clear reports "metadata=" (remove every key).
func (f *form) metadata(prefix string) (m map[string]string, present, clear bool) {
	if v, ok := f.vals[prefix]; ok && len(v) > 0 && v[0] == "" {
		return nil, true, true
	}
	for k, v := range f.vals {
		if strings.HasPrefix(k, prefix+"[") && strings.HasSuffix(k, "]") {
			if m == nil {
				m = map[string]string{}
			}
			m[k[len(prefix)+1:len(k)-1]] = v[0]
		}
	}
	return m, m != nil, false
}

// applyMetadata merges a metadata update into dst the way Stripe does: an
// empty value deletes the key; "metadata=" deletes all keys.
func applyMetadata(dst map[string]string, f *form, prefix string) (map[string]string, *apiError) {
	m, present, clear := f.metadata(prefix)
	if !present {
		return dst, nil
	}
	if clear {
		return map[string]string{}, nil
	}
	out := make(map[string]string, len(dst)+len(m))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range m {
		if len(k) > 40 {
			return nil, invalidRequest(prefix, "Metadata keys can have up to 40 characters; the key %q has %d.", k, len(k))
		}
		if len(v) > 500 {
			return nil, invalidRequest(prefix+"["+k+"]", "Metadata values can have up to 500 characters.")
		}
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	if len(out) > 50 {
		return nil, invalidRequest(prefix, "Metadata can have up to 50 keys.")
	}
	return out, nil
}
