//go:build !unix

package healthcard

import "os"

// lockJournal cannot lock a file here, so no journal is kept: two nodes on
// one database must not share one.
func lockJournal(string) (*os.File, error) { return nil, errJournalBusy }
