package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"regexp"
	"strings"
)

// String functions, regular expressions and encodings.

// ---- strings ----

// strInput returns the single string input; ok false for empty.
func strInput(in Collection, fn string) (string, bool, error) {
	switch len(in) {
	case 0:
		return "", false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if str, ok := s.v.(string); ok {
				return str, true, nil
			}
		}
		return "", false, execErr("%s() expects a String input, got %s", fn, in[0].TypeName())
	}
	return "", false, execErr("%s() expects a single input, got %d items", fn, len(in))
}

func strArg(c *evalCtx, f evalFunc, focus Collection) (string, bool, error) {
	v, err := evalArg(c, f, focus)
	if err != nil {
		return "", false, err
	}
	return singletonString(v)
}

func strPred(pred func(s, sub string) bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		s, ok, err := strInput(in, "string function")
		if err != nil || !ok {
			return nil, err
		}
		a, ok, err := strArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		return boolColl(pred(s, a)), nil
	}
}

func strMap(f func(string) string) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		s, ok, err := strInput(in, "string function")
		if err != nil || !ok {
			return nil, err
		}
		return Collection{stringValue(f(s))}, nil
	}
}

// upper applies the full Unicode upper-case mapping for the one common
// character whose upper case is two characters (ß → SS).
func upper(s string) string {
	return strings.ReplaceAll(strings.ToUpper(s), "ß", "SS")
}

// runeIndex converts a byte index to a character (rune) index.
func runeIndex(s string, byteIdx int) int {
	if byteIdx < 0 {
		return byteIdx
	}
	return len([]rune(s[:byteIdx]))
}

func fnIndexOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "indexOf")
	if err != nil || !ok {
		return nil, err
	}
	a, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(runeIndex(s, strings.Index(s, a))))}, nil
}

func fnLastIndexOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "lastIndexOf")
	if err != nil || !ok {
		return nil, err
	}
	a, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(runeIndex(s, strings.LastIndex(s, a))))}, nil
}

func fnSubstring(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "substring")
	if err != nil || !ok {
		return nil, err
	}
	start, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	r := []rune(s)
	if start < 0 || start >= int64(len(r)) {
		return nil, nil
	}
	end := int64(len(r))
	if len(args) == 2 {
		n, ok, err := intArg(c, args[1], focus)
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 {
				n = 0
			}
			if start+n < end {
				end = start + n
			}
		}
	}
	return Collection{stringValue(string(r[start:end]))}, nil
}

func fnReplace(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "replace")
	if err != nil || !ok {
		return nil, err
	}
	pat, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	rep, ok, err := strArg(c, args[1], focus)
	if err != nil || !ok {
		return nil, err
	}
	if pat == "" && len(rep)*(len(s)+1) > maxStringLen || pat != "" && len(rep) > len(pat) && len(s)/len(pat)*len(rep) > maxStringLen {
		return nil, execErr("string result longer than 16 MiB")
	}
	return Collection{stringValue(strings.ReplaceAll(s, pat, rep))}, nil
}

func fnLength(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	s, ok, err := strInput(in, "length")
	if err != nil || !ok {
		return nil, err
	}
	return Collection{intValue(int64(len([]rune(s))))}, nil
}

func fnToChars(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	s, ok, err := strInput(in, "toChars")
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, r := range s {
		out = append(out, stringValue(string(r)))
	}
	return out, nil
}

func fnSplit(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "split")
	if err != nil || !ok {
		return nil, err
	}
	sep, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var out Collection
	for _, p := range strings.Split(s, sep) {
		out = append(out, stringValue(p))
	}
	return out, nil
}

func fnJoin(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	sep := ""
	if len(args) == 1 {
		s, ok, err := strArg(c, args[0], focus)
		if err != nil {
			return nil, err
		}
		if ok {
			sep = s
		}
	}
	parts := make([]string, 0, len(in))
	for _, it := range in {
		s, ok := system(it)
		str, isStr := s.v.(string)
		if !ok || !isStr {
			return nil, execErr("join() expects strings, got %s", it.TypeName())
		}
		parts = append(parts, str)
	}
	n := len(sep) * len(parts)
	for _, p := range parts {
		n += len(p)
	}
	if n > maxStringLen {
		return nil, execErr("string result longer than 16 MiB")
	}
	return Collection{stringValue(strings.Join(parts, sep))}, nil
}

// ---- regular expressions ----

// regexCache holds compiled patterns (patterns usually are literals in
// the expression); it is bounded because patterns may also come from data.
var regexCache boundedCache

func compileRegex(pat string, full bool) (*regexp.Regexp, error) {
	key := pat
	if full {
		key = "\x00" + pat
	}
	if r, ok := regexCache.load(key); ok {
		return r.(*regexp.Regexp), nil
	}
	p := "(?s)" + pat
	if full {
		p = "(?s)^(?:" + pat + ")$"
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, execErr("invalid regular expression %q: %v", pat, err)
	}
	regexCache.store(key, re)
	return re, nil
}

func fnMatches(full bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		s, ok, err := strInput(in, "matches")
		if err != nil || !ok {
			return nil, err
		}
		pat, ok, err := strArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		re, err := compileRegex(pat, full)
		if err != nil {
			return nil, err
		}
		return boolColl(re.MatchString(s)), nil
	}
}

var dollarGroup = regexp.MustCompile(`\$(\d+)`)

func fnReplaceMatches(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "replaceMatches")
	if err != nil || !ok {
		return nil, err
	}
	pat, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	rep, ok, err := strArg(c, args[1], focus)
	if err != nil || !ok {
		return nil, err
	}
	if pat == "" {
		return Collection{stringValue(s)}, nil
	}
	re, err := compileRegex(pat, false)
	if err != nil {
		return nil, err
	}
	rep = dollarGroup.ReplaceAllString(rep, "$${$1}")
	return Collection{stringValue(re.ReplaceAllString(s, rep))}, nil
}

// ---- encoding ----

func fnEncode(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "encode")
	if err != nil || !ok {
		return nil, err
	}
	enc, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch enc {
	case "base64":
		return Collection{stringValue(base64.StdEncoding.EncodeToString([]byte(s)))}, nil
	case "urlbase64":
		return Collection{stringValue(base64.URLEncoding.EncodeToString([]byte(s)))}, nil
	case "hex":
		return Collection{stringValue(hex.EncodeToString([]byte(s)))}, nil
	}
	return nil, execErr("unknown encoding %q", enc)
}

func fnDecode(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "decode")
	if err != nil || !ok {
		return nil, err
	}
	enc, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	var b []byte
	switch enc {
	case "base64":
		b, err = base64.StdEncoding.DecodeString(s)
	case "urlbase64":
		b, err = base64.URLEncoding.DecodeString(s)
	case "hex":
		b, err = hex.DecodeString(s)
	default:
		return nil, execErr("unknown encoding %q", enc)
	}
	if err != nil {
		return nil, nil
	}
	return Collection{stringValue(string(b))}, nil
}

func fnEscape(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "escape")
	if err != nil || !ok {
		return nil, err
	}
	kind, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch kind {
	case "html":
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
		return Collection{stringValue(r.Replace(s))}, nil
	case "json":
		b, _ := json.Marshal(s)
		out := string(b[1 : len(b)-1])
		out = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(out)
		return Collection{stringValue(out)}, nil
	}
	return nil, execErr("unknown escape %q", kind)
}

func fnUnescape(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	s, ok, err := strInput(in, "unescape")
	if err != nil || !ok {
		return nil, err
	}
	kind, ok, err := strArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	switch kind {
	case "html":
		return Collection{stringValue(html.UnescapeString(s))}, nil
	case "json":
		var out string
		if err := json.Unmarshal([]byte(`"`+strings.ReplaceAll(s, `"`, `\"`)+`"`), &out); err != nil {
			return nil, nil
		}
		return Collection{stringValue(out)}, nil
	}
	return nil, execErr("unknown escape %q", kind)
}
