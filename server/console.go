package server

import (
	"fmt"
	"net/http"

	"github.com/xietong/xietong/console"
	"github.com/xietong/xietong/demo"
)

// mountConsole serves the browser console at /. It calls the node's FHIR
// API in process (not the store), so its reads and writes pass the same
// guard and audit as any client's.
func (s *Server) mountConsole() error {
	cfg := console.Config{API: s.firstVisitReads(s.api), Base: "/fhir", Logger: s.log}
	if s.cfg.Demo {
		cfg.Today = demo.Today // the demo region's data ends there
	}
	c, err := console.New(cfg)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	s.mux.Handle("/", c)
	// well-known documents a client or terminal looks for are the node's
	// (health-card keys, revocations); any other is not found, not the
	// console's role page
	s.mux.Handle("/.well-known/", http.NotFoundHandler())
	return nil
}
