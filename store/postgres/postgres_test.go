package postgres_test

import (
	"context"
	"testing"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/postgres/pgtest"
	"github.com/xietong/xietong/store/storetest"
)

func openTest(t *testing.T) store.Store {
	t.Helper()
	dsn := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTest)
}
