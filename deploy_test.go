package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readFile returns the file at path, relative to the repository's root.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The unit passes systemd's own checks, pointed at the built binary (the
// installed path does not exist here).
func TestServiceUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; install systemd to verify deploy/portal.service")
	}
	unit := readFile(t, "deploy/portal.service")
	bin := portalBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "portal.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/portal"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Warnings about the unit itself fail the test too; the host's other
	// units are not ours.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "portal.service") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=portal", "ProtectSystem=strict", "NoNewPrivileges=yes", "LimitNOFILE="} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// deploy/portal.env.example names every variable -h does.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	var out, help bytes.Buffer
	if err := run([]string{"-h"}, &out, &help); err != nil {
		t.Fatal(err)
	}
	example := readFile(t, "deploy/portal.env.example")
	vars := regexp.MustCompile(`\b(PORTAL|STRIPE)_[A-Z_]+\b`).FindAllString(help.String(), -1)
	if len(vars) < 20 {
		t.Fatalf("found only %d variables in -h", len(vars))
	}
	for _, v := range vars {
		if !regexp.MustCompile(`(?m)^#? ?` + v + `=`).Match(example) {
			t.Errorf("deploy/portal.env.example lacks %s", v)
		}
	}
}
