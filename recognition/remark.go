package recognition

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/store"
)

// remarkBatch is the number of results re-marked per transaction.
const remarkBatch = 500

// Remark brings the HR mark of stored results in line with the current
// qualifications (after an EQA failure, a membership that ended, a
// catalogue change): it walks the projection (of one issuer when issuer is
// not ""), and rewrites each result whose mark differs, with the mark
// changed, through the Writer (in transactions of 500; each rewrite is a
// new version, with If-Match semantics so a concurrent update wins). It
// returns the number of results changed.
//
// The check never relies on the mark: it judges the qualifications at the
// moment of ordering, so a mark that lags behind (between a qualification
// change and the re-mark) never makes the check wrong.
func (e *Engine) Remark(ctx context.Context, issuer string) (int, error) {
	n, _, err := e.remark(ctx, remarkScope{issuer: issuer, all: true})
	return n, err
}

// remarkScope is the part of the projection a qualification change can
// affect: one issuer's results ("" for every issuer), of the given codes
// only (nil for every code). An EQA result concerns one issuer and one
// item's codes, a membership one issuer and its programme's codes, a
// catalogue item its codes at every issuer.
type remarkScope struct {
	issuer string
	codes  []string // "system|code", sorted
	all    bool     // every code (codes nil); with issuer "", the whole projection
}

func (sc remarkScope) key() string {
	if sc.all {
		return sc.issuer + "\x00*"
	}
	return sc.issuer + "\x00" + strings.Join(sc.codes, "\x01")
}

// maxScopeCodes bounds the codes of a scope (bound parameters); a larger
// scope is taken by issuer only.
const maxScopeCodes = 500

// remarkQuery is the projection query of a scope. The issuer index
// (issuer, code) and the code index (code, issuer) of schema version 2
// make it read only the affected rows (then every row of each affected
// result, by the rid index: a result's mark depends on all its codes).
func remarkQuery(sc remarkScope) (string, []any) {
	q := `SELECT rtype, rid, code, eff, issuer, marked FROM recognition_result`
	var args []any
	codes := sc.codes
	if sc.all || len(codes) > maxScopeCodes {
		codes = nil
	}
	switch {
	case len(codes) == 0 && sc.issuer != "":
		q += ` WHERE issuer = ?`
		args = append(args, sc.issuer)
	case len(codes) > 0:
		q += ` WHERE rid IN (SELECT rid FROM recognition_result WHERE `
		if sc.issuer != "" {
			q += `issuer = ? AND `
			args = append(args, sc.issuer)
		}
		q += `code IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(codes)), ", ") + `))`
		for _, c := range codes {
			args = append(args, c)
		}
	}
	// Rows come grouped by resource, so only the results whose mark must
	// change are kept in memory, whatever the table's size.
	return q + ` ORDER BY rid, rtype`, args
}

// remark re-marks the results of a scope; scanned is the number of
// projection rows it read.
func (e *Engine) remark(ctx context.Context, sc remarkScope) (changed, scanned int, err error) {
	if e.Writer == nil {
		return 0, 0, errors.New("recognition: no Writer configured")
	}
	e.remarkMu.Lock()
	defer e.remarkMu.Unlock()
	q, args := remarkQuery(sc)
	rows, err := e.sql.QuerySQL(ctx, q, args...)
	if err != nil {
		return 0, 0, err
	}
	today := e.localDay(e.now())
	var change []string
	var want []bool
	var cur struct {
		key    string
		codes  []string
		issuer string
		eff    int64
		marked bool
	}
	flush := func() {
		if cur.key == "" {
			return
		}
		e.mu.RLock()
		on := e.s.markFor(cur.codes, cur.issuer, e.localDay(time.Unix(cur.eff, 0)), today)
		e.mu.RUnlock()
		if on != cur.marked {
			change, want = append(change, cur.key), append(want, on)
		}
	}
	for rows.Next() {
		var typ, id, code, iss string
		var eff int64
		var marked int
		if err := rows.Scan(&typ, &id, &code, &eff, &iss, &marked); err != nil {
			rows.Close()
			return 0, scanned, err
		}
		scanned++
		if k := typ + "/" + id; k != cur.key {
			flush()
			cur.key, cur.codes, cur.issuer, cur.eff, cur.marked = k, cur.codes[:0], iss, eff, marked == 1
		}
		cur.codes = append(cur.codes, code)
	}
	flush()
	if err := rows.Close(); err != nil {
		return 0, scanned, err
	}
	done := 0
	for i := 0; i < len(change); i += remarkBatch {
		var batch []map[string]any
		for j := i; j < min(i+remarkBatch, len(change)); j++ {
			typ, id, _ := strings.Cut(change[j], "/")
			v, err := e.st.Read(ctx, typ, id)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
				continue
			}
			if err != nil {
				return done, scanned, err
			}
			m, err := decode(v.Body)
			if err != nil {
				return done, scanned, err
			}
			setMark(m, want[j])
			batch = append(batch, m)
		}
		if err := e.Writer.Write(ctx, batch); err != nil {
			return done, scanned, err
		}
		done += len(batch)
	}
	return done, scanned, nil
}

// RemarkOperation serves POST [base]/Observation/$recognition-remark
// (optional query parameter issuer: an Organization id) and answers with
// an OperationOutcome saying how many results changed.
func (e *Engine) RemarkOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$recognition-remark is called with POST.")
	}
	issuer := strings.TrimPrefix(r.URL.Query().Get("issuer"), "Organization/")
	if issuer != "" && !idRE.MatchString(issuer) {
		return outcome.BadRequest("issuer %q is not an Organization id.", issuer).At("issuer")
	}
	n, err := e.Remark(r.Context(), issuer)
	if err != nil {
		return err
	}
	return respond.Value(w, r, http.StatusOK, operationOK(fmt.Sprintf("re-marked %d results", n)))
}
