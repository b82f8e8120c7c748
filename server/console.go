package server

import (
	"fmt"

	"github.com/xietong/xietong/console"
)

// mountConsole serves the browser console at /. It calls the node's FHIR
// API in process (not the store), so its reads and writes pass the same
// guard and audit as any client's.
func (s *Server) mountConsole() error {
	c, err := console.New(console.Config{API: s.api, Base: "/fhir", Logger: s.log})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	s.mux.Handle("/", c)
	return nil
}
