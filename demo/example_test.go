package demo_test

import (
	"fmt"
	"slices"

	"github.com/xietong/xietong/demo"
)

// Generate streams the region as transaction Bundles; here the small test
// region is counted by resource type.
func ExampleGenerate() {
	counts := map[string]int{}
	bundles := 0
	err := demo.Generate(demo.Small(), func(bundle map[string]any) error {
		bundles++
		for _, e := range bundle["entry"].([]any) {
			res := e.(map[string]any)["resource"].(map[string]any)
			counts[res["resourceType"].(string)]++
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	slices.Sort(types)
	fmt.Println(bundles, "bundles")
	for _, t := range types {
		fmt.Println(t, counts[t])
	}
	// Output:
	// 13 bundles
	// AuditEvent 94
	// Basic 864
	// DiagnosticReport 686
	// DocumentReference 84
	// Encounter 573
	// Group 4
	// HealthcareService 183
	// ImagingStudy 84
	// Location 41
	// Media 84
	// Observation 2272
	// Organization 299
	// OrganizationAffiliation 107
	// Patient 205
	// Practitioner 60
	// PractitionerRole 63
}
