// Package console is Xietong's browser UI for clinicians, commission staff
// and administrators: server-rendered pages (html/template, assets and
// templates embedded with embed, no external CDN, no script), Chinese by
// default with an English switch, charts drawn on the server as SVG.
//
// The console is a client of the node's FHIR API, in process: every page
// reads and writes by calling the API's http.Handler with the console
// user's principal in the request context (see client), so every access
// passes the one authorisation point (access.Guard) and is audited exactly
// like an external client's. It must not depend on the store, on server or
// on any engine's internals; what an engine offers, it reaches through the
// engine's FHIR operations, found in the CapabilityStatement.
//
// Until real authentication exists the console runs in demo mode: the user
// chooses a role and an institution (kept in a cookie) and a banner says
// so (decision 008).
package console
