package recognition

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed default_catalogue.json
var defaultCatalogue []byte

// Default is the catalogue shipped with the binary: the 京津冀 lab list
// (programme jjj-lab: the 48 items of the 2023-2024 list that are known,
// with PT and INR of the 2022 list, and TBIL, whose code the regional
// facts list among the candidates and the Synthea data uses) and an
// imaging list (jjj-imaging),
// with the LOINC codes of the regional facts and one local code per item.
// Windows and prices are defaults a commission changes through the API.
func Default() *Catalogue {
	c, err := ParseCatalogue(defaultCatalogue, "json")
	if err != nil {
		panic("recognition: the embedded catalogue is invalid: " + err.Error())
	}
	return c
}

// ParseCatalogue reads a catalogue file. format is "json" (the Catalogue
// structure) or "csv" with the header
//
//	programme,programmeName,item,name,nameEn,category,codes,specimen,windowDays,price,minGrade,eqa
//
// one row per item, codes separated by spaces ("system|code system|code"),
// eqa "true" or "false". Errors name the line or field.
func ParseCatalogue(data []byte, format string) (*Catalogue, error) {
	var c Catalogue
	switch format {
	case "json":
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return nil, fmt.Errorf("catalogue JSON: %w", err)
		}
	case "csv":
		r := csv.NewReader(bytes.NewReader(data))
		head, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("catalogue CSV: %w", err)
		}
		want := strings.Split(csvHeader, ",")
		if len(head) != len(want) {
			return nil, fmt.Errorf("catalogue CSV: the header must be %s", csvHeader)
		}
		for i := range want {
			if strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff")) != want[i] {
				return nil, fmt.Errorf("catalogue CSV: column %d is %q, want %q (header %s)", i+1, head[i], want[i], csvHeader)
			}
		}
		progs := map[string]*Programme{}
		for line := 2; ; line++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("catalogue CSV: %w", err)
			}
			p := progs[rec[0]]
			if p == nil {
				p = &Programme{Code: rec[0], Name: rec[1]}
				progs[rec[0]] = p
				c.Programmes = append(c.Programmes, p)
			}
			w, err := strconv.Atoi(rec[8])
			if err != nil {
				return nil, fmt.Errorf("catalogue CSV line %d: windowDays %q is not a whole number", line, rec[8])
			}
			price, err := strconv.ParseFloat(rec[9], 64)
			if err != nil {
				return nil, fmt.Errorf("catalogue CSV line %d: price %q is not a number", line, rec[9])
			}
			eqa, err := strconv.ParseBool(rec[11])
			if err != nil {
				return nil, fmt.Errorf("catalogue CSV line %d: eqa %q is not true or false", line, rec[11])
			}
			p.Items = append(p.Items, &Item{Code: rec[2], Name: rec[3], NameEn: rec[4], Category: rec[5],
				Codes: strings.Fields(rec[6]), Specimen: rec[7], WindowDays: w, Price: price, MinGrade: rec[10], EQA: eqa})
		}
	default:
		return nil, fmt.Errorf("catalogue format %q: use json or csv", format)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

const csvHeader = "programme,programmeName,item,name,nameEn,category,codes,specimen,windowDays,price,minGrade,eqa"
