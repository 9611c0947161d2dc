package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// README's Limits table states each limit's default and flag (issue 11).
// Every flag a row names must exist with the default the row states (the
// n-th flag of a row against the n-th number of its default cell), and
// every limit flag must have a row.
func TestREADMELimitsTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Limits\n")
	if !ok {
		t.Fatal("README has no Limits section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	var out, errb bytes.Buffer
	if err := run([]string{"-h"}, &out, &errb); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)  \(env [A-Z_]+, default "([^"]*)"\)`).FindAllStringSubmatch(errb.String(), -1) {
		defaults[m[1]] = m[2]
	}
	flagRe := regexp.MustCompile("`-([a-z-]+)`")
	valueRe := regexp.MustCompile(`\d[\d,]*(?:\.\d+)?(?:ms|s|m|h)?`)
	inTable := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "limit" {
			continue
		}
		rows++
		limit, def, flags := strings.TrimSpace(cells[1]), cells[2], cells[3]
		values := valueRe.FindAllString(def, -1)
		for i, m := range flagRe.FindAllStringSubmatch(flags, -1) {
			name := m[1]
			inTable[name] = true
			got, ok := defaults[name]
			switch {
			case !ok:
				t.Errorf("row %q names -%s, which -h does not list with a default", limit, name)
			case i >= len(values):
				t.Errorf("row %q: no default stated for -%s (cell %q)", limit, name, def)
			case !sameDefault(values[i], got):
				t.Errorf("row %q states %s for -%s; -h says %q", limit, values[i], name, got)
			}
		}
	}
	if rows < 15 {
		t.Fatalf("found %d rows in the Limits table", rows)
	}
	for _, name := range []string{
		"max-conns", "max-conns-per-addr", "max-handshakes", "handshake-timeout", "rate-limit",
		"max-sessions-per-conn", "max-env", "max-env-bytes", "resize-rate", "idle-timeout",
		"http-read-timeout", "http-write-timeout", "http-idle-timeout", "http-max-conns", "link-rate", "link-burst",
	} {
		if !inTable[name] {
			t.Errorf("the Limits table has no row for -%s", name)
		}
	}
}

// sameDefault compares a README figure ("10,000", "60s", "30m") with a flag
// default as -h prints it ("10000", "1m0s", "30m0s").
func sameDefault(readme, flag string) bool {
	readme = strings.ReplaceAll(readme, ",", "")
	if d, err := time.ParseDuration(flag); err == nil && strings.ContainsAny(flag, "smh") {
		r, err := time.ParseDuration(readme)
		return err == nil && r == d
	}
	a, err1 := strconv.ParseFloat(readme, 64)
	b, err2 := strconv.ParseFloat(flag, 64)
	return err1 == nil && err2 == nil && a == b
}
