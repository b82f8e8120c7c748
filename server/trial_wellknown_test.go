package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/server"
)

// An unknown /.well-known/ document is a 404, not a redirect to the
// console's role page; the node's own well-known documents still answer.
func TestTrialWellKnown(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{DB: filepath.Join(t.TempDir(), "wk.db"), Demo: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{
		"/.well-known/jwks.json":               404,
		"/.well-known/smart-configuration":     404,
		"/.well-known/health-card-keys":        200,
		"/.well-known/health-card-revocations": 200,
		"/":                                    303, // the console asks for a role
	} {
		resp, err := client.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
