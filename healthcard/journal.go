package healthcard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// journal keeps the use records that are not yet AuditEvents in the store
// in append-only files (one JSON AuditEvent per line, its meta.source
// naming the use), so that the writer can turn them into few
// large transactions while a crash still loses only what was not synced
// (decision 024). Records are appended to the active file; rotate closes
// it and starts the next, whose records the next write takes; a file is
// removed once all its records are in the store. Files left by a crash
// are read back at start (pending) and written by Service.Recover.
//
// Not safe for concurrent use: the recorder holds its lock around it.
type journal struct {
	dir    string
	lock   *os.File // held while open: one node per journal
	f      *os.File
	seq    uint64   // the active file's number
	closed []string // rotated files whose records are being written
}

const journalPrefix, journalSuffix = "uses-", ".jsonl"

// errJournalBusy: another node holds the journal (see openJournal).
var errJournalBusy = errors.New("the use journal is held by another node on this database")

// openJournal opens the journal in dir (created if missing) and returns
// it with the records the files already there hold (a crash's), oldest
// first, and those files (removed by done once the records are written).
// A second process on the same database (an import while the node
// serves) gets errJournalBusy: it must neither share the active file nor
// write another node's pending uses as a crash's.
func openJournal(dir string) (j *journal, left []obj, names []string, err error) {
	lock, err := openJournalDir(dir, "lock")
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	names, seq, err := listSegments(dir, journalPrefix, journalSuffix)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, name := range names {
		evs, err := readJournalFile(name)
		if err != nil {
			return nil, nil, nil, err
		}
		left = append(left, evs...)
	}
	j = &journal{dir: dir, lock: lock, seq: seq}
	if err := j.next(); err != nil {
		return nil, nil, nil, err
	}
	return j, left, names, nil
}

// openJournalDir creates dir if missing and takes its lock file lockName
// (errJournalBusy: another process holds it). Both journals (the use
// journal, the first-visit journal) open their folder through it.
func openJournalDir(dir, lockName string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return lockJournal(filepath.Join(dir, lockName))
}

// listSegments returns the segment files prefix<n>suffix in dir, oldest
// first, and the highest n (0: none). Both journals (the use journal,
// the first-visit journal) number their files through it and
// createSegment.
//
// The folder is listed, not globbed: filepath.Glob would read its name as
// a pattern (a "[" in a database's path lists nothing) and ignores the
// errors of reading it; either way a crash's records would be left
// unwritten, and the numbering would start again at 1.
func listSegments(dir, prefix, suffix string) (names []string, last uint64, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		if n, ok := segmentNumber(e.Name(), prefix, suffix); ok {
			names = append(names, filepath.Join(dir, e.Name()))
			last = max(last, n)
		}
	}
	slices.Sort(names) // zero-padded numbers: oldest first
	return names, last, nil
}

// segmentNumber is the number in a segment's file name (ok: the name is
// prefix<n>suffix).
func segmentNumber(name, prefix, suffix string) (uint64, bool) {
	base := filepath.Base(name)
	if !strings.HasPrefix(base, prefix) || !strings.HasSuffix(base, suffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(base, prefix), suffix), 10, 64)
	return n, err == nil
}

// createSegment creates the segment numbered seq in dir, for appending;
// it fails if the file is there. The caller makes its name durable
// (syncDir).
func createSegment(dir, prefix, suffix string, seq uint64) (*os.File, error) {
	name := filepath.Join(dir, fmt.Sprintf("%s%020d%s", prefix, seq, suffix))
	return os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
}

// readJournalFile returns the records of one file. A last line cut short
// by a crash (no newline, or not JSON) was never synced whole and is
// skipped: its use is within the loss the sync interval allows.
func readJournalFile(name string) ([]obj, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []obj
	// Lines of any length: a crash can leave a long unsynced tail (zeros
	// without a newline on some file systems), which must be skipped, not
	// refuse the node's start.
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var ev obj
		if err := d.Decode(&ev); err != nil || str(ev["resourceType"]) != "AuditEvent" || str(object(ev["meta"])["source"]) == "" {
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

// next opens the next active file.
func (j *journal) next() error {
	j.seq++
	f, err := createSegment(j.dir, journalPrefix, journalSuffix, j.seq)
	if err != nil {
		return err
	}
	j.f = f
	return syncDir(j.dir) // the new file's name survives a crash
}

// append writes records to the active file (not synced).
func (j *journal) append(evs []obj) error {
	var b bytes.Buffer
	for _, ev := range evs {
		line, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if j.f == nil { // the last rotation could not open the next file: try again
		if err := j.next(); err != nil {
			return err
		}
	}
	return appendLines(j.f, b.Bytes())
}

// appendLines appends whole lines to f. A write cut short (a full disk)
// is taken back, so that the next append does not continue the
// fragment's line and make its first record unreadable. Both journals
// (the use journal, the first-visit journal) append through it.
func appendLines(f *os.File, b []byte) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Truncate(end)
		return err
	}
	return nil
}

var errNoActiveFile = errors.New("no active journal file (the next could not be opened)")

// sync makes the appended records durable.
func (j *journal) sync() error {
	if j.f == nil {
		return errNoActiveFile
	}
	return j.f.Sync()
}

// rotate syncs and closes the active file, keeps it for done, and starts
// the next. Should the next not open, the active file is none until an
// append opens one (the journal is not off for the rest of the node's
// life), and rotate fails meanwhile: the caller then keeps no file for
// the batch, whose uses went to no file.
func (j *journal) rotate() error {
	if j.f == nil {
		return errNoActiveFile
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	if err := j.f.Close(); err != nil {
		return err
	}
	j.closed = append(j.closed, j.f.Name())
	j.f = nil
	return j.next()
}

// done removes files whose records are all in the store.
func (j *journal) done(names []string) {
	for _, n := range names {
		os.Remove(n)
		j.closed = slices.DeleteFunc(j.closed, func(c string) bool { return c == n })
	}
	syncDir(j.dir)
}

// close syncs and closes the active file and removes it when it holds no
// record, nor does any rotated file (a clean shutdown leaves no file).
func (j *journal) close() error {
	defer j.lock.Close() // releases the lock
	if j.f == nil {
		return nil
	}
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	if err := j.f.Close(); err != nil {
		return err
	}
	if st.Size() == 0 && len(j.closed) == 0 {
		os.Remove(j.f.Name())
		syncDir(j.dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
