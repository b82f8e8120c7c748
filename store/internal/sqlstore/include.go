package sqlstore

import (
	"context"

	"github.com/xietong/xietong/store"
)

// maxIterate bounds :iterate rounds so a reference cycle cannot loop.
const maxIterate = 4

// includes answers _include and _revinclude for the matched row ids: the
// current, non-deleted resources they reference or that reference them,
// each once and none that is already a match.
func (r Reader) includes(ctx context.Context, q *store.Query, matches []int64) ([]*store.Version, error) {
	seen := make(map[int64]bool, len(matches))
	for _, rid := range matches {
		seen[rid] = true
	}
	var out []*store.Version
	frontier := matches
	for round := 0; len(frontier) > 0 && round <= maxIterate; round++ {
		var next []int64
		run := func(inc store.Include, rev bool) error {
			b := newBuilder(r.D)
			// s: the resource holding the reference; t: its target.
			pick := "t"
			if rev {
				pick = "s"
			}
			b.w("SELECT " + versionCols + ", " + pick + ".rid FROM idx_reference x" +
				" JOIN resource s ON s.rid = x.rid" +
				" JOIN resource t ON t.type = x.target_type AND t.id = x.target_id" +
				" JOIN resource_version v ON v.vid = " + pick + ".vid WHERE s.deleted = 0 AND t.deleted = 0")
			if rev {
				b.w(" AND t.rid IN ")
			} else {
				b.w(" AND s.rid IN ")
			}
			b.w("(")
			for i, rid := range frontier {
				if i > 0 {
					b.w(", ")
				}
				b.arg(rid)
			}
			b.w(")")
			if inc.SourceType != "" {
				// The entry's own type (migration 0007) narrows a
				// _revinclude in the reference index; the resource's
				// type says the same. Unary + on SQLite: without
				// statistics it would otherwise walk every resource of the
				// source type (see where).
				b.w(" AND x.source_type = ").arg(inc.SourceType)
				if r.D == SQLite {
					b.w(" AND +s.type = ").arg(inc.SourceType)
				} else {
					b.w(" AND s.type = ").arg(inc.SourceType)
				}
			}
			if inc.Param != "" && inc.Param != "*" {
				b.w(" AND x.param = ").arg(inc.Param)
			}
			if inc.TargetType != "" {
				b.w(" AND x.target_type = ").arg(inc.TargetType)
			}
			rows, err := r.searchQuery(ctx, b)
			if err != nil {
				return WrapErr(ctx, "include", err)
			}
			defer rows.Close()
			for rows.Next() {
				var rid int64
				v, err := scanVersion(rows, &rid)
				if err != nil {
					return WrapErr(ctx, "include", err)
				}
				if seen[rid] {
					continue
				}
				seen[rid] = true
				out = append(out, v)
				next = append(next, rid)
			}
			return WrapErr(ctx, "include", rows.Err())
		}
		for _, inc := range q.Include {
			if round == 0 || inc.Iterate {
				if err := run(inc, false); err != nil {
					return nil, err
				}
			}
		}
		for _, inc := range q.RevInclude {
			if round == 0 || inc.Iterate {
				if err := run(inc, true); err != nil {
					return nil, err
				}
			}
		}
		frontier = next
	}
	return out, nil
}
