package server

import (
	"context"
	"io"

	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/fhir/outcome"
)

// ImportDirectory checks a directory CSV file (package directory) against
// the node's store and writes it in one transaction through the node's
// API: all rows or none. A file with problems is directory.Errors (every
// problem with its line); a transaction the API rejects is reported on
// the line of the entry it names when it names one.
func (s *Server) ImportDirectory(ctx context.Context, in io.Reader) (*directory.Plan, error) {
	plan, err := directory.Parse(ctx, in, directory.StoreLookup(s.store))
	if err != nil {
		return nil, err
	}
	if _, err := s.Transaction(ctx, plan.Bundle); err != nil {
		if oe := outcome.As(err); oe != nil && oe.Status < 500 {
			var errs directory.Errors
			for _, is := range oe.Issues {
				errs = append(errs, directory.RowError{Row: plan.RowOfEntry(is.Diagnostics), Message: is.Diagnostics})
			}
			return nil, errs
		}
		return nil, err
	}
	return plan, nil
}
