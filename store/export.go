package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Link is a stored short link, as Exporter lists it.
type Link struct {
	Token, Target string
	Expires       time.Time // on the caller's clock (billing's)
}

// Exporter is what a ReadTx of an engine that can be copied whole offers
// beside the contract: the records the contract never lists (short links
// and link codes), for `portal migrate-store`. bbolt's ReadTx implements it.
type Exporter interface {
	// Links returns every short link, expired or not, in token order.
	Links() ([]Link, error)
	// LinkCodes returns every link code, used, expired or not, in code order.
	LinkCodes() ([]LinkCode, error)
}

var _ Exporter = (*boltTx)(nil)

// Links lists the links bucket; see Exporter.
func (t *boltTx) Links() ([]Link, error) {
	var out []Link
	err := t.tx.Bucket(bucketLinks).ForEach(func(k, v []byte) error {
		if len(v) < 8 {
			return fmt.Errorf("store: link %q: record too short", k)
		}
		out = append(out, Link{Token: string(k), Target: string(v[8:]), Expires: linkExpiry(v)})
		return nil
	})
	return out, err
}

// LinkCodes lists the link_codes bucket; see Exporter.
func (t *boltTx) LinkCodes() ([]LinkCode, error) {
	var out []LinkCode
	err := t.tx.Bucket(bucketLinkCodes).ForEach(func(k, v []byte) error {
		var c LinkCode
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("store: link code %q: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}
