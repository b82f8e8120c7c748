package demo

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Recognition decisions (互认决定) belong in the demo, but whether a prior
// result is recognisable is the recognition engine's judgement (its
// catalogue windows, memberships, EQA), which this package must not copy.
// So the generator names the moments a decision was taken, Repeats, and
// the loader of `serve --demo` asks the engine's check at each of them and
// records what a clinician decided: most accept a recognisable prior
// result, some re-test with one of the nine official reasons.

// Repeat is a repeated test: patient Patient ordered Item again at
// Orderer (an Organization id) at At, having had it done elsewhere before.
type Repeat struct {
	ID      string // a stable id for the decision: "demo-dec-<patient>-<nn>"
	Patient string
	Orderer string
	At      time.Time
	Item    string // the recognition catalogue's item code
	// Accept is whether the clinician accepts a recognisable prior result;
	// otherwise Reason (1-9) and Note say why they re-test.
	Accept bool
	Reason string
	Note   string
}

// retestNotes are the notes a clinician writes with each official reason
// (recognition.RetestReasons: 国卫医发〔2022〕6号).
var retestNotes = map[string]string{
	"1": "既往结果与临床表现不符", "2": "疾病进展快，需动态观察", "3": "术前检查需要",
	"4": "急诊抢救需要", "5": "医疗纠纷/司法鉴定需要", "6": "患者要求复查",
	"7": "既往结果质控存疑", "8": "既往结果时间过久", "9": "经治医师认为需要复查",
}

// Repeats lists, in order, the repeated lab panels of the region of cfg:
// the first catalogue item of each panel of every repeat encounter, at
// the repeat's institution and time. Whether the clinician accepts
// (four in five) and which reason a re-test gives come from a hash of the
// id, not from a random stream, so adding them changed nothing else.
func Repeats(cfg Config, fn func(Repeat)) {
	cfg = cfg.withDefaults()
	g := newRegion(cfg, buildDirectory(cfg))
	for n := 1; n <= cfg.Patients; n++ {
		p := g.patient(n)
		for _, ep := range p.episodes {
			if !ep.repeat {
				continue
			}
			for k, pn := range ep.panels {
				item := ""
				for _, key := range pn.items {
					if item = recognitionItem(key); item != "" {
						break
					}
				}
				if item == "" {
					continue
				}
				id := fmt.Sprintf("demo-dec-%06d-%02d-%d", p.n, ep.n, k+1)
				h := fnv.New32a()
				h.Write([]byte(id))
				x := h.Sum32()
				rp := Repeat{ID: id, Patient: p.id, Orderer: ep.inst.id, At: ep.start, Item: item, Accept: x%5 != 0}
				if !rp.Accept {
					rp.Reason = fmt.Sprint(1 + (x/5)%9)
					rp.Note = retestNotes[rp.Reason]
				}
				fn(rp)
			}
		}
	}
}
