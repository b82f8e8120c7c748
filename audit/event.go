package audit

import (
	"strconv"

	"github.com/xietong/xietong/store"
)

// restful maps access actions to codes of the R4 restful-interaction code
// system, and the AuditEvent.action (C, R, U, D, E).
var restful = map[string][2]string{
	"read":      {"read", "R"},
	"search":    {"search-type", "E"},
	"history":   {"history-instance", "R"},
	"create":    {"create", "C"},
	"update":    {"update", "U"},
	"delete":    {"delete", "D"},
	"operation": {"operation", "E"},
}

// Event renders an audit record as an R4 AuditEvent resource (id
// "audit-<seq>"): a RESTful operation by the principal on the resource,
// with outcome 0 when allowed and 4 (minor failure) with the reason when
// denied.
func Event(r store.AuditRecord) map[string]any {
	code := restful[r.Action]
	if code[0] == "" {
		code = [2]string{r.Action, "E"}
	}
	who := map[string]any{"identifier": map[string]any{"system": "https://xietong.dev/fhir/sid/principal", "value": r.Subject}}
	if r.Subject == "" {
		who = map[string]any{"display": "(no principal)"}
	}
	agent := map[string]any{
		"who":       who,
		"requestor": true,
		"role":      []any{map[string]any{"text": r.Role}},
	}
	if r.Organization != "" {
		who["display"] = r.Subject + " @ Organization/" + r.Organization
	}
	if r.Source != "" {
		agent["network"] = map[string]any{"address": r.Source, "type": "2"}
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"id":           "audit-" + strconv.FormatInt(r.Seq, 10),
		"type":         map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
		"subtype":      []any{map[string]any{"system": "http://hl7.org/fhir/restful-interaction", "code": code[0]}},
		"action":       code[1],
		"recorded":     r.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		"agent":        []any{agent},
		"source":       map[string]any{"observer": map[string]any{"display": "Xietong"}},
	}
	if r.Allowed {
		ev["outcome"] = "0"
	} else {
		ev["outcome"] = "4"
		ev["outcomeDesc"] = r.Reason
	}
	if r.Demo {
		ev["meta"] = map[string]any{"tag": []any{map[string]any{"system": "https://xietong.dev/fhir/CodeSystem/principal-kind", "code": "demo", "display": "chosen in demo mode, not authenticated"}}}
	}
	switch {
	case r.ResourceType != "" && r.ID != "":
		ev["entity"] = []any{map[string]any{"what": map[string]any{"reference": r.ResourceType + "/" + r.ID}}}
	case r.ResourceType != "":
		ev["entity"] = []any{map[string]any{"what": map[string]any{"display": r.ResourceType}, "name": r.ResourceType}}
	}
	if r.Operation != "" {
		ent := map[string]any{"name": r.Operation}
		if list, ok := ev["entity"].([]any); ok {
			ev["entity"] = append(list, ent)
		} else {
			ev["entity"] = []any{ent}
		}
	}
	return ev
}
