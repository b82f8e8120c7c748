package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/search"
)

// Demo mode: until real authentication exists, the console user chooses a
// role and an institution; the choice is kept in a cookie and every call
// of the console to the API carries it as the principal (marked Demo), so
// the guard decides and the audit trail records it like any other.

// roles offered in demo mode, in menu order (the roles access.DemoPolicy
// and the audit trail know).
var roles = []string{"clinician", "commission", "admin", "cdc", "viewer"}

const (
	principalCookie = "xt_demo"
	langCookie      = "lang"
)

// principalFrom reads the demo choice from its cookie.
func principalFrom(r *http.Request) (p access.Principal, orgName string, ok bool) {
	ck, err := r.Cookie(principalCookie)
	if err != nil {
		return p, "", false
	}
	v, err := url.ParseQuery(ck.Value)
	if err != nil {
		return p, "", false
	}
	role, org := v.Get("role"), v.Get("org")
	if !slices.Contains(roles, role) || (org != "" && !search.ValidID(org)) {
		return p, "", false
	}
	return access.Principal{Subject: "console-demo-" + role, Role: role, Organization: org, Demo: true}, v.Get("name"), true
}

// language picks the page language: ?lang= (remembered in a cookie), else
// the cookie, else Chinese.
func (c *Console) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "zh" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "zh" || ck.Value == "en") {
		return ck.Value
	}
	return "zh"
}

type roleForm struct {
	Roles        []string
	Institutions []option
	Role, Org    string
	Next         string
}

type option struct {
	Value, Label string
	Group        string
}

// visitor is who reads the institution list for the choice page: a
// read-only principal, audited like any other.
var visitor = access.Principal{Subject: "console-demo-visitor", Role: "viewer", Demo: true}

func (c *Console) handleRoleForm(w http.ResponseWriter, r *http.Request) {
	lang := c.language(w, r)
	p, orgName, _ := principalFrom(r)
	v := &view{Lang: lang, Principal: p, OrgName: orgName, Path: r.URL.RequestURI(), CSS: c.cssURL(), Caps: c.capabilities(r.Context()), Section: "role", Title: "role.title"}
	insts, err := c.institutionOptions(r, visitor)
	if err != nil {
		c.writeError(w, r, v, err)
		return
	}
	v.Data = roleForm{Roles: roles, Institutions: insts, Role: p.Role, Org: p.Organization, Next: safeNext(r.URL.Query().Get("next"))}
	c.render(w, http.StatusOK, v, "role")
}

// institutionOptions lists the institutions (not departments or
// cooperations) by area for a select.
func (c *Console) institutionOptions(r *http.Request, p access.Principal) ([]option, error) {
	orgs, _, _, err := c.fhir.search(r.Context(), p, "Organization", url.Values{
		"type": {csInstitutionKind + "|"}, "_count": {"500"}, "_elements": {"name,address,type"},
	})
	if err != nil {
		return nil, err
	}
	out := make([]option, 0, len(orgs))
	for _, o := range orgs {
		district, _ := addressDistrict(firstObject(o["address"]))
		out = append(out, option{Value: str(o["id"]), Label: str(o["name"]), Group: district})
	}
	// Sorted here, not with _sort: the lists are small.
	slices.SortFunc(out, func(a, b option) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Label, b.Label))
	})
	return out, nil
}

// handleRoleChoose keeps the choice and goes back where the user was.
func (c *Console) handleRoleChoose(w http.ResponseWriter, r *http.Request) {
	lang := c.language(w, r)
	if err := r.ParseForm(); err != nil {
		c.writeError(w, r, &view{Lang: lang, CSS: c.cssURL(), Path: "/role"}, badInput("error.form"))
		return
	}
	role, org := r.PostForm.Get("role"), r.PostForm.Get("org")
	if !slices.Contains(roles, role) || (org != "" && !search.ValidID(org)) {
		c.writeError(w, r, &view{Lang: lang, CSS: c.cssURL(), Path: "/role"}, badInput("role.invalid"))
		return
	}
	name := ""
	if org != "" {
		// The institution must exist: read it as the chosen principal.
		res, err := c.fhir.get(r.Context(), access.Principal{Subject: "console-demo-" + role, Role: role, Organization: org, Demo: true}, "/Organization/"+org, url.Values{"_elements": {"name"}})
		if err != nil {
			c.writeError(w, r, &view{Lang: lang, CSS: c.cssURL(), Path: "/role"}, err)
			return
		}
		name = str(res["name"])
	}
	val := url.Values{"role": {role}, "org": {org}, "name": {name}}
	http.SetCookie(w, &http.Cookie{Name: principalCookie, Value: val.Encode(), Path: "/", MaxAge: 7 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/role") {
		return "/"
	}
	return next
}
