package console

import (
	"net/http"
	"net/url"
	"sync"
)

type homeData struct {
	Counts []countCard
}

type countCard struct {
	Key   string // message key of the label
	Value int
	Link  string
}

// handleHome: the region at a glance (counts read through the API as the
// user) and the way into each workspace.
func (c *Console) handleHome(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "home.title", "home"
	cards := []struct {
		key, typ string
		q        url.Values
		link     string
	}{
		{"home.institutions", "Organization", url.Values{"type": {csInstitutionKind + "|"}}, "/directory"},
		{"home.cooperations", "Organization", url.Values{"type": {csCooperationKind + "|"}, "type:not": {csCooperationKind + "|regional-collaboration"}}, "/directory/cooperations"},
		{"home.practitioners", "Practitioner", nil, "/directory/practitioners"},
		{"home.patients", "Patient", nil, "/patients"},
	}
	out := make([]countCard, len(cards))
	errs := make([]error, len(cards))
	var wg sync.WaitGroup
	for i, cd := range cards {
		wg.Go(func() {
			n, err := c.fhir.count(r.Context(), v.Principal, cd.typ, cd.q)
			out[i], errs[i] = countCard{Key: cd.key, Value: n, Link: cd.link}, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return "", err
		}
	}
	v.Data = homeData{Counts: out}
	return "home", nil
}
