package search

// UCUMSystem is the system of UCUM unit codes.
const UCUMSystem = "http://unitsofmeasure.org"

// ucumUnit converts a value in one UCUM unit to the canonical unit of its
// dimension: canonical = value*factor + offset.
type ucumUnit struct {
	canon  string
	factor float64
	offset float64
}

// ucumUnits are the common units of clinical quantities this server
// compares across units (issue 4), each with the canonical unit of its
// dimension. Units that convert only with a substance's molar mass (mg/dL
// and mmol/L of glucose) are different dimensions here and never compare;
// arbitrary units ([IU]) compare only with each other. A unit not listed
// compares by its code alone, as before.
var ucumUnits = map[string]ucumUnit{
	// mass
	"kg": {"g", 1e3, 0}, "g": {"g", 1, 0}, "mg": {"g", 1e-3, 0}, "ug": {"g", 1e-6, 0}, "ng": {"g", 1e-9, 0}, "pg": {"g", 1e-12, 0},
	"[lb_av]": {"g", 453.59237, 0}, "[oz_av]": {"g", 28.349523125, 0},
	// length
	"km": {"m", 1e3, 0}, "m": {"m", 1, 0}, "dm": {"m", 0.1, 0}, "cm": {"m", 1e-2, 0}, "mm": {"m", 1e-3, 0}, "um": {"m", 1e-6, 0}, "nm": {"m", 1e-9, 0},
	"[in_i]": {"m", 0.0254, 0}, "[ft_i]": {"m", 0.3048, 0},
	// time (UCUM's mean Julian month and year)
	"ms": {"s", 1e-3, 0}, "s": {"s", 1, 0}, "min": {"s", 60, 0}, "h": {"s", 3600, 0}, "d": {"s", 86400, 0}, "wk": {"s", 604800, 0},
	"mo": {"s", 2629800, 0}, "a": {"s", 31557600, 0},
	// volume
	"L": {"L", 1, 0}, "dL": {"L", 0.1, 0}, "cL": {"L", 1e-2, 0}, "mL": {"L", 1e-3, 0}, "uL": {"L", 1e-6, 0}, "fL": {"L", 1e-15, 0},
	"cm3": {"L", 1e-3, 0}, "m3": {"L", 1e3, 0},
	// mass concentration
	"kg/L": {"g/L", 1e3, 0}, "g/L": {"g/L", 1, 0}, "g/dL": {"g/L", 10, 0}, "g/mL": {"g/L", 1e3, 0}, "mg/L": {"g/L", 1e-3, 0},
	"mg/dL": {"g/L", 1e-2, 0}, "mg/mL": {"g/L", 1, 0}, "ug/L": {"g/L", 1e-6, 0}, "ug/dL": {"g/L", 1e-5, 0}, "ug/mL": {"g/L", 1e-3, 0},
	"ng/L": {"g/L", 1e-9, 0}, "ng/dL": {"g/L", 1e-8, 0}, "ng/mL": {"g/L", 1e-6, 0}, "pg/mL": {"g/L", 1e-9, 0},
	// substance concentration
	"mol/L": {"mol/L", 1, 0}, "mmol/L": {"mol/L", 1e-3, 0}, "umol/L": {"mol/L", 1e-6, 0}, "nmol/L": {"mol/L", 1e-9, 0},
	"pmol/L": {"mol/L", 1e-12, 0}, "mmol/dL": {"mol/L", 1e-2, 0}, "umol/dL": {"mol/L", 1e-5, 0},
	// number concentration (cell counts)
	"/L": {"/L", 1, 0}, "/mL": {"/L", 1e3, 0}, "/uL": {"/L", 1e6, 0}, "/mm3": {"/L", 1e6, 0},
	"10*3/uL": {"/L", 1e9, 0}, "10*3/mL": {"/L", 1e6, 0}, "10*6/uL": {"/L", 1e12, 0}, "10*6/mL": {"/L", 1e9, 0},
	"10*9/L": {"/L", 1e9, 0}, "10*12/L": {"/L", 1e12, 0},
	// fractions
	"%": {"1", 1e-2, 0}, "1": {"1", 1, 0},
	// rates
	"/s": {"/min", 60, 0}, "/min": {"/min", 1, 0}, "/h": {"/min", 1.0 / 60, 0}, "/d": {"/min", 1.0 / 1440, 0},
	// pressure
	"Pa": {"Pa", 1, 0}, "kPa": {"Pa", 1e3, 0}, "bar": {"Pa", 1e5, 0}, "mbar": {"Pa", 1e2, 0},
	"mm[Hg]": {"Pa", 133.322387415, 0}, "cm[H2O]": {"Pa", 98.0665, 0},
	// temperature
	"K": {"K", 1, 0}, "Cel": {"K", 1, 273.15}, "[degF]": {"K", 5.0 / 9, 273.15 - 32*5.0/9},
	// catalytic and arbitrary concentration
	"U/L": {"U/L", 1, 0}, "U/mL": {"U/L", 1e3, 0}, "mU/mL": {"U/L", 1, 0}, "kU/L": {"U/L", 1e3, 0}, "mU/L": {"U/L", 1e-3, 0},
	"[IU]/L": {"[IU]/L", 1, 0}, "[IU]/mL": {"[IU]/L", 1e3, 0}, "m[IU]/mL": {"[IU]/L", 1, 0}, "m[IU]/L": {"[IU]/L", 1e-3, 0},
	// area-normalised and mass-normalised
	"kg/m2": {"g/m2", 1e3, 0}, "g/m2": {"g/m2", 1, 0},
	"mg/kg": {"g/g", 1e-6, 0}, "ug/kg": {"g/g", 1e-9, 0}, "g/kg": {"g/g", 1e-3, 0},
}

// CanonicalUnit converts value in the UCUM unit code to its canonical unit:
// the canonical code and value, and whether the unit is one of the common
// units held here.
func CanonicalUnit(code string, value float64) (string, float64, bool) {
	u, ok := ucumUnits[code]
	if !ok {
		return "", 0, false
	}
	return u.canon, value*u.factor + u.offset, true
}
