package server

import (
	"context"
	"io"

	"github.com/xietong/xietong/directory"
)

// ImportDirectory checks a directory CSV file (package directory) against
// the node's store and writes it in one transaction through the node's
// API: all rows or none. A file with problems is directory.Errors (every
// problem with its line); a transaction the API rejects is reported on
// the line of the entry it names when it names one. It neither ends nor
// dry-runs anything: SyncDirectory does, with directory.Options.
func (s *Server) ImportDirectory(ctx context.Context, in io.Reader) (*directory.Plan, error) {
	rep, err := s.SyncDirectory(ctx, in, directory.Options{})
	if err != nil {
		return nil, err
	}
	return rep.Plan, nil
}

// SyncDirectory is directory.Import against the node's store and API
// (decision 032): with opt.Sync the source's records the file no longer
// lists are ended in the same transaction; opt.DryRun writes nothing.
func (s *Server) SyncDirectory(ctx context.Context, in io.Reader, opt directory.Options) (*directory.Report, error) {
	return directory.Import(ctx, s.store, s.Transaction, in, opt)
}
