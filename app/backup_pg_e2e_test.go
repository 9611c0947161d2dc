package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store/postgres/pgtest"
	gossh "golang.org/x/crypto/ssh"
)

// On PostgreSQL `ssh host backup` writes no store: it tells the admin to use
// pg_dump, and exits non-zero so a script redirecting it notices (issue 15).
func TestBackupOnPostgreSQLSaysPgDump(t *testing.T) {
	dir := t.TempDir()
	admin := portaltest.NewKey(t)
	if err := os.WriteFile(filepath.Join(dir, "admin_keys"), gossh.MarshalAuthorizedKey(admin.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	p := portaltest.Start(t, portaltest.WithDataDir(dir), portaltest.WithConfig(func(c *app.Config) {
		c.DatabaseURL, c.AllowGeneratedHostKey = url, true
	}))
	for _, cmd := range []string{"backup", "backup --all"} {
		out, stderr, code := sshRun(t, p, admin, cmd)
		if code == 0 || len(out) != 0 || !strings.Contains(stderr, "pg_dump") {
			t.Errorf("%s on PostgreSQL: exit %d, %d bytes out, stderr %q; want non-zero, nothing, pg_dump named", cmd, code, len(out), stderr)
		}
	}
}
