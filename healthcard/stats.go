package healthcard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/store"
)

// Dimensions a usage count can be grouped by.
var Dimensions = []string{"institution", "city", "channel", "month", "event", "careStep"}

// UsageQuery selects and groups use records.
type UsageQuery struct {
	From, To    time.Time // recorded in [From, To); zero: unbounded
	City        string    // a city (prefecture) code, "" for all
	Institution string    // an institution code, "" for all
	Event       string    // issue, revoke or resolve; "" for all
	By          []string  // dimensions, in order (default institution, city, channel, month, event)
}

// UsageRow is one group of a count. Dimensions not grouped by are "".
type UsageRow struct {
	Institution     string // institution code
	InstitutionName string
	InstitutionRef  string // Organization/<id>
	City            string
	Channel         string
	Month           string // YYYY-MM in the service's zone
	Event           string
	CareStep        string
	Count           int
}

// Key returns the row's value of a dimension.
func (r UsageRow) Key(dim string) string {
	switch dim {
	case "institution":
		return r.Institution
	case "city":
		return r.City
	case "channel":
		return r.Channel
	case "month":
		return r.Month
	case "event":
		return r.Event
	case "careStep":
		return r.CareStep
	}
	return ""
}

// Usage counts the recorded uses, grouped, sorted by the group values.
// It reads the use AuditEvents page by page; pending (unflushed) uses are
// not counted.
func (s *Service) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	if len(q.By) == 0 {
		q.By = []string{"institution", "city", "channel", "month", "event"}
	}
	for _, d := range q.By {
		if !slices.Contains(Dimensions, d) {
			return nil, fmt.Errorf("unknown dimension %q: use %s", d, strings.Join(Dimensions, ", "))
		}
	}
	sq := &store.Query{Types: []string{"AuditEvent"}, Count: 1000, Total: store.TotalNone,
		Where: []store.Clause{{tokenPred("type", SystemAuditEventType, AuditEventType)}}}
	if !q.From.IsZero() {
		us := q.From.UnixMicro()
		sq.Where = append(sq.Where, store.Clause{{Param: "date", Type: store.TypeDate, Prefix: store.PrefixGe, DateLow: us, DateHigh: us}})
	}
	if !q.To.IsZero() {
		us := q.To.UnixMicro()
		sq.Where = append(sq.Where, store.Clause{{Param: "date", Type: store.TypeDate, Prefix: store.PrefixLt, DateLow: us, DateHigh: us}})
	}
	if q.City != "" {
		sq.Where = append(sq.Where, store.Clause{{Param: "site", Type: store.TypeToken, AnySystem: true, Code: q.City}})
	}
	if q.Event != "" {
		sq.Where = append(sq.Where, store.Clause{tokenPred("subtype", SystemCardEvent, q.Event)})
	}
	groups := map[string]*UsageRow{}
	for {
		res, err := s.st.Search(ctx, sq)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Matches {
			ev, err := decode(v)
			if err != nil {
				return nil, err
			}
			full := s.rowOf(ev)
			if q.Institution != "" && full.Institution != q.Institution {
				continue
			}
			if !q.From.IsZero() || !q.To.IsZero() {
				t, err := time.Parse(time.RFC3339Nano, str(ev["recorded"]))
				if err != nil || (!q.From.IsZero() && t.Before(q.From)) || (!q.To.IsZero() && !t.Before(q.To)) {
					continue
				}
			}
			var r UsageRow
			var key strings.Builder
			for _, d := range q.By {
				switch d {
				case "institution":
					r.Institution, r.InstitutionName, r.InstitutionRef = full.Institution, full.InstitutionName, full.InstitutionRef
				case "city":
					r.City = full.City
				case "channel":
					r.Channel = full.Channel
				case "month":
					r.Month = full.Month
				case "event":
					r.Event = full.Event
				case "careStep":
					r.CareStep = full.CareStep
				}
				key.WriteString(full.Key(d))
				key.WriteByte(0)
			}
			g := groups[key.String()]
			if g == nil {
				g = &r
				groups[key.String()] = g
			}
			g.Count++
		}
		if res.NextCursor == "" {
			break
		}
		sq.Cursor = res.NextCursor
	}
	rows := make([]UsageRow, 0, len(groups))
	for _, g := range groups {
		rows = append(rows, *g)
	}
	slices.SortFunc(rows, func(a, b UsageRow) int {
		for _, d := range q.By {
			if c := strings.Compare(a.Key(d), b.Key(d)); c != 0 {
				return c
			}
		}
		return 0
	})
	return rows, nil
}

// rowOf reads the dimensions of one use AuditEvent.
func (s *Service) rowOf(ev obj) UsageRow {
	var r UsageRow
	for _, x := range list(ev["subtype"]) {
		if c := object(x); str(c["system"]) == SystemCardEvent {
			r.Event = str(c["code"])
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, str(ev["recorded"])); err == nil {
		r.Month = t.In(s.cfg.Zone).Format("2006-01")
	}
	src := object(ev["source"])
	r.City = str(src["site"])
	for _, x := range list(src["type"]) {
		if c := object(x); str(c["system"]) == SystemChannel {
			r.Channel = str(c["code"])
		}
	}
	obs := object(src["observer"])
	if id := object(obs["identifier"]); str(id["system"]) == SystemInstitutionCode {
		r.Institution = str(id["value"])
		r.InstitutionName = str(obs["display"])
		r.InstitutionRef = str(obs["reference"])
	}
	for _, x := range list(ev["purposeOfEvent"]) {
		for _, y := range list(object(x)["coding"]) {
			if c := object(y); str(c["system"]) == SystemCareStep {
				r.CareStep = str(c["code"])
			}
		}
	}
	return r
}
