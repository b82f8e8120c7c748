package recognition

import (
	"context"
	"slices"
	"strings"

	"github.com/xietong/xietong/store"
)

// Image links. An imaging result is a DiagnosticReport (the report: its
// conclusion, issuer and date are the projection's) with its ImagingStudy;
// the images are reached through the study's DICOM UID and endpoints, the
// report's media (DiagnosticReport.media.link → Media) and presentedForm,
// Media that name the study or the report as partOf, and DocumentReferences
// whose context.related names them. The engine keeps these links in its
// table recognition_image (schema version 3), written by Written in the
// transaction of the resource that states them (and replaced or removed
// with it), so the check hands a clinician everything needed to open the
// images without a search: one indexed query per check.
//
// A row says: the result anchor ("ImagingStudy/id", "DiagnosticReport/id",
// or "Media/id" for a Media's own content) has a link of a kind (study-uid,
// endpoint, media, document, presented-form, content) stated by src
// ("Type/id"), to ref (the linked resource, "" for a UID or an attachment
// of src itself), with url (attachment URL or the UID) and label (content
// type, title); patient is src's subject, so links filed for another
// patient are never shown.
const imageTable = `CREATE TABLE recognition_image (
			anchor  TEXT NOT NULL,
			src     TEXT NOT NULL,
			kind    TEXT NOT NULL,
			ref     TEXT NOT NULL,
			patient TEXT NOT NULL,
			url     TEXT NOT NULL,
			label   TEXT NOT NULL
		);
		CREATE INDEX recognition_image_anchor ON recognition_image (anchor);
		CREATE INDEX recognition_image_src ON recognition_image (src)`

// Image kinds.
const (
	ImageStudyUID      = "study-uid"      // the study's DICOM Study Instance UID (url)
	ImageEndpoint      = "endpoint"       // an Endpoint of the study (ref), e.g. WADO-RS
	ImageMedia         = "media"          // a Media (ref) with the image (url)
	ImageDocument      = "document"       // a DocumentReference (ref) to the images or report (url)
	ImagePresentedForm = "presented-form" // the report's own attachment (url)
)

// imageContent is the Media's own attachment (anchor Media/id), looked up
// for media the report links without saying where the image is.
const imageContent = "content"

// Image is a link to the images of an imaging result.
type Image struct {
	Kind  string // ImageStudyUID, ImageEndpoint, ImageMedia, ImageDocument, ImagePresentedForm
	Ref   string // "Media/id", "DocumentReference/id", "Endpoint/id"; "" for a UID or a report's attachment
	URL   string // the attachment's URL, or the UID ("urn:oid:…")
	Label string // content type and title, when given
}

type imageRow struct {
	anchor, kind, ref, url, label string
}

// imageRows are the links res states (typ/id is the resource).
func imageRows(typ, id string, res map[string]any) []imageRow {
	self := typ + "/" + id
	var out []imageRow
	switch typ {
	case "ImagingStudy":
		for _, i := range list(res, "identifier") {
			if im := mapOf(i); str(im, "system") == "urn:dicom:uid" && str(im, "value") != "" {
				out = append(out, imageRow{self, ImageStudyUID, "", str(im, "value"), str(res, "description")})
			}
		}
		for _, ep := range list(res, "endpoint") {
			if eid := refID(ep, "Endpoint"); eid != "" {
				out = append(out, imageRow{self, ImageEndpoint, "Endpoint/" + eid, "", str(mapOf(ep), "display")})
			}
		}
	case "DiagnosticReport":
		for _, m := range list(res, "media") {
			if mid := refID(mapOf(m)["link"], "Media"); mid != "" {
				out = append(out, imageRow{self, ImageMedia, "Media/" + mid, "", str(mapOf(m), "comment")})
			}
		}
		for _, a := range list(res, "presentedForm") {
			if am := mapOf(a); str(am, "url") != "" {
				out = append(out, imageRow{self, ImagePresentedForm, "", str(am, "url"), label(am)})
			}
		}
	case "Media":
		if str(res, "status") == "entered-in-error" {
			return nil
		}
		c := mapOf(res["content"])
		out = append(out, imageRow{self, imageContent, self, str(c, "url"), label(c)})
		for _, p := range list(res, "partOf") {
			if a := anchorOf(p); a != "" {
				out = append(out, imageRow{a, ImageMedia, self, str(c, "url"), label(c)})
			}
		}
	case "DocumentReference":
		if str(res, "status") == "entered-in-error" {
			return nil
		}
		var url, lab string
		for _, c := range list(res, "content") {
			if a := mapOf(mapOf(c)["attachment"]); str(a, "url") != "" {
				url, lab = str(a, "url"), label(a)
				break
			}
		}
		if d := str(res, "description"); d != "" && lab == "" {
			lab = d
		}
		for _, r := range list(mapOf(res["context"]), "related") {
			if a := anchorOf(r); a != "" {
				out = append(out, imageRow{a, ImageDocument, self, url, lab})
			}
		}
	}
	return out
}

// anchorOf is a reference to an ImagingStudy or a DiagnosticReport as
// "Type/id", else "".
func anchorOf(ref any) string {
	for _, t := range []string{"ImagingStudy", "DiagnosticReport"} {
		if id := refID(ref, t); id != "" {
			return t + "/" + id
		}
	}
	return ""
}

func label(att map[string]any) string {
	l := strings.TrimSpace(str(att, "contentType") + " " + str(att, "title"))
	return truncate(l, 200)
}

// writeImages replaces the links stated by typ/id (res nil: removed).
func writeImages(ctx context.Context, et store.EngineTx, typ, id string, replace bool, res map[string]any) error {
	src := typ + "/" + id
	if replace {
		if err := et.ExecSQL(ctx, `DELETE FROM recognition_image WHERE src = ?`, src); err != nil {
			return err
		}
	}
	if res == nil {
		return nil
	}
	rows := imageRows(typ, id, res)
	if len(rows) == 0 {
		return nil
	}
	patient := refID(res["subject"], "Patient")
	args := make([]any, 0, 7*len(rows))
	for _, r := range rows {
		args = append(args, r.anchor, src, r.kind, r.ref, patient, r.url, r.label)
	}
	return et.ExecSQL(ctx, `INSERT INTO recognition_image (anchor, src, kind, ref, patient, url, label) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(rows)), ", "), args...)
}

// imageTypes are the types whose writes state image links.
var imageTypes = map[string]bool{"ImagingStudy": true, "DiagnosticReport": true, "Media": true, "DocumentReference": true}

// attachImages fills the Images and StudyUID of imaging priors (reports
// and their studies) from the link table, in one query (and one more for
// the content of Media a report links to). Only links whose resource is
// filed for one of patients (or for none) are kept.
func (e *Engine) attachImages(ctx context.Context, patients []string, items []ItemResult) error {
	var anchors []string
	for _, r := range items {
		for _, ps := range [][]Prior{r.Recognisable, r.Rejected} {
			for _, p := range ps {
				if strings.HasPrefix(p.Ref, "DiagnosticReport/") {
					anchors = append(anchors, p.Ref)
					if p.Study != "" {
						anchors = append(anchors, "ImagingStudy/"+p.Study)
					}
				}
			}
		}
	}
	if len(anchors) == 0 {
		return nil
	}
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	links, err := e.imageLinks(ctx, anchors, patients)
	if err != nil {
		return err
	}
	// Media the reports link to without their content: look it up.
	var media []string
	for _, ls := range links {
		for _, l := range ls {
			if l.Kind == ImageMedia && l.URL == "" {
				media = append(media, l.Ref)
			}
		}
	}
	if len(media) > 0 {
		content, err := e.imageLinks(ctx, media, patients)
		if err != nil {
			return err
		}
		for a, ls := range links {
			for i, l := range ls {
				if l.Kind == ImageMedia && l.URL == "" {
					for _, c := range content[l.Ref] {
						if c.Kind == imageContent {
							links[a][i].URL, links[a][i].Label = c.URL, c.Label
						}
					}
				}
			}
		}
	}
	for i := range items {
		for _, ps := range [][]Prior{items[i].Recognisable, items[i].Rejected} {
			for j := range ps {
				p := &ps[j]
				if !strings.HasPrefix(p.Ref, "DiagnosticReport/") {
					continue
				}
				var all []Image
				all = append(all, links[p.Ref]...)
				if p.Study != "" {
					all = append(all, links["ImagingStudy/"+p.Study]...)
				}
				p.Images = nil
				for _, l := range all {
					if l.Kind == ImageStudyUID {
						if p.StudyUID == "" {
							p.StudyUID = l.URL
						}
						continue
					}
					if !slices.ContainsFunc(p.Images, func(x Image) bool { return x.Kind == l.Kind && x.Ref == l.Ref && x.URL == l.URL }) {
						p.Images = append(p.Images, l)
					}
				}
			}
		}
	}
	return nil
}

// imageLinks reads the links of anchors, by anchor, in a stable order.
func (e *Engine) imageLinks(ctx context.Context, anchors, patients []string) (map[string][]Image, error) {
	args := make([]any, 0, len(anchors))
	for _, a := range anchors {
		args = append(args, a)
	}
	rows, err := e.sql.QuerySQL(ctx, `SELECT anchor, kind, ref, patient, url, label FROM recognition_image WHERE anchor IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(anchors)), ", ")+`) ORDER BY anchor, kind, ref, url`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Image{}
	for rows.Next() {
		var a, pat string
		var l Image
		if err := rows.Scan(&a, &l.Kind, &l.Ref, &pat, &l.URL, &l.Label); err != nil {
			return nil, err
		}
		if pat != "" && !slices.Contains(patients, pat) {
			continue
		}
		out[a] = append(out[a], l)
	}
	return out, rows.Err()
}
