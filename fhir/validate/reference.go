package validate

import (
	"slices"
	"strings"

	"github.com/xietong/xietong/fhir/model"
)

// reference checks Reference.reference's form and that Reference.type
// agrees with it.
func (w *walker) reference(m map[string]any) {
	refType := ""
	ref, _ := m["reference"].(string)
	if ref != "" {
		w.push("reference")
		refType = w.referenceTarget(ref)
		w.pop()
	}
	typ, _ := m["type"].(string)
	if typ == "" {
		return
	}
	w.push("type")
	defer w.pop()
	switch {
	case model.IsResourceType(typ):
		if refType != "" && refType != typ {
			w.errorf(CodeInvalid, "type '%s' does not match the type of the reference '%s' (%s)", typ, ref, refType)
		}
	case isAbsoluteURI(typ):
		// A logical model: nothing to compare.
	default:
		w.errorf(CodeCodeInvalid, "'%s' is not a resource type (Reference.type is a resource type name, or an absolute URL for logical models)", typ)
	}
}

// referenceTargetAllowed checks that a Reference names a resource type the
// element may point to (Observation.subject: Patient, Group, Device or
// Location), by its literal reference or, without one, its type. Local
// (#id), urn: and other non-FHIR URLs name no type and are not checked.
func (w *walker) referenceTargetAllowed(m map[string]any, ei *elemInfo) {
	targets := ei.e.Targets
	if len(targets) == 0 || slices.Contains(targets, "Resource") {
		return
	}
	ref, _ := m["reference"].(string)
	typ, key := namedType(ref), "reference"
	if ref == "" {
		typ, _ = m["type"].(string)
		key = "type"
	}
	if typ == "" || !model.IsResourceType(typ) || slices.Contains(targets, typ) {
		return
	}
	w.push(key)
	defer w.pop()
	w.errorf(CodeInvalid, "%s may refer to %s, not %s", ei.path, strings.Join(targets, ", "), typ)
}

// namedType is the resource type a literal reference names, or "" (the
// forms are checked by referenceTarget).
func namedType(ref string) string {
	if ref == "" || ref[0] == '#' || strings.HasPrefix(ref, "urn:") {
		return ""
	}
	if isAbsoluteURI(ref) {
		return urlType(ref)
	}
	if typ, _, ok := strings.Cut(ref, "?"); ok {
		return typ
	}
	typ, _, _ := strings.Cut(ref, "/")
	return typ
}

// urlType is the resource type an absolute reference names: a FHIR
// RESTful URL ends in Type/id or Type/id/_history/version; other URLs are
// allowed and name no type ("").
func urlType(ref string) string {
	if q := strings.IndexAny(ref, "?#"); q >= 0 {
		ref = ref[:q]
	}
	segs := strings.Split(ref, "/")
	n := len(segs)
	switch {
	case n >= 4 && segs[n-2] == "_history" && model.IsResourceType(segs[n-4]):
		return segs[n-4]
	case n >= 2 && model.IsResourceType(segs[n-2]):
		return segs[n-2]
	}
	return ""
}

// referenceTarget checks the form of a literal reference and returns the
// resource type it names, if it names one.
func (w *walker) referenceTarget(ref string) string {
	const forms = "expected Type/id, Type/id/_history/version, an absolute URL, '#id' of a contained resource, urn:uuid: or urn:oid:"
	switch {
	case ref[0] == '#':
		w.noteLocal(ref, true)
		return ""
	case strings.HasPrefix(ref, "urn:uuid:"):
		if ok, why := checkUUID(ref); !ok {
			w.errorf(CodeValue, "%s is not a valid reference%s", quote(ref), why)
		}
		return ""
	case strings.HasPrefix(ref, "urn:oid:"):
		if ok, why := checkOID(ref); !ok {
			w.errorf(CodeValue, "%s is not a valid reference%s", quote(ref), why)
		}
		return ""
	}
	if ok, _ := checkURI(ref); !ok {
		w.errorf(CodeValue, "%s is not a valid reference: it contains whitespace", quote(ref))
		return ""
	}
	if isAbsoluteURI(ref) {
		return urlType(ref)
	}
	// A conditional reference (transactions): Type?search.
	if typ, _, ok := strings.Cut(ref, "?"); ok {
		if !model.IsResourceType(typ) {
			w.errorf(CodeValue, "%s is not a valid conditional reference: '%s' is not a resource type", quote(ref), typ)
			return ""
		}
		return typ
	}
	segs := strings.Split(ref, "/")
	if len(segs) != 2 && !(len(segs) == 4 && segs[2] == "_history") {
		w.errorf(CodeValue, "%s is not a valid reference (%s)", quote(ref), forms)
		return ""
	}
	if !model.IsResourceType(segs[0]) {
		w.errorf(CodeValue, "%s names an unknown resource type '%s'", quote(ref), segs[0])
		return ""
	}
	if ok, why := checkID(segs[1]); !ok || segs[1] == "" {
		w.errorf(CodeValue, "%s has an invalid id '%s'%s", quote(ref), segs[1], why)
		return segs[0]
	}
	if len(segs) == 4 {
		if ok, why := checkID(segs[3]); !ok || segs[3] == "" {
			w.errorf(CodeValue, "%s has an invalid version id '%s'%s", quote(ref), segs[3], why)
		}
	}
	return segs[0]
}

// isAbsoluteURI reports whether s starts with a URI scheme ("http:", "urn:").
func isAbsoluteURI(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			return true
		default:
			return false
		}
	}
	return false
}

// extension checks ext-1: an extension has a value[x] or nested
// extensions, not both and not neither.
func (w *walker) extension(m map[string]any) {
	hasValue := false
	for k := range m {
		if strings.HasPrefix(k, "value") || strings.HasPrefix(k, "_value") {
			hasValue = true
			break
		}
	}
	_, hasExt := m["extension"]
	switch {
	case hasValue && hasExt:
		w.errorf(CodeInvariant, "an extension must have either a value[x] or nested extensions, not both (ext-1)")
	case !hasValue && !hasExt:
		w.errorf(CodeInvariant, "an extension must have a value[x] or nested extensions (ext-1)")
	}
}
