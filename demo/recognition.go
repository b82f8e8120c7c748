package demo

import "fmt"

// Recognition (互认) needs to know who qualifies: the institutions in the
// recognition programmes of the default catalogue (京津冀, decision 011)
// with the dates they joined, as OrganizationAffiliations coded with the
// programme, and their external quality assessment (室间质评) results, as
// Basic resources. The hospitals of grade 2 and above and the independent
// lab are members: tertiary hospitals since 2023, secondary ones since a
// year before demo today (so their older results carry no mark), the lab
// in the lab programme only. Every lab member passed the EQA of each item
// the demo's results use, in the year before demo today and in its year.

const (
	csRecProgramme = base + "CodeSystem/recognition-programme"
	csRecognition  = base + "CodeSystem/recognition"
	extRecEQA      = base + "StructureDefinition/recognition-eqa"

	progLab     = "jjj-lab"
	progImaging = "jjj-imaging"
)

var programmeNames = map[string]string{
	progLab:     "京津冀检验结果互认",
	progImaging: "京津冀影像检查结果互认",
}

// recognitionItem is the catalogue's item code of a demo lab item (the
// same unless named here); items not in the catalogue are "".
func recognitionItem(key string) string {
	switch key {
	case "BUN":
		return "Urea"
	case "HDL":
		return "HDL-C"
	case "LDL":
		return "LDL-C"
	}
	return key
}

// programmes are the programmes an institution is in and since when.
func (in *institution) programmes() (progs []string, since string) {
	switch {
	case in.kind == kindLab:
		return []string{progLab}, "2023-01-01"
	case in.isHospital() && in.tertiary():
		return []string{progLab, progImaging}, "2023-01-01"
	case in.isHospital() && in.grade >= "2":
		return []string{progLab, progImaging}, demoToday.AddDate(-1, 0, 0).Format("2006-01-02")
	}
	return nil, ""
}

func (d *directory) recognitionResources() []obj {
	var out []obj
	for _, in := range d.insts {
		progs, since := in.programmes()
		for _, p := range progs {
			out = append(out, obj{
				"resourceType":              "OrganizationAffiliation",
				"id":                        "demo-rp-" + p + "-" + in.code,
				"active":                    true,
				"period":                    obj{"start": since},
				"participatingOrganization": ref("Organization", in.id, in.name),
				"network":                   list(ref("Organization", d.regionID, "通武廊卫生健康协同发展联席会")),
				"code":                      list(concept(programmeNames[p], coding(csRecProgramme, p, programmeNames[p]))),
			})
		}
	}
	for _, in := range d.insts {
		if progs, _ := in.programmes(); len(progs) == 0 {
			continue
		}
		for _, year := range []int{demoToday.Year() - 1, demoToday.Year()} {
			for _, key := range itemOrder {
				item := recognitionItem(key)
				if item == "" {
					continue
				}
				out = append(out, obj{
					"resourceType": "Basic",
					"id":           fmt.Sprintf("demo-eqa-%s-%d-%s", in.code, year, item),
					"code":         concept("室间质评结果", coding(csRecognition, "eqa-result", "EQA result")),
					"subject":      ref("Organization", in.id, in.name),
					"created":      fmt.Sprintf("%d-04-15", year),
					"extension": list(obj{"url": extRecEQA, "extension": list(
						obj{"url": "item", "valueCode": item},
						obj{"url": "year", "valueInteger": year},
						obj{"url": "outcome", "valueCode": "pass"},
					)}),
				})
			}
		}
	}
	return out
}
