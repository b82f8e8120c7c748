package demo

// The lab and imaging items the demo results use. LOINC codes and units
// follow the facts file (codes marked † there match Synthea's); values are
// in the units of the LOINC property (mass concentrations in mg/dL or g/dL,
// as in Synthea), reference ranges are typical adult ranges.

type labItem struct {
	key, loinc, display, zh string
	unit, ucum              string
	low, high               float64 // reference range; 0 low means none, 0 high means none
	fLow, fHigh             float64 // female range when it differs
	mean, fMean, sd         float64
	digits                  int
	min                     float64 // values never go below
	qualitative             bool
}

var labItems = map[string]*labItem{
	"WBC":   {loinc: "6690-2", display: "Leukocytes [#/volume] in Blood by Automated count", zh: "白细胞计数", unit: "10*3/uL", low: 3.5, high: 9.5, mean: 6.5, sd: 1.6, digits: 2, min: 1},
	"RBC":   {loinc: "789-8", display: "Erythrocytes [#/volume] in Blood by Automated count", zh: "红细胞计数", unit: "10*6/uL", low: 4.3, high: 5.8, fLow: 3.8, fHigh: 5.1, mean: 5.0, fMean: 4.45, sd: 0.35, digits: 2, min: 2},
	"Hb":    {loinc: "718-7", display: "Hemoglobin [Mass/volume] in Blood", zh: "血红蛋白", unit: "g/dL", low: 13.0, high: 17.5, fLow: 11.5, fHigh: 15.0, mean: 14.8, fMean: 13.1, sd: 1.0, digits: 1, min: 5},
	"PLT":   {loinc: "777-3", display: "Platelets [#/volume] in Blood by Automated count", zh: "血小板计数", unit: "10*3/uL", low: 125, high: 350, mean: 230, sd: 55, digits: 0, min: 20},
	"Hct":   {loinc: "4544-3", display: "Hematocrit [Volume Fraction] of Blood by Automated count", zh: "红细胞压积", unit: "%", low: 40, high: 50, fLow: 35, fHigh: 45, mean: 44, fMean: 39, sd: 2.8, digits: 1, min: 15},
	"Glu":   {loinc: "2339-0", display: "Glucose [Mass/volume] in Blood", zh: "葡萄糖", unit: "mg/dL", low: 70, high: 110, mean: 94, sd: 10, digits: 0, min: 45},
	"BUN":   {loinc: "6299-2", display: "Urea nitrogen [Mass/volume] in Blood", zh: "尿素氮", unit: "mg/dL", low: 8, high: 23, mean: 14, sd: 3.5, digits: 1, min: 3},
	"Cre":   {loinc: "38483-4", display: "Creatinine [Mass/volume] in Blood", zh: "肌酐", unit: "mg/dL", low: 0.6, high: 1.2, fLow: 0.5, fHigh: 1.0, mean: 0.92, fMean: 0.72, sd: 0.13, digits: 2, min: 0.3},
	"Ca":    {loinc: "49765-1", display: "Calcium [Mass/volume] in Blood", zh: "钙", unit: "mg/dL", low: 8.6, high: 10.2, mean: 9.4, sd: 0.35, digits: 1, min: 6},
	"Na":    {loinc: "2947-0", display: "Sodium [Moles/volume] in Blood", zh: "钠", unit: "mmol/L", low: 137, high: 147, mean: 141, sd: 2.2, digits: 0, min: 120},
	"K":     {loinc: "6298-4", display: "Potassium [Moles/volume] in Blood", zh: "钾", unit: "mmol/L", low: 3.5, high: 5.3, mean: 4.2, sd: 0.35, digits: 1, min: 2.5},
	"Cl":    {loinc: "2069-3", display: "Chloride [Moles/volume] in Blood", zh: "氯", unit: "mmol/L", low: 99, high: 110, mean: 104, sd: 2.5, digits: 0, min: 85},
	"ALT":   {loinc: "1742-6", display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", zh: "丙氨酸氨基转移酶", unit: "U/L", low: 7, high: 40, mean: 21, sd: 8, digits: 0, min: 4},
	"AST":   {loinc: "1920-8", display: "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", zh: "天门冬氨酸氨基转移酶", unit: "U/L", low: 13, high: 35, mean: 22, sd: 5, digits: 0, min: 6},
	"ALP":   {loinc: "6768-6", display: "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", zh: "碱性磷酸酶", unit: "U/L", low: 45, high: 125, mean: 76, sd: 18, digits: 0, min: 20},
	"TP":    {loinc: "2885-2", display: "Protein [Mass/volume] in Serum or Plasma", zh: "总蛋白", unit: "g/dL", low: 6.5, high: 8.5, mean: 7.2, sd: 0.4, digits: 1, min: 4},
	"Alb":   {loinc: "1751-7", display: "Albumin [Mass/volume] in Serum or Plasma", zh: "白蛋白", unit: "g/dL", low: 4.0, high: 5.5, mean: 4.5, sd: 0.3, digits: 1, min: 2},
	"TBIL":  {loinc: "1975-2", display: "Bilirubin.total [Mass/volume] in Serum or Plasma", zh: "总胆红素", unit: "mg/dL", low: 0.2, high: 1.2, mean: 0.65, sd: 0.22, digits: 2, min: 0.1},
	"TC":    {loinc: "2093-3", display: "Cholesterol [Mass/volume] in Serum or Plasma", zh: "总胆固醇", unit: "mg/dL", high: 200, mean: 180, sd: 30, digits: 0, min: 90},
	"TG":    {loinc: "2571-8", display: "Triglyceride [Mass/volume] in Serum or Plasma", zh: "甘油三酯", unit: "mg/dL", high: 150, mean: 120, sd: 40, digits: 0, min: 35},
	"HDL":   {loinc: "2085-9", display: "Cholesterol in HDL [Mass/volume] in Serum or Plasma", zh: "高密度脂蛋白胆固醇", unit: "mg/dL", low: 40, mean: 52, sd: 11, digits: 0, min: 20},
	"LDL":   {loinc: "18262-6", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", zh: "低密度脂蛋白胆固醇", unit: "mg/dL", high: 130, mean: 108, sd: 26, digits: 0, min: 30},
	"HbA1c": {loinc: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood", zh: "糖化血红蛋白", unit: "%", low: 4.0, high: 6.0, mean: 5.5, sd: 0.35, digits: 1, min: 3.5},
	"TSH":   {loinc: "3016-3", display: "Thyrotropin [Units/volume] in Serum or Plasma", zh: "促甲状腺激素", unit: "mIU/L", ucum: "m[IU]/L", low: 0.27, high: 4.2, mean: 2.0, sd: 0.8, digits: 2, min: 0.05},
	"AFP":   {loinc: "1834-1", display: "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma", zh: "甲胎蛋白", unit: "ng/mL", high: 7, mean: 3, sd: 1.3, digits: 2, min: 0.5},
	"CEA":   {loinc: "2039-6", display: "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma", zh: "癌胚抗原", unit: "ng/mL", high: 5, mean: 2, sd: 0.9, digits: 2, min: 0.2},
	"HBsAg": {loinc: "5196-1", display: "Hepatitis B virus surface Ag [Presence] in Serum", zh: "乙型肝炎病毒表面抗原", qualitative: true},
}

// itemOrder fixes the order of per-patient baselines.
var itemOrder = []string{"WBC", "RBC", "Hb", "PLT", "Hct", "Glu", "BUN", "Cre", "Ca", "Na", "K", "Cl", "ALT", "AST", "ALP", "TP", "Alb", "TBIL", "TC", "TG", "HDL", "LDL", "HbA1c", "TSH", "AFP", "CEA", "HBsAg"}

func init() {
	for i, k := range itemOrder {
		it := labItems[k]
		it.key = k
		if it.ucum == "" {
			it.ucum = it.unit
		}
		if it.fMean == 0 {
			it.fMean = it.mean
		}
		itemIndex[k] = i
	}
}

var itemIndex = map[string]int{}

// labPanel is what one lab report orders.
type labPanel struct {
	key, system, code, display, zh string
	items                          []string
	weight                         int
}

var labPanels = []*labPanel{
	{"CBC", sysLOINC, "58410-2", "Complete blood count (hemogram) panel - Blood by Automated count", "血常规", []string{"WBC", "RBC", "Hb", "PLT", "Hct"}, 25},
	{"BMP", sysLOINC, "51990-0", "Basic metabolic panel - Blood", "生化（肾功能、血糖、电解质）", []string{"Glu", "BUN", "Cre", "Ca", "Na", "K", "Cl"}, 12},
	{"LFT", sysLOINC, "24325-3", "Hepatic function 2000 panel - Serum or Plasma", "肝功能", []string{"ALT", "AST", "ALP", "TP", "Alb", "TBIL"}, 12},
	{"LIPID", sysLOINC, "57698-3", "Lipid panel with direct LDL - Serum or Plasma", "血脂四项", []string{"TC", "TG", "HDL", "LDL"}, 16},
	{"HBA1C", sysLOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "糖化血红蛋白", []string{"HbA1c"}, 12},
	{"TSH", sysLOINC, "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "促甲状腺激素", []string{"TSH"}, 8},
	{"TUMOUR", csLabPanel, "tumour-markers", "", "肿瘤标志物（AFP、CEA）", []string{"AFP", "CEA"}, 7},
	{"HBSAG", sysLOINC, "5196-1", "Hepatitis B virus surface Ag [Presence] in Serum", "乙型肝炎病毒表面抗原", []string{"HBsAg"}, 8},
}

const csLabPanel = base + "CodeSystem/lab-panel"

// basicPanels are those primary-care centres run in their own lab; they
// send the rest to the independent lab.
var basicPanels = map[string]bool{"CBC": true, "BMP": true, "LIPID": true}

type imagingItem struct {
	key, loinc, display, zh string
	modality, modalityName  string
	bodyCode, bodyName      string
	instances               int
	normal, abnormal        string
	weight                  int
}

var imagingItems = []*imagingItem{
	{"XR-CHEST", "36643-5", "XR Chest 2 Views", "胸部正侧位X线摄影", "DX", "Digital Radiography", "51185008", "Thoracic structure", 2,
		"双肺纹理清晰，心影大小形态正常，双膈面光整，肋膈角锐利。", "右下肺野见斑片状模糊影，考虑炎症，建议治疗后复查。", 35},
	{"CT-CHEST", "24627-2", "CT Chest", "胸部CT平扫", "CT", "Computed Tomography", "51185008", "Thoracic structure", 280,
		"胸廓对称，双肺未见明确实质性病变，纵隔内未见肿大淋巴结。", "右肺上叶见一实性小结节，直径约6mm，建议12个月后随访复查。", 25},
	{"US-ABD", "24558-9", "US Abdomen", "腹部超声", "US", "Ultrasound", "113345001", "Abdominal structure", 12,
		"肝、胆、胰、脾、双肾形态大小正常，实质回声未见明显异常。", "肝脏体积稍大，实质回声弥漫性增强，考虑脂肪肝。", 25},
	{"CT-HEAD", "24725-4", "CT Head", "头颅CT平扫", "CT", "Computed Tomography", "69536005", "Head structure", 160,
		"脑实质内未见异常密度影，脑室系统未见扩大，中线结构居中。", "左侧基底节区见小片状低密度影，考虑腔隙性脑梗死。", 10},
	{"MR-BRAIN", "24590-2", "MR Brain", "头颅MRI平扫", "MR", "Magnetic Resonance", "12738006", "Brain structure", 320,
		"脑实质信号未见异常，脑沟脑裂未见增宽，中线结构居中。", "双侧脑室旁白质见多发斑点状长T2信号，考虑脑白质变性。", 5},
}
