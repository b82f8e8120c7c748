package synth

import "github.com/xietong/xietong/identity/match"

// Metrics are pairwise linkage figures: a pair of records is predicted
// linked when both are in one master, and truly linked when both are of
// one person.
type Metrics struct {
	TruePairs, PredictedPairs, CorrectPairs int64
	Precision, Recall, F1                   float64
}

// Score compares assigned masters (assigned[i] for record i) with truth.
func Score(truth []int, assigned []match.MasterID) Metrics {
	type cell struct {
		m match.MasterID
		p int
	}
	byMaster := map[match.MasterID]int64{}
	byPerson := map[int]int64{}
	byBoth := map[cell]int64{}
	for i, p := range truth {
		byMaster[assigned[i]]++
		byPerson[p]++
		byBoth[cell{assigned[i], p}]++
	}
	var m Metrics
	pairs := func(n int64) int64 { return n * (n - 1) / 2 }
	for _, n := range byMaster {
		m.PredictedPairs += pairs(n)
	}
	for _, n := range byPerson {
		m.TruePairs += pairs(n)
	}
	for _, n := range byBoth {
		m.CorrectPairs += pairs(n)
	}
	m.Precision, m.Recall = 1, 1
	if m.PredictedPairs > 0 {
		m.Precision = float64(m.CorrectPairs) / float64(m.PredictedPairs)
	}
	if m.TruePairs > 0 {
		m.Recall = float64(m.CorrectPairs) / float64(m.TruePairs)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}
