//go:build unix

package healthcard

import (
	"errors"
	"os"
	"syscall"
)

// lockJournal takes the journal folder's lock file for this process, or
// returns errJournalBusy when another node (another process on the same
// database, such as an import) holds it.
func lockJournal(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errJournalBusy
		}
		return nil, err
	}
	return f, nil
}
