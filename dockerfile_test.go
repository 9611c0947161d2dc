package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Dockerfile builds in one stage and runs a static binary in another, as
// a user that is not root, with the data directory on a volume; the
// variables it and the systemd unit set are ones the binary reads (issue
// 15). No Docker daemon is needed: the image's build is the operator's.
func TestDockerfileAndUnitSetWhatTheBinaryReads(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(df)
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(d, -1)); n < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a run stage", n)
	}
	for _, want := range []string{"CGO_ENABLED=0", "VOLUME /data", "PORTAL_DATA_DIR=/data"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(d, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "root") || strings.HasPrefix(users[len(users)-1][1], "0") {
		t.Errorf("Dockerfile runs as %v, want a user that is not root", users)
	}
	unit, err := os.ReadFile("deploy/portal.service")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := envReads(t)
	set := regexp.MustCompile(`\b(PORTAL_[A-Z0-9_]+|STRIPE_[A-Z0-9_]+)=`)
	for _, src := range []struct{ name, text string }{{"Dockerfile", d}, {"deploy/portal.service", string(unit)}} {
		for _, m := range set.FindAllStringSubmatch(src.text, -1) {
			if !names[m[1]] {
				t.Errorf("%s sets %s, which the binary does not read", src.name, m[1])
			}
		}
	}
}
