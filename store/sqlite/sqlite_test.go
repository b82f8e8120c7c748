package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/sqlite"
	"github.com/xietong/xietong/store/storetest"
)

func openTest(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTest)
}
