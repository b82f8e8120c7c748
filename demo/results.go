package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/xietong/xietong/directory/vocab"
)

const dateTimeLayout = "2006-01-02T15:04:05-07:00"

func (ro *role) reference() obj {
	return ref("PractitionerRole", ro.id, ro.prac.name())
}

// staff picks a role at in whose department matches want (nil: any
// clinician), falling back to any role there; nil when in has no staff.
func staff(in *institution, r *rand.Rand, want func(*role) bool) *role {
	var match []*role
	for _, ro := range in.roles {
		if want(ro) {
			match = append(match, ro)
		}
	}
	if len(match) == 0 {
		match = in.roles
	}
	if len(match) == 0 {
		return nil
	}
	return match[r.IntN(len(match))]
}

func clinician(ro *role) bool {
	p := ro.prac.profession
	return (p == "doctor" || p == "tcm-doctor") && ro.dept != deptLab && ro.dept != deptImaging
}

func labStaff(ro *role) bool     { return ro.dept == deptLab }
func imagingStaff(ro *role) bool { return ro.dept == deptImaging }

var classNames = map[string]string{"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}

// results emits the resources of one episode through add.
func (g *region) results(p *patient, ep *episode, r *rand.Rand, add func(obj)) {
	base := fmt.Sprintf("%06d-%02d", p.n, ep.n)
	encID := "demo-enc-" + base
	in := ep.inst
	subject := func() obj { return ref("Patient", p.id, p.family+p.given) }
	plainSubject := func() obj { return ref("Patient", p.id, "") }
	end := ep.start.Add(time.Duration(20+r.IntN(100)) * time.Minute)
	if ep.days > 0 {
		end = ep.start.AddDate(0, 0, ep.days)
	}
	if end.After(demoToday) {
		end = demoToday.Add(-time.Hour)
	}
	enc := obj{
		"resourceType":    "Encounter",
		"id":              encID,
		"status":          "finished",
		"class":           coding(sysActCode, ep.class, classNames[ep.class]),
		"subject":         subject(),
		"period":          obj{"start": ep.start.Format(dateTimeLayout), "end": end.Format(dateTimeLayout)},
		"location":        list(obj{"location": ref("Location", in.locationID(), in.name)}),
		"serviceProvider": ref("Organization", in.id, in.name),
	}
	doc := staff(in, r, clinician)
	if doc != nil {
		enc["participant"] = list(obj{
			"type":       list(concept("", coding(sysPartType, "ATND", "attender"))),
			"individual": doc.reference(),
		})
		enc["serviceType"] = concept(doc.dept.name, coding(vocab.SystemDepartment, doc.dept.code, doc.dept.name))
	}
	add(enc)
	encRef := func() obj { return obj{"reference": "Encounter/" + encID} }

	// Specimens are drawn at the start; results are issued hours later.
	drawn := ep.start.Add(time.Duration(10+r.IntN(40)) * time.Minute)
	for k, pn := range ep.panels {
		lab := ep.labAt
		issued := drawn.Add(time.Duration(2*60+r.IntN(6*60)) * time.Minute)
		if lab == g.lab {
			issued = issued.Add(18 * time.Hour) // courier to the independent lab
		}
		drID := fmt.Sprintf("demo-dr-%s-%d", base, k+1)
		var results []any
		for j, key := range pn.items {
			obsID := fmt.Sprintf("demo-obs-%s-%d-%d", base, k+1, j+1)
			add(observation(p, labItems[key], obsID, plainSubject, encRef, lab, drawn, issued, r))
			results = append(results, obj{"reference": "Observation/" + obsID})
		}
		code := concept(pn.zh, coding(pn.system, pn.code, pn.display))
		dr := obj{
			"resourceType":      "DiagnosticReport",
			"id":                drID,
			"status":            "final",
			"category":          list(concept("检验", coding(sysV2Diag, "LAB", "Laboratory"))),
			"code":              code,
			"subject":           subject(),
			"encounter":         encRef(),
			"effectiveDateTime": drawn.Format(dateTimeLayout),
			"issued":            issued.Format(dateTimeLayout),
			"performer":         list(ref("Organization", lab.id, lab.name)),
			"result":            results,
		}
		if ro := staff(lab, r, labStaff); ro != nil {
			dr["resultsInterpreter"] = list(ro.reference())
		}
		add(dr)
	}
	if it := ep.imaging; it != nil {
		g.imaging(p, ep, it, base, subject, encRef, doc, r, add)
	}
	if !ep.start.Before(cardUseSince) {
		add(g.cardUse(p, ep, encID))
	}
}

func observation(p *patient, it *labItem, id string, subject, enc func() obj, lab *institution, drawn, issued time.Time, r *rand.Rand) obj {
	o := obj{
		"resourceType":      "Observation",
		"id":                id,
		"status":            "final",
		"category":          list(concept("", coding(sysObsCat, "laboratory", "Laboratory"))),
		"code":              concept(it.zh, coding(sysLOINC, it.loinc, it.display)),
		"subject":           subject(),
		"encounter":         enc(),
		"effectiveDateTime": drawn.Format(dateTimeLayout),
		"issued":            issued.Format(dateTimeLayout),
		"performer":         list(ref("Organization", lab.id, "")),
	}
	if it.qualitative {
		pos := p.conditions["hbv"]
		if pos {
			o["valueCodeableConcept"] = concept("阳性", coding(sysSNOMED, "10828004", "Positive"))
			o["interpretation"] = list(concept("", coding(sysInterp, "POS", "Positive")))
		} else {
			o["valueCodeableConcept"] = concept("阴性", coding(sysSNOMED, "260385009", "Negative"))
			o["interpretation"] = list(concept("", coding(sysInterp, "NEG", "Negative")))
		}
		o["referenceRange"] = list(obj{"text": "阴性"})
		return o
	}
	v := p.value(it, r)
	low, high := it.low, it.high
	if !p.male && it.fHigh > 0 {
		low, high = it.fLow, it.fHigh
	}
	quantity := func(x float64) obj {
		return obj{"value": dec(x, it.digits), "unit": it.unit, "system": sysUCUM, "code": it.ucum}
	}
	o["valueQuantity"] = quantity(v)
	rr := obj{}
	if low > 0 {
		rr["low"] = quantity(low)
	}
	if high > 0 {
		rr["high"] = quantity(high)
	}
	o["referenceRange"] = list(rr)
	flag, name := "N", "Normal"
	rounded, _ := dec(v, it.digits).Float64()
	switch {
	case high > 0 && rounded > high:
		flag, name = "H", "High"
	case low > 0 && rounded < low:
		flag, name = "L", "Low"
	}
	o["interpretation"] = list(concept("", coding(sysInterp, flag, name)))
	return o
}

// value draws a result around the patient's own level for the item, so
// that the same test at two hospitals gives similar numbers.
func (p *patient) value(it *labItem, r *rand.Rand) float64 {
	mean := it.mean
	if !p.male {
		mean = it.fMean
	}
	z := p.baseline[itemIndex[it.key]] + r.NormFloat64()*0.35
	v := mean + z*it.sd
	c := p.conditions
	switch {
	case c["diabetes"] && it.key == "Glu":
		v = 150 + z*30
	case c["diabetes"] && it.key == "HbA1c":
		v = 7.6 + z*0.9
	case c["dyslipidaemia"] && it.key == "TC":
		v = 245 + z*25
	case c["dyslipidaemia"] && it.key == "LDL":
		v = 160 + z*22
	case c["dyslipidaemia"] && it.key == "TG":
		v = 210 + z*50
	case c["liver"] && it.key == "ALT":
		v = 78 + z*20
	case c["liver"] && it.key == "AST":
		v = 58 + z*14
	case c["ckd"] && it.key == "Cre":
		v = 2.1 + z*0.4
	case c["ckd"] && it.key == "BUN":
		v = 34 + z*6
	case c["anaemia"] && it.key == "Hb":
		v = 10.2 + z*0.8
	case c["anaemia"] && it.key == "Hct":
		v = 31.5 + z*2
	}
	return math.Max(it.min, v)
}

func (g *region) imaging(p *patient, ep *episode, it *imagingItem, base string, subject, encRef func() obj, doc *role, r *rand.Rand, add func(obj)) {
	in := ep.inst
	isID := "demo-img-" + base
	started := ep.start.Add(time.Duration(30+r.IntN(90)) * time.Minute)
	studyUID := dicomUID(fmt.Sprint(g.seed), "study", base)
	instances := max(1, it.instances+r.IntN(it.instances/4+1)-it.instances/8)
	modality := func() obj { return coding(sysDCM, it.modality, it.modalityName) }
	proc := func() obj { return concept(it.zh, coding(sysLOINC, it.loinc, it.display)) }
	study := obj{
		"resourceType":      "ImagingStudy",
		"id":                isID,
		"identifier":        list(obj{"system": "urn:dicom:uid", "value": "urn:oid:" + studyUID}),
		"status":            "available",
		"modality":          list(modality()),
		"subject":           subject(),
		"encounter":         encRef(),
		"started":           started.Format(dateTimeLayout),
		"numberOfSeries":    integer(1),
		"numberOfInstances": integer(instances),
		"procedureCode":     list(proc()),
		"location":          ref("Location", in.locationID(), in.name),
		"description":       it.zh,
		"series": list(obj{
			"uid":               dicomUID(fmt.Sprint(g.seed), "series", base),
			"number":            integer(1),
			"modality":          modality(),
			"description":       it.zh,
			"numberOfInstances": integer(instances),
			"bodySite":          coding(sysSNOMED, it.bodyCode, it.bodyName),
			"started":           started.Format(dateTimeLayout),
		}),
	}
	if doc != nil {
		study["referrer"] = doc.reference()
	}
	add(study)
	conclusion := it.normal
	if r.IntN(100) < 25 {
		conclusion = it.abnormal
	}
	issued := started.Add(time.Duration(60+r.IntN(24*60)) * time.Minute)
	dr := obj{
		"resourceType":      "DiagnosticReport",
		"id":                "demo-dr-" + base + "-img",
		"status":            "final",
		"category":          list(concept("检查", coding(sysV2Diag, "RAD", "Radiology"))),
		"code":              proc(),
		"subject":           subject(),
		"encounter":         encRef(),
		"effectiveDateTime": started.Format(dateTimeLayout),
		"issued":            issued.Format(dateTimeLayout),
		"performer":         list(ref("Organization", in.id, in.name)),
		"imagingStudy":      list(obj{"reference": "ImagingStudy/" + isID}),
		"conclusion":        conclusion,
	}
	if ro := staff(in, r, imagingStaff); ro != nil {
		dr["resultsInterpreter"] = list(ro.reference())
	}
	// The images: the institution's PACS serves the study over DICOMweb
	// (WADO-RS); the report links a key image (Media), and a
	// DocumentReference points at the study for image-sharing viewers. The
	// recognition check hands these links to the ordering clinician.
	wado := "https://pacs.xietong.example/" + in.id + "/wado-rs/studies/" + studyUID
	mediaID := "demo-media-" + base
	add(obj{
		"resourceType":    "Media",
		"id":              mediaID,
		"status":          "completed",
		"type":            concept("图像", coding("http://terminology.hl7.org/CodeSystem/media-type", "image", "Image")),
		"modality":        concept(it.modalityName, modality()),
		"subject":         subject(),
		"encounter":       encRef(),
		"partOf":          list(obj{"reference": "ImagingStudy/" + isID}),
		"createdDateTime": started.Format(dateTimeLayout),
		"bodySite":        concept(it.bodyName, coding(sysSNOMED, it.bodyCode, it.bodyName)),
		"content":         obj{"contentType": "image/jpeg", "url": wado + "/rendered", "title": it.zh + " 关键图像"},
	})
	dr["media"] = list(obj{"comment": "关键图像", "link": obj{"reference": "Media/" + mediaID}})
	add(dr)
	add(obj{
		"resourceType": "DocumentReference",
		"id":           "demo-docref-" + base,
		"status":       "current",
		"docStatus":    "final",
		"type":         concept("影像检查", coding(sysLOINC, "18748-4", "Diagnostic imaging study")),
		"subject":      subject(),
		"date":         issued.Format(dateTimeLayout),
		"author":       list(ref("Organization", in.id, in.name)),
		"custodian":    ref("Organization", in.id, in.name),
		"description":  it.zh,
		"content":      list(obj{"attachment": obj{"contentType": "application/dicom", "url": wado, "title": it.zh}}),
		"context":      obj{"encounter": list(encRef()), "related": list(obj{"reference": "ImagingStudy/" + isID}, obj{"reference": "DiagnosticReport/" + dr["id"].(string)})},
	})
}
