package app_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	gossh "golang.org/x/crypto/ssh"
)

// sshRun runs command as signer and returns stdout, stderr and the exit
// status, kept apart: stdout is the backup.
func sshRun(t *testing.T, p *portaltest.Portal, signer gossh.Signer, command string) ([]byte, string, int) {
	t.Helper()
	c := testkit.Dial(t, p.SSHAddr(), testkit.ClientConfig("ops", signer, p.App.HostPublicKey()))
	defer c.Close()
	sess := testkit.Session(t, c)
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	err := sess.Run(command)
	code := 0
	var ee *gossh.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitStatus()
	case err != nil:
		t.Fatalf("ssh %s: %v", command, err)
	}
	return out.Bytes(), errb.String(), code
}

func accountSet(t *testing.T, db interface {
	ForEachAccount(func(store.Account) bool) error
}) []string {
	t.Helper()
	var out []string
	if err := db.ForEachAccount(func(a store.Account) bool {
		out = append(out, a.ID+" "+a.Email+" "+a.Plan+" "+string(a.State))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A backup taken over SSH while webhooks land is a consistent store that a
// new portal serves with the same accounts; `backup --all` restores a whole
// data directory, host key included. Only admins may take one.
func TestBackupWhileWebhooksLandRestores(t *testing.T) {
	dir := t.TempDir()
	admin, customer := portaltest.NewKey(t), portaltest.NewKey(t)
	if err := os.WriteFile(filepath.Join(dir, "admin_keys"), gossh.MarshalAuthorizedKey(admin.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := portaltest.Start(t, portaltest.WithDataDir(dir))
	db := p.App.Store()
	for i := range 20 {
		if _, err := db.CreateAccount(fmt.Sprintf("user%d@example.com", i), store.Key{Fingerprint: fmt.Sprintf("SHA256:fake%d", i), PublicKey: "ssh-ed25519 AAAA"}); err != nil {
			t.Fatal(err)
		}
	}
	fp := gossh.FingerprintSHA256(customer.PublicKey())
	if _, err := db.CreateAccount("restore-me@example.com", store.Key{Fingerprint: fp, PublicKey: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(customer.PublicKey())))}); err != nil {
		t.Fatal(err)
	}
	before := accountSet(t, db)

	if _, stderr, code := sshRun(t, p, customer, "backup"); code == 0 || !strings.Contains(stderr, "only admins") {
		t.Fatalf("a customer's backup: exit %d, stderr %q; want refused", code, stderr)
	}

	// Webhooks land throughout the backups.
	secret, err := os.ReadFile(filepath.Join(dir, "webhook_secret"))
	if err != nil {
		t.Fatal(err)
	}
	var landed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ev, _ := json.Marshal(map[string]any{
				"id": fmt.Sprintf("evt_Backup%06d", i), "object": "event", "type": "balance.available",
				"api_version": stripe.APIVersion, "created": time.Now().Unix(),
				"data": map[string]any{"object": map[string]any{"object": "balance"}},
			})
			if code := postEvent(t, p, ev, strings.TrimSpace(string(secret))); code == 200 {
				landed.Add(1)
			}
		}
	}()
	for landed.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	dbCopy, stderr, code := sshRun(t, p, admin, "backup")
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	tarball, stderr, code := sshRun(t, p, admin, "backup --all")
	if code != 0 {
		t.Fatalf("backup --all: exit %d: %s", code, stderr)
	}
	atBackup := landed.Load()
	for landed.Load() < atBackup+20 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// The plain backup is a store file that passes the consistency check.
	plain := filepath.Join(t.TempDir(), "portal.db")
	if err := os.WriteFile(plain, dbCopy, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckFile(plain); err != nil {
		t.Fatalf("backup fails its check: %v", err)
	}

	// --all restores into an empty data directory.
	restored := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(tarball))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("backup --all is not a tar: %v", err)
		}
		names = append(names, h.Name)
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(restored, h.Name), data, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(names)
	if want := []string{"admin_keys", "portal.db", "sandbox.db", "sandbox_api_key", "ssh_host_ed25519_key", "webhook_secret"}; !slices.Equal(names, want) {
		t.Fatalf("backup --all holds %v, want %v", names, want)
	}
	if err := store.CheckFile(filepath.Join(restored, "portal.db")); err != nil {
		t.Fatalf("restored store fails its check: %v", err)
	}
	hostKey := p.App.HostKeyFingerprint()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	// Events that landed after the backup are not in it, those before are.
	events := func(db store.Store) int {
		evs, err := db.Events(0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if strings.HasPrefix(e.ID, "evt_Backup") {
				n++
			}
		}
		return n
	}

	q := portaltest.Start(t, portaltest.WithDataDir(restored))
	if got := q.App.HostKeyFingerprint(); got != hostKey {
		t.Errorf("restored host key %s, want %s", got, hostKey)
	}
	if got := accountSet(t, q.App.Store()); !slices.Equal(got, before) {
		t.Errorf("restored accounts:\n%v\nwant:\n%v", got, before)
	}
	if n := events(q.App.Store()); n < 20 || int64(n) > atBackup+1 {
		t.Errorf("restored store has %d events; %d had landed when --all ended", n, atBackup)
	}
	out, _, code := sshRun(t, q, customer, "status")
	if code != 0 || !strings.Contains(string(out), "restore-me@example.com") {
		t.Errorf("restored portal's status for the customer: exit %d, %q", code, out)
	}
}
