package app

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	bolterrors "go.etcd.io/bbolt/errors"
)

// Start-up errors name the problem and the fix in one line: an operator
// reads them in a journal, not in a debugger.

// storeOpenError explains the one store error an operator causes by hand: a
// second portal on the same data directory holds the file lock.
func storeOpenError(dataDir string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("data directory %s is in use by another portal (its database is locked); stop that portal, or give this one its own -data-dir", dataDir)
	}
	return err
}

// listenError says which flag moves a listener off a taken port.
func listenError(what, flag, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s address %s is already in use by another process; stop it, or choose another address with %s", what, addr, flag)
	}
	return fmt.Errorf("%s listen on %s: %w; check %s", what, addr, err, flag)
}

// plansFileError explains a -plans file that cannot be read.
func plansFileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("plans file %s does not exist; fix -plans (PORTAL_PLANS_FILE), or leave it empty for the built-in plans", path)
	}
	return err
}
