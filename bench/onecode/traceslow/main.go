// Command traceslow explains where the slow calls of a bench/onecode
// execution trace (-trace, each call a region "resolve" or "first visit")
// spent their time: for the calls at or above -slow and for the rest, the
// mean milliseconds per call in each goroutine state (running, runnable,
// waiting with the blocking site, in a system call with its site), the
// overlap with the GC's mark phase, stop-the-world pauses and mark assists,
// and, while a call waited for a processor, which goroutines held the
// processors. It reads the text of `go tool trace -d=parsed` (a debugging
// format of the Go toolchain: this tool is for the decision records'
// evidence, not for CI), so it depends on nothing but the standard library:
//
//	go tool trace -d=parsed t.trace | go run ./bench/onecode/traceslow -slow 3
//
// Decision 034 has what it found.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type gstate struct {
	state  string
	since  int64
	label  string
	p      int
	wsite  string // where it blocked / syscall site
	create int64
}

type region struct {
	typ        string
	g          int64
	begin, end int64
	create     int64
	acc        map[string]int64 // category -> ns
	block      map[string]float64
}

func field(line, key string) string {
	i := strings.Index(line, key+"=")
	if i < 0 {
		return ""
	}
	s := line[i+len(key)+1:]
	if strings.HasPrefix(s, "\"") {
		j := strings.Index(s[1:], "\"")
		return s[1 : j+1]
	}
	if j := strings.IndexByte(s, ' '); j >= 0 {
		return s[:j]
	}
	return s
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func main() {
	thr := flag.Float64("slow", 2, "slow region threshold, ms")
	flag.Parse()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	gs := map[int64]*gstate{}
	get := func(id int64) *gstate {
		g := gs[id]
		if g == nil {
			g = &gstate{state: "Undetermined"}
			gs[id] = g
		}
		return g
	}
	open := map[int64]*region{} // by goroutine
	var done []*region
	gcMark := false
	assist := map[int64]bool{}
	stw := false
	var last int64
	// running goroutine per P
	running := map[int64]bool{}
	advance := func(t int64) {
		if last == 0 || t <= last {
			if last == 0 {
				last = t
			}
			return
		}
		dt := t - last
		last = t
		if len(open) == 0 {
			return
		}
		var runLabels []string
		for id := range running {
			runLabels = append(runLabels, get(id).label)
		}
		for id, r := range open {
			g := get(id)
			cat := g.state
			switch g.state {
			case "Waiting", "Syscall":
				cat += ":" + g.wsite
			case "Runnable":
				for _, l := range runLabels {
					r.block[l] += float64(dt) / float64(len(runLabels))
				}
				if len(runLabels) == 0 {
					r.block["(no P running G)"] += float64(dt)
				}
			}
			r.acc["state "+cat] += dt
			if gcMark {
				r.acc["overlap GC mark phase"] += dt
			}
			if stw {
				r.acc["overlap STW"] += dt
			}
			if assist[id] {
				r.acc["in GC mark assist"] += dt
			}
		}
	}
	var cur struct {
		kind   string // "Stack" or "TransitionStack"
		owner  int64
		frames []string
	}
	flushStack := func() {
		if cur.kind != "" && len(cur.frames) > 0 {
			g := get(cur.owner)
			// label: bottom-most frame
			bottom := cur.frames[len(cur.frames)-1]
			if g.label == "" || strings.HasPrefix(g.label, "runtime.") {
				g.label = bottom
			}
			if cur.kind == "TransitionStack" && (g.state == "Waiting" || g.state == "Syscall") {
				// top non-runtime frame that is informative
				site := ""
				for _, f := range cur.frames {
					if strings.HasPrefix(f, "runtime.") || strings.HasPrefix(f, "internal/") || strings.HasPrefix(f, "syscall.") || strings.HasPrefix(f, "sync.") || strings.HasPrefix(f, "modernc.org/libc.") {
						continue
					}
					site = f
					break
				}
				if len(cur.frames) > 0 {
					site = strings.TrimPrefix(cur.frames[0], "") + " <- " + site
				}
				g.wsite = site
			}
		}
		cur.kind, cur.frames = "", nil
	}
	var lastG, lastGoID int64
	var lastWasTransition bool
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "M=") {
			flushStack()
			t := atoi(field(line, "Time"))
			advance(t)
			G := atoi(field(line, "G"))
			lastG = G
			lastWasTransition = false
			switch {
			case strings.Contains(line, " StateTransition "):
				if id := field(line, "GoID"); id != "" {
					gid := atoi(id)
					lastGoID, lastWasTransition = gid, true
					tr := strings.Fields(line)
					var ft string
					for _, f := range tr {
						if strings.Contains(f, "->") {
							ft = f
						}
					}
					parts := strings.SplitN(ft, "->", 2)
					g := get(gid)
					to := parts[1]
					if parts[0] == "NotExist" {
						g.create = t
					}
					if g.state == "Running" {
						delete(running, gid)
					}
					g.state, g.since = to, t
					if to == "Running" {
						running[gid] = true
						g.wsite = ""
					}
					if to == "Waiting" {
						g.wsite = field(line, "Reason")
					}
					if to == "Syscall" {
						g.wsite = "syscall"
					}
					if to == "NotExist" {
						delete(running, gid)
					}
				}
			case strings.Contains(line, " RegionBegin ") && (field(line, "Type") == "resolve" || field(line, "Type") == "first visit"):
				open[G] = &region{typ: field(line, "Type"), g: G, begin: t, create: get(G).create, acc: map[string]int64{}, block: map[string]float64{}}
			case strings.Contains(line, " RegionEnd "):
				if r := open[G]; r != nil {
					r.end = t
					done = append(done, r)
					delete(open, G)
				}
			case strings.Contains(line, "RangeBegin") || strings.Contains(line, "RangeActive"):
				name := field(line, "Name")
				switch {
				case name == "GC concurrent mark phase":
					gcMark = true
				case strings.HasPrefix(name, "stop-the-world"):
					stw = true
				case name == "GC mark assist":
					sc := field(line, "Scope")
					assist[atoi(strings.TrimSuffix(strings.TrimPrefix(sc, "Goroutine("), ")"))] = true
				}
			case strings.Contains(line, "RangeEnd"):
				name := field(line, "Name")
				switch {
				case name == "GC concurrent mark phase":
					gcMark = false
				case strings.HasPrefix(name, "stop-the-world"):
					stw = false
				case name == "GC mark assist":
					sc := field(line, "Scope")
					delete(assist, atoi(strings.TrimSuffix(strings.TrimPrefix(sc, "Goroutine("), ")")))
				}
			case strings.Contains(line, " Label "):
				get(G).label = field(line, "Label")
			}
			continue
		}
		tl := strings.TrimSpace(line)
		if tl == "Stack=" {
			flushStack()
			cur.kind, cur.owner = "Stack", lastG
			continue
		}
		if tl == "TransitionStack=" {
			flushStack()
			owner := lastG
			if lastWasTransition {
				owner = lastGoID
			}
			cur.kind, cur.owner = "TransitionStack", owner
			continue
		}
		if cur.kind != "" && strings.Contains(tl, " @ 0x") {
			cur.frames = append(cur.frames, strings.SplitN(tl, " @ ", 2)[0])
		}
	}
	flushStack()
	sort.Slice(done, func(i, j int) bool { return done[i].end-done[i].begin > done[j].end-done[j].begin })
	fmt.Printf("regions %d\n", len(done))
	report := func(name string, rs []*region) {
		if len(rs) == 0 {
			return
		}
		acc := map[string]int64{}
		block := map[string]float64{}
		var tot, pre int64
		for _, r := range rs {
			tot += r.end - r.begin
			if r.create > 0 {
				pre += r.begin - r.create
			}
			for k, v := range r.acc {
				acc[k] += v
			}
			for k, v := range r.block {
				block[k] += v
			}
		}
		n := float64(len(rs))
		inGC := 0
		for _, r := range rs {
			if r.acc["overlap GC mark phase"] > 0 {
				inGC++
			}
		}
		fmt.Printf("\n== %s: n %d, mean region %.2f ms, mean creation->region %.2f ms, %d overlapping a GC mark phase\n", name, len(rs), float64(tot)/n/1e6, float64(pre)/n/1e6, inGC)
		type kv struct {
			k string
			v float64
		}
		var l []kv
		for k, v := range acc {
			l = append(l, kv{k, float64(v)})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		for i, x := range l {
			if i > 25 {
				break
			}
			fmt.Printf("  %8.3f ms/call  %s\n", x.v/n/1e6, x.k)
		}
		l = l[:0]
		for k, v := range block {
			l = append(l, kv{k, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		fmt.Printf("  runnable behind (share of P time while this call waited for a P):\n")
		for i, x := range l {
			if i > 12 {
				break
			}
			fmt.Printf("  %8.3f ms/call  %s\n", x.v/n/1e6, x.k)
		}
	}
	thrNs := int64(*thr * 1e6)
	for _, typ := range []string{"resolve", "first visit"} {
		var slow, fast []*region
		for _, r := range done {
			if r.typ != typ {
				continue
			}
			if r.end-r.begin >= thrNs {
				slow = append(slow, r)
			} else {
				fast = append(fast, r)
			}
		}
		report(fmt.Sprintf("%s slow (>= %.1f ms)", typ, *thr), slow)
		report(typ+" the rest", fast)
	}
	fmt.Println("\nslowest 15:")
	for i, r := range done {
		if i >= 15 {
			break
		}
		fmt.Printf("  %s %.2f ms (pre %.2f):", r.typ, float64(r.end-r.begin)/1e6, float64(r.begin-r.create)/1e6)
		type kv struct {
			k string
			v int64
		}
		var l []kv
		for k, v := range r.acc {
			l = append(l, kv{k, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		for j, x := range l {
			if j > 4 {
				break
			}
			fmt.Printf(" [%s %.2f]", x.k, float64(x.v)/1e6)
		}
		fmt.Println()
	}
}
