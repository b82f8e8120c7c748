package sqlstore

import (
	"errors"
	"testing"

	"github.com/xietong/xietong/store"
)

var fuzzKeys = []sortKey{{kind: 's'}, {kind: 'i', desc: true}, {kind: 'f'}}

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{Keys: []any{"zhang", int64(1 << 60), 2.5}, RID: 42}
	got, err := decodeCursor(encodeCursor(c), fuzzKeys)
	if err != nil {
		t.Fatal(err)
	}
	if got.RID != 42 || got.Keys[0] != "zhang" || got.Keys[1] != int64(1<<60) || got.Keys[2] != 2.5 {
		t.Fatalf("round trip: %#v", got)
	}
	nulls := cursor{Keys: []any{nil, nil, nil}, RID: 1}
	if _, err := decodeCursor(encodeCursor(nulls), fuzzKeys); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeCursor: a cursor comes from the client; whatever it holds,
// decoding fails with ErrInvalid or yields keys of the declared kinds.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{Keys: []any{"a", int64(1), 1.5}, RID: 3}))
	f.Add(encodeCursor(cursor{Keys: []any{nil, "x", 1.5}, RID: 3}))
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, fuzzKeys)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		for i, k := range fuzzKeys {
			switch v := c.Keys[i].(type) {
			case nil:
			case string:
				if k.kind != 's' {
					t.Fatalf("key %d: string for kind %c", i, k.kind)
				}
			case int64:
				if k.kind != 'i' {
					t.Fatalf("key %d: int for kind %c", i, k.kind)
				}
			case float64:
				if k.kind != 'f' {
					t.Fatalf("key %d: float for kind %c", i, k.kind)
				}
			default:
				t.Fatalf("key %d: %T", i, v)
			}
		}
	})
}
