package sandbox

var portalCreateSchema = schema{"customer", "return_url", "configuration", "locale", "expand[]"}

func (s *Sandbox) createPortalSession(q *request) (any, *apiError) {
	cid, err := q.f.required("customer")
	if err != nil {
		return nil, err
	}
	if _, ok := get[*customer](s.st, cid); !ok {
		return nil, noSuchParam("customer", cid, "customer")
	}
	ret := q.f.str("return_url")
	if ret != "" && !validURL(ret) {
		return nil, invalidRequest("return_url", "Not a valid URL")
	}
	if c := q.f.str("configuration"); c != "" {
		return nil, invalidRequest("configuration", "The offline sandbox has one portal configuration; omit configuration.")
	}
	ps := &portalSession{ID: newID("bps_", 24), Object: "billing_portal.session", Configuration: "bpc_sandbox", Created: q.t.now,
		Customer: cid, Locale: q.f.optStr("locale"), ReturnURL: nilIfEmpty(ret)}
	ps.URL = s.cfg.BaseURL + "/portal/" + ps.ID
	s.put(q.t, ps)
	return ps, nil
}
