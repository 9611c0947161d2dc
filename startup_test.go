package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/hostkeys"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// portalBinary builds the portal once per test run: start-up errors are
// what an operator sees from the real binary, exit code included.
func portalBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "portal-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "portal")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// runPortal runs the binary with args until it exits (or 60s pass) and
// returns its stderr and exit code.
func runPortal(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, portalBinary(t), args...)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("portal %v did not exit within 60s; stderr:\n%s", args, stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run portal: %v", err)
	}
	return stderr.String(), code
}

// cleanEnv drops PORTAL_ and STRIPE_ variables so the flags under test decide.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTAL_") && !strings.HasPrefix(kv, "STRIPE_") {
			env = append(env, kv)
		}
	}
	return env
}

// portInUse is a start-up case's setup: it holds a loopback port and names
// it with flag.
func portInUse(flag string) func(t *testing.T, dir string) []string {
	return func(t *testing.T, dir string) []string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return []string{flag, l.Addr().String()}
	}
}

// Each start-up failure an operator can cause prints one line naming the
// problem and the fix, and exits non-zero, instead of a panic.
func TestStartupErrorsAreOneLineMessages(t *testing.T) {
	portalBinary(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) []string // returns extra args
		want  []string
	}{
		{
			name: "host key readable by others",
			setup: func(t *testing.T, dir string) []string {
				if _, err := hostkeys.LoadOrCreate(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(dir, hostkeys.FileName), 0o644); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: []string{hostkeys.FileName, "chmod 600"},
		},
		{
			name: "second portal on the same data dir",
			setup: func(t *testing.T, dir string) []string {
				// The first portal: the real binary, serving.
				ctx, cancel := context.WithCancel(context.Background())
				cmd := exec.CommandContext(ctx, portalBinary(t), "-data-dir", dir,
					"-ssh-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-metrics-addr", "")
				cmd.Env = cleanEnv()
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cancel(); _ = cmd.Wait() })
				// It prints its addresses once it holds the store.
				buf := make([]byte, 256)
				if _, err := out.Read(buf); err != nil {
					t.Fatalf("first portal did not start: %v", err)
				}
				go func() { _, _ = bytes.NewBuffer(nil).ReadFrom(out) }()
				return nil
			},
			want: []string{"in use by another portal", "-data-dir"},
		},
		{name: "ssh port in use", setup: portInUse("-ssh-addr"), want: []string{"already in use", "-ssh-addr"}},
		{name: "http port in use", setup: portInUse("-http-addr"), want: []string{"already in use", "-http-addr"}},
		{name: "metrics port in use", setup: portInUse("-metrics-addr"), want: []string{"already in use", "-metrics-addr"}},
		{
			name: "missing plans file",
			setup: func(t *testing.T, dir string) []string {
				return []string{"-plans", filepath.Join(dir, "nope.json")}
			},
			want: []string{"nope.json does not exist", "-plans"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Port 0: a port picked free and closed here could be taken by
			// another test before the portal binds it (CI saw that once).
			args := []string{"-data-dir", dir, "-ssh-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-metrics-addr", ""}
			args = append(args, tc.setup(t, dir)...)
			stderr, code := runPortal(t, args...)
			if code == 0 {
				t.Fatalf("exit code 0, want non-zero; stderr:\n%s", stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("start-up panicked:\n%s", stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "portal: ") {
				t.Fatalf("last line %q is not the portal's error; stderr:\n%s", last, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error line %q lacks %q", last, w)
				}
			}
		})
	}
}
