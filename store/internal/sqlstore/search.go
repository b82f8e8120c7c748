package sqlstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/xietong/xietong/store"
)

// sortKey is one _sort key as SQL: an expression over resource alias "r"
// and how its cursor value is typed.
type sortKey struct {
	kind byte // 's' string, 'i' int64, 'f' float64
	desc bool
	expr func(b *builder)
}

func sortKeys(sorts []store.Sort) ([]sortKey, error) {
	keys := make([]sortKey, 0, len(sorts))
	for _, s := range sorts {
		s := s
		k := sortKey{desc: s.Desc}
		agg := "min"
		if s.Desc {
			agg = "max"
		}
		sub := func(col, table string) func(b *builder) {
			return func(b *builder) {
				x := b.newAlias("o")
				b.w("(SELECT " + agg + "(" + x + "." + col + ") FROM " + table + " " + x + " WHERE " + x + ".rid = r.rid AND ")
				b.paramsEq(x, s.Param, s.Also).w(")")
			}
		}
		switch {
		case s.Param == store.ParamID:
			k.kind, k.expr = 's', func(b *builder) { b.w("r.id") }
		case s.Param == store.ParamLastUpdated:
			k.kind, k.expr = 'i', func(b *builder) { b.w("r.last_updated") }
		case s.Type == store.TypeString:
			k.kind, k.expr = 's', sub("norm", "idx_string")
		case s.Type == store.TypeToken:
			k.kind, k.expr = 's', sub("code", "idx_token")
		case s.Type == store.TypeURI:
			k.kind, k.expr = 's', sub("uri", "idx_uri")
		case s.Type == store.TypeDate:
			// Ascending by the earliest instant a value covers,
			// descending by the latest.
			col := "low"
			if s.Desc {
				col = "high"
			}
			k.kind, k.expr = 'i', sub(col, "idx_date")
		case s.Type == store.TypeNumber || s.Type == store.TypeQuantity:
			col := "low"
			if s.Desc {
				col = "high"
			}
			k.kind, k.expr = 'f', sub(col, indexTable[s.Type])
		default:
			return nil, fmt.Errorf("%w: _sort on %s parameter %q", store.ErrUnsupported, s.Type, s.Param)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// cursor is a position between matches: its sort-key values (nil for a
// resource without a value) and its row id. A next cursor names the last
// match of a page and continues after it; a previous cursor (Back) names
// the first match of a page and goes back to the page of the matches
// just before it. Both are keysets, so rows written or deleted meanwhile
// neither repeat nor go missing in either direction.
type cursor struct {
	Keys []any `json:"k"`
	RID  int64 `json:"r"`
	Back bool  `json:"b,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, keys []sortKey) (cursor, error) {
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("search: %w: bad cursor", store.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil || len(c.Keys) != len(keys) {
		return c, fmt.Errorf("search: %w: bad cursor", store.ErrInvalid)
	}
	for i, k := range keys {
		v := c.Keys[i]
		if v == nil {
			continue
		}
		var ok bool
		switch k.kind {
		case 's':
			_, ok = v.(string)
		case 'i':
			if n, isNum := v.(json.Number); isNum {
				c.Keys[i], err = strconv.ParseInt(string(n), 10, 64)
				ok = err == nil
			}
		case 'f':
			if n, isNum := v.(json.Number); isNum {
				c.Keys[i], err = strconv.ParseFloat(string(n), 64)
				ok = err == nil
			}
		}
		if !ok {
			return c, fmt.Errorf("search: %w: bad cursor", store.ErrInvalid)
		}
	}
	return c, nil
}

// keyset writes the condition "row comes after c" (or, with back, "row
// comes before c") in the order ORDER BY (k IS NULL), k [DESC] ..., rid:
// nulls last in both directions.
func (b *builder) keyset(keys []sortKey, c cursor, back bool) {
	col := func(i int) string { return "m.k" + strconv.Itoa(i) }
	b.w("(")
	for i := 0; i <= len(keys); i++ {
		if i > 0 {
			b.w(" OR ")
		}
		b.w("(")
		for j := 0; j < i; j++ { // equal on all earlier keys
			if c.Keys[j] == nil {
				b.w(col(j) + " IS NULL AND ")
			} else {
				b.w(col(j) + " = ").arg(c.Keys[j]).w(" AND ")
			}
		}
		// toward: the comparison that moves in the paging direction,
		// on a key sorted descending (desc) or not
		toward := func(desc bool) string {
			if desc != back {
				return " < "
			}
			return " > "
		}
		switch {
		case i == len(keys):
			b.w("m.rid" + toward(false)).arg(c.RID)
		case c.Keys[i] == nil && back:
			b.w(col(i) + " IS NOT NULL") // every value sorts before a null
		case c.Keys[i] == nil:
			b.w("1 = 0") // nothing sorts after a null except ties
		default:
			op := toward(keys[i].desc)
			// Going forward, nulls (last) come after any value; going
			// back, only values come before one.
			nulls := " IS NULL OR "
			if back {
				nulls = " IS NOT NULL AND "
			}
			b.w("(" + col(i) + nulls + col(i) + op).arg(c.Keys[i]).w(")")
		}
		b.w(")")
	}
	b.w(")")
}

// orderBy writes the page order, or its exact reverse (a previous
// page is read backwards from its cursor, then turned round).
func (b *builder) orderBy(keys []sortKey, alias string, reverse bool) {
	dir := func(desc bool) {
		if desc != reverse {
			b.w(" DESC")
		}
	}
	b.w(" ORDER BY ")
	for i, k := range keys {
		c := alias + ".k" + strconv.Itoa(i)
		b.w("CASE WHEN " + c + " IS NULL THEN 1 ELSE 0 END")
		dir(false)
		b.w(", " + c)
		dir(k.desc)
		b.w(", ")
	}
	b.w(alias + ".rid")
	dir(false)
}

// Search implements store.Reader.
func (r Reader) Search(ctx context.Context, q *store.Query) (*store.SearchResult, error) {
	keys, err := sortKeys(q.Sort)
	if err != nil {
		return nil, err
	}
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, keys)
		if err != nil {
			return nil, err
		}
		cur = &c
	}
	res := &store.SearchResult{Total: -1}
	countSQL := func() error {
		b := newBuilder(r.D)
		b.w("SELECT count(*)")
		if err := b.from(q.Types, q.Where, nil); err != nil {
			return err
		}
		rows, err := r.searchQuery(ctx, b)
		if err := scanScalar(rows, err, &res.Total); err != nil {
			return WrapErr(ctx, "search count", err)
		}
		return nil
	}
	if q.CountOnly {
		if err := countSQL(); err != nil {
			return nil, err
		}
		return res, nil
	}
	count := q.Count
	if count <= 0 {
		count = DefaultCount
	}
	// The total comes with the page, as a window count over all matches,
	// when the page has to gather every match anyway: a sort key, no
	// driving index, or a driving chain or _has, whose set of rows is the
	// costly part (evaluated once instead of once to count and once for
	// the page: half the time of a _has on a common code). A page driven
	// by a plain index predicate in row-id order stops after count+1
	// rows, so there the total is counted apart, and only when the page
	// does not tell it: a first page with no next page holds every match.
	withTotal := q.Total != store.TotalNone && (len(keys) > 0 || !plainDriver(q.Where))
	countApart := q.Total != store.TotalNone && !withTotal

	// Innermost: matching row ids with their sort keys (and the total);
	// middle: keyset, order and page; outer: fetch the bodies of that page
	// only.
	b := newBuilder(r.D)
	b.w("SELECT " + versionCols + ", m.rid")
	for i := range keys {
		b.w(", m.k" + strconv.Itoa(i))
	}
	if withTotal {
		b.w(", m.total")
	}
	b.w(" FROM (SELECT m.* FROM (SELECT r.rid AS rid")
	for i, k := range keys {
		b.w(", ")
		k.expr(b)
		b.w(" AS k" + strconv.Itoa(i))
	}
	if withTotal {
		b.w(", count(*) OVER () AS total")
	}
	if err := b.from(q.Types, q.Where, q.Sort); err != nil {
		return nil, err
	}
	b.w(") m")
	back := cur != nil && cur.Back
	if cur != nil {
		b.w(" WHERE ")
		b.keyset(keys, *cur, back)
	}
	b.orderBy(keys, "m", back)
	b.w(" LIMIT ").arg(count + 1)
	if cur == nil && q.Offset > 0 {
		b.w(" OFFSET ").arg(q.Offset)
	}
	b.w(") m JOIN resource r ON r.rid = m.rid JOIN resource_version v ON v.vid = r.vid")
	b.orderBy(keys, "m", back)

	rows, err := r.searchQuery(ctx, b)
	if err != nil {
		return nil, WrapErr(ctx, "search", err)
	}
	defer rows.Close()
	var rids []int64
	var pos []cursor // each match's position, for the cursors of a page
	more := false    // a match beyond the page (after it, or before it when back)
	for rows.Next() {
		if len(res.Matches) == count {
			more = true
			break
		}
		var rid int64
		var total int64
		kv := make([]any, len(keys))
		dest := []any{&rid}
		for i := range keys {
			dest = append(dest, &kv[i])
		}
		if withTotal {
			dest = append(dest, &total)
		}
		v, err := scanVersion(rows, dest...)
		if err != nil {
			return nil, WrapErr(ctx, "search", err)
		}
		for i, k := range keys {
			kv[i] = normKey(kv[i], k.kind)
		}
		if withTotal {
			res.Total = int(total)
		}
		res.Matches = append(res.Matches, v)
		rids = append(rids, rid)
		pos = append(pos, cursor{Keys: kv, RID: rid})
	}
	if err := rows.Err(); err != nil {
		return nil, WrapErr(ctx, "search", err)
	}
	rows.Close()
	if back {
		// Read backwards from the cursor: turn the page round. Its next
		// page starts after its last match; an earlier page exists when
		// a match was found beyond count.
		slices.Reverse(res.Matches)
		slices.Reverse(rids)
		slices.Reverse(pos)
	}
	if n := len(pos); n > 0 {
		// Read back, there is a next page (the one the cursor came from)
		// and an earlier one when a match lay beyond count; read forward,
		// the reverse, and an earlier page unless this is the first.
		if back || more {
			res.NextCursor = encodeCursor(pos[n-1])
		}
		if back && more || !back && (cur != nil || q.Offset > 0) {
			first := pos[0]
			first.Back = true
			res.PrevCursor = encodeCursor(first)
		}
	} else if back {
		// Nothing before the cursor any more (deleted meanwhile): the
		// page that led here is where the client can go on from.
		res.NextCursor = encodeCursor(cursor{Keys: cur.Keys, RID: cur.RID - 1})
	}
	if countApart {
		if res.NextCursor == "" && cur == nil && (len(res.Matches) > 0 || q.Offset == 0) {
			res.Total = q.Offset + len(res.Matches)
		} else if err := countSQL(); err != nil {
			return nil, err
		}
	}
	if withTotal && len(res.Matches) == 0 {
		// An empty page has no row to carry the total: nothing matches,
		// or the page is past the end.
		res.Total = 0
		if cur != nil || q.Offset > 0 {
			if err := countSQL(); err != nil {
				return nil, err
			}
		}
	}
	if len(q.Include) > 0 || len(q.RevInclude) > 0 {
		if res.Included, err = r.includes(ctx, q, rids); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// plainDriver reports whether a search is driven by an index predicate
// (no chain, no _has).
func plainDriver(clauses []store.Clause) bool {
	d := driver(clauses)
	if d < 0 {
		for _, c := range clauses {
			if clauseScore(c) < 0 {
				return true // looked up by id
			}
		}
		return false // a walk of the type
	}
	for i := range clauses[d] {
		if clauses[d][i].Chain != nil || clauses[d][i].Has != nil {
			return false
		}
	}
	return true
}

// normKey converts a scanned sort-key value to the type the cursor stores.
func normKey(v any, kind byte) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return string(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case int64:
		if kind == 'f' {
			return float64(x)
		}
	case float64:
		if kind == 'i' {
			return int64(x)
		}
	}
	return v
}
