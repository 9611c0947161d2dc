package sandbox

import (
	"strconv"
)

var productSchema = schema{"id", "name", "description", "active", "metadata", "metadata[*]", "statement_descriptor",
	"unit_label", "url", "images[]", "tax_code", "shippable", "expand[]"}

func (s *Sandbox) createProduct(q *request) (any, *apiError) {
	name, err := q.f.required("name")
	if err != nil {
		return nil, err
	}
	id := q.f.str("id")
	if id == "" {
		id = newID("prod_", 14)
	} else if _, exists := s.st.objs[id]; exists {
		return nil, &apiError{Status: 400, Type: "invalid_request_error", Code: "resource_already_exists", Param: "id",
			Message: "Product already exists."}
	}
	active, hasActive, err := q.f.bool("active")
	if err != nil {
		return nil, err
	}
	md, err := applyMetadata(map[string]string{}, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	p := &product{ID: id, Object: "product", Active: !hasActive || active, Created: q.t.now, Description: q.f.optStr("description"),
		Features: []struct{}{}, Images: q.f.strs("images"), Metadata: md, Name: name, StatementDescriptor: q.f.optStr("statement_descriptor"),
		Type: "service", UnitLabel: q.f.optStr("unit_label"), Updated: q.t.now, URL: q.f.optStr("url")}
	if p.Images == nil {
		p.Images = []string{}
	}
	s.put(q.t, p)
	s.emit(q.t, "product.created", p, nil)
	return p, nil
}

var productListSchema = schema{"active", "ids[]", "limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listProducts(q *request) (any, *apiError) {
	active, hasActive, err := q.f.bool("active")
	if err != nil {
		return nil, err
	}
	ids := q.f.strs("ids")
	return listed(s, q, "product", "/v1/products", func(p *product) bool {
		if hasActive && p.Active != active {
			return false
		}
		if len(ids) > 0 && !contains(ids, p.ID) {
			return false
		}
		return true
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var priceSchema = schema{"product", "product_data[name]", "product_data[metadata][*]", "currency", "unit_amount",
	"recurring[interval]", "recurring[interval_count]", "recurring[usage_type]", "lookup_key", "transfer_lookup_key",
	"nickname", "metadata", "metadata[*]", "active", "tax_behavior", "billing_scheme", "expand[]"}

func (s *Sandbox) createPrice(q *request) (any, *apiError) {
	cur, err := q.f.required("currency")
	if err != nil {
		return nil, err
	}
	if len(cur) != 3 {
		return nil, invalidRequest("currency", "Invalid currency: %s", cur)
	}
	amount, ok, err := q.f.int("unit_amount")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidRequest("unit_amount", "Must provide unit_amount_decimal or unit_amount or custom_unit_amount (or use tiered pricing).")
	}
	if amount < 0 {
		return nil, invalidRequest("unit_amount", "This value must be greater than or equal to 0.")
	}
	if _, err := q.f.enum("billing_scheme", "per_unit"); err != nil {
		return nil, err
	}
	tb, err := q.f.enum("tax_behavior", "exclusive", "inclusive", "unspecified")
	if err != nil {
		return nil, err
	}
	if tb == "" {
		tb = "unspecified"
	}
	prodID := q.f.str("product")
	pdName := q.f.str("product_data[name]")
	switch {
	case prodID != "" && pdName != "":
		return nil, invalidRequest("product_data", "You may only specify one of these parameters: product, product_data.")
	case prodID != "":
		if _, ok := get[*product](s.st, prodID); !ok {
			return nil, noSuchParam("product", prodID, "product")
		}
	case pdName == "":
		return nil, paramMissing("product")
	}
	var rec *recurring
	if q.f.has("recurring[interval]") || q.f.has("recurring[interval_count]") {
		iv, err := q.f.enum("recurring[interval]", "day", "month", "week", "year")
		if err != nil {
			return nil, err
		}
		if iv == "" {
			return nil, paramMissing("recurring[interval]")
		}
		n, ok, err := q.f.int("recurring[interval_count]")
		if err != nil {
			return nil, err
		}
		if !ok {
			n = 1
		}
		if n < 1 || (iv == "year" && n > 3) || (iv == "month" && n > 36) || (iv == "week" && n > 156) || (iv == "day" && n > 1095) {
			return nil, invalidRequest("recurring[interval_count]", "The interval count must be between 1 and 3 years.")
		}
		if ut, err := q.f.enum("recurring[usage_type]", "licensed", "metered"); err != nil {
			return nil, err
		} else if ut == "metered" {
			return nil, invalidRequest("recurring[usage_type]", "The offline sandbox supports licensed prices only.")
		}
		rec = &recurring{Interval: iv, IntervalCount: n, UsageType: "licensed"}
	}
	active, hasActive, err := q.f.bool("active")
	if err != nil {
		return nil, err
	}
	transfer, _, err := q.f.bool("transfer_lookup_key")
	if err != nil {
		return nil, err
	}
	lk := q.f.str("lookup_key")
	var holder *price
	if lk != "" {
		if len(lk) > 200 {
			return nil, invalidRequest("lookup_key", "The lookup key must be at most 200 characters.")
		}
		holder = s.priceByLookupKey(lk)
		if holder != nil && !transfer {
			return nil, invalidRequest("lookup_key", "A price (`%s`) already uses that lookup key.", holder.ID)
		}
	}
	md, err := applyMetadata(map[string]string{}, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	if prodID == "" {
		pmd, err := applyMetadata(map[string]string{}, q.f, "product_data[metadata]")
		if err != nil {
			return nil, err
		}
		p := &product{ID: newID("prod_", 14), Object: "product", Active: true, Created: q.t.now, Features: []struct{}{},
			Images: []string{}, Metadata: pmd, Name: pdName, Type: "service", Updated: q.t.now}
		s.put(q.t, p)
		s.emit(q.t, "product.created", p, nil)
		prodID = p.ID
	}
	typ := "one_time"
	if rec != nil {
		typ = "recurring"
	}
	p := &price{ID: newID("price_", 24), Object: "price", Active: !hasActive || active, BillingScheme: "per_unit", Created: q.t.now,
		Currency: cur, LookupKey: nilIfEmpty(lk), Metadata: md, Nickname: q.f.optStr("nickname"), Product: prodID, Recurring: rec,
		TaxBehavior: tb, Type: typ, UnitAmount: amount, UnitAmountDecimal: strconv.FormatInt(amount, 10)}
	if holder != nil {
		before := s.snap(holder)
		holder.LookupKey = nil
		s.put(q.t, holder)
		s.emit(q.t, "price.updated", holder, before)
	}
	s.put(q.t, p)
	s.emit(q.t, "price.created", p, nil)
	return p, nil
}

func (s *Sandbox) priceByLookupKey(lk string) *price {
	for _, p := range all[*price](s.st, "price") {
		if p.LookupKey != nil && *p.LookupKey == lk {
			return p
		}
	}
	return nil
}

var priceListSchema = schema{"active", "currency", "lookup_keys[]", "product", "type", "recurring[interval]",
	"limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listPrices(q *request) (any, *apiError) {
	active, hasActive, err := q.f.bool("active")
	if err != nil {
		return nil, err
	}
	typ, err := q.f.enum("type", "one_time", "recurring")
	if err != nil {
		return nil, err
	}
	lks := q.f.strs("lookup_keys")
	if len(lks) > 10 {
		return nil, invalidRequest("lookup_keys", "You may pass at most 10 lookup keys.")
	}
	cur, prod, iv := q.f.str("currency"), q.f.str("product"), q.f.str("recurring[interval]")
	return listed(s, q, "price", "/v1/prices", func(p *price) bool {
		switch {
		case hasActive && p.Active != active,
			typ != "" && p.Type != typ,
			len(lks) > 0 && (p.LookupKey == nil || !contains(lks, *p.LookupKey)),
			cur != "" && p.Currency != cur,
			prod != "" && p.Product != prod,
			iv != "" && (p.Recurring == nil || p.Recurring.Interval != iv):
			return false
		}
		return true
	})
}
