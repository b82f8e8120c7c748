package demo

import (
	"hash/fnv"
	"time"

	"github.com/xietong/xietong/directory/vocab"
)

// One-code uses (一码通 用卡记录): since cardUseSince every encounter
// begins with the patient's e-health card scanned at the institution, as
// the card service (package healthcard) records a resolve: an AuditEvent
// of type health-card, subtype resolve, at the institution (agent and
// source.observer), in its city (source.site, the prefecture code), from
// a channel (source.type), for the care step registration, naming the
// patient and the card id. Only the last three months carry uses, as if
// the card had just been rolled out, which also keeps the counting of
// $health-card-usage cheap on the full region.

const (
	csAuditEventType = "https://xietong.dev/fhir/CodeSystem/audit-event-type"
	csCardEvent      = "https://xietong.dev/fhir/CodeSystem/health-card-event"
	csCardChannel    = "https://xietong.dev/fhir/CodeSystem/health-card-channel"
	csCareStep       = "https://xietong.dev/fhir/CodeSystem/care-step"
)

// cardUseSince is when the demo's card uses begin (three months before
// demo today).
var cardUseSince = demoToday.AddDate(0, -3, 0)

// cardChannels with their weights in a hundred: counter, kiosk, doctor
// workstation, official-account app, mini-program.
var cardChannels = []struct {
	code, name string
	weight     uint32
}{
	{"0100", "窗口 counter", 30},
	{"0200", "自助机 self-service kiosk", 20},
	{"0300", "医生工作站 doctor workstation", 25},
	{"0401", "公众号 official-account app", 15},
	{"0402", "小程序 mini-program", 10},
}

// cardUse is the use record of the card scan that opens an encounter. The
// channel comes from a hash of the encounter id, not from the patient's
// random stream, so adding uses changed no other resource.
func (g *region) cardUse(p *patient, ep *episode, encID string) obj {
	in := ep.inst
	h := fnv.New32a()
	h.Write([]byte(encID))
	pick := h.Sum32() % 100
	ch := cardChannels[len(cardChannels)-1]
	for _, c := range cardChannels {
		if pick < c.weight {
			ch = c
			break
		}
		pick -= c.weight
	}
	at := ep.start.Add(-time.Duration(3+h.Sum32()%12) * time.Minute)
	inst := obj{"reference": "Organization/" + in.id, "display": in.name, "identifier": obj{"system": vocab.SystemInstitutionCode, "value": in.code}}
	return obj{
		"resourceType":   "AuditEvent",
		"id":             "demo-use-" + encID[len("demo-enc-"):],
		"type":           coding(csAuditEventType, "health-card", "电子健康卡 e-health card use"),
		"subtype":        list(coding(csCardEvent, "resolve", "用卡 resolve")),
		"action":         "E",
		"recorded":       at.Format("2006-01-02T15:04:05.000Z07:00"),
		"outcome":        "0",
		"purposeOfEvent": list(concept("", coding(csCareStep, "registration", "挂号 registration"))),
		"agent":          list(obj{"who": inst, "requestor": true}),
		"source": obj{
			"site":     in.div.code[:4] + "00",
			"observer": inst,
			"type":     list(coding(csCardChannel, ch.code, ch.name)),
		},
		"entity": list(obj{
			"what":   obj{"reference": "Patient/" + p.id},
			"role":   coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
			"detail": list(obj{"type": "card-id", "valueString": ehcID(g.seed, p.idNumber)}, obj{"type": "code-type", "valueString": "static"}),
		}),
	}
}
