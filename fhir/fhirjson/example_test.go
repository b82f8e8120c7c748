package fhirjson_test

import (
	"fmt"

	"github.com/xietong/xietong/fhir/fhirjson"
)

func ExampleDecode() {
	res, err := fhirjson.Decode([]byte(`{"resourceType":"Observation","valueQuantity":{"value":72.50,"unit":"kg"}}`), fhirjson.Limits{})
	if err != nil {
		panic(err)
	}
	q := res["valueQuantity"].(map[string]any)
	fmt.Printf("%T %v\n", q["value"], q["value"])

	_, err = fhirjson.Decode([]byte("{\"resourceType\":\"Patient\",\n \"name\":[{\"family\":\"Li\",\"family\":\"Wang\"}]}"), fhirjson.Limits{})
	fmt.Println(err)
	// Output:
	// json.Number 72.50
	// fhirjson: line 2, column 25 (byte 51), at Patient.name[0].family: duplicate property "family": FHIR forbids repeating a property in one object
}

func ExampleMarshal() {
	res, _ := fhirjson.Decode([]byte(`{"gender":"female","name":[{"given":["Mei"],"family":"Chen <陈>"}],"id":"p1","resourceType":"Patient"}`), fhirjson.Limits{})
	out, _ := fhirjson.Marshal(res)
	fmt.Println(string(out))
	// Output:
	// {"resourceType":"Patient","id":"p1","name":[{"family":"Chen <陈>","given":["Mei"]}],"gender":"female"}
}
