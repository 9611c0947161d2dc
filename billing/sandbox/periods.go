package sandbox

import "time"

const day = int64(24 * 60 * 60)

// periodEnd is the end of the n-th billing period from anchor. Monthly
// periods keep the anchor's day of month, clamped to the month's last day
// (Jan 31 → Feb 28 → Mar 31), as Stripe bills.
func periodEnd(anchor int64, interval string, count, n int64) int64 {
	t := time.Unix(anchor, 0).UTC()
	switch interval {
	case "day":
		return t.AddDate(0, 0, int(count*n)).Unix()
	case "week":
		return t.AddDate(0, 0, int(7*count*n)).Unix()
	case "year":
		return addMonths(t, 12*count*n).Unix()
	default:
		return addMonths(t, count*n).Unix()
	}
}

func addMonths(t time.Time, months int64) time.Time {
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + months
	ny, nm := int(total/12), time.Month(total%12+1)
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(ny, nm, min(d, last), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// nextPeriodEnd is the first period boundary from anchor strictly after after.
func nextPeriodEnd(anchor, after int64, interval string, count int64) int64 {
	for n := int64(1); ; n++ {
		if e := periodEnd(anchor, interval, count, n); e > after {
			return e
		}
	}
}
