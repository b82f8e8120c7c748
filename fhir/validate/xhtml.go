package validate

import (
	"strings"
)

// narrativeElements are the elements txt-1 allows: the basic HTML of HTML
// 4.0 chapters 7-11 and 15, links, images (the list the HL7 validator uses).
var narrativeElements = map[string]bool{
	"p": true, "br": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"a": true, "span": true, "b": true, "em": true, "i": true, "strong": true, "small": true, "big": true,
	"tt": true, "dfn": true, "q": true, "var": true, "abbr": true, "acronym": true, "cite": true,
	"blockquote": true, "hr": true, "address": true, "bdo": true, "kbd": true, "sub": true, "sup": true,
	"ul": true, "ol": true, "li": true, "dl": true, "dt": true, "dd": true, "pre": true, "table": true,
	"caption": true, "colgroup": true, "col": true, "thead": true, "tr": true, "tfoot": true, "tbody": true,
	"th": true, "td": true, "code": true, "samp": true, "img": true, "map": true, "area": true,
}

const xhtmlNS = "http://www.w3.org/1999/xhtml"

// xhtml checks a Narrative.div: one well-formed <div> in the XHTML
// namespace, only the elements txt-1 allows, no scripting (event handler
// attributes, javascript: URLs), and some content (txt-2). It reports the
// first problem only.
func (w *walker) xhtml(s string) {
	if why := checkXHTML(s); why != "" {
		w.errorf(CodeValue, "invalid narrative: %s", why)
	}
}

func checkXHTML(s string) string {
	if !strings.HasPrefix(s, "<div") {
		return "the XHTML must be a single <div> element (it starts with " + quote(firstRunes(s, 20)) + ")"
	}
	var stack []string
	rootClosed, content := false, false
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '<' {
			if !isSpace(c) {
				if rootClosed || len(stack) == 0 {
					return "text after the closing </div>: the XHTML must be a single <div> element"
				}
				content = true
			}
			i++
			continue
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return "unterminated comment"
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest, "]]>")
			if end < 0 {
				return "unterminated CDATA section"
			}
			content = true
			i += end + 3
			continue
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			return "DOCTYPE declarations and processing instructions are not allowed in a narrative"
		case strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return "unterminated closing tag"
			}
			name := strings.TrimRight(rest[2:end], " \t\r\n")
			if len(stack) == 0 || stack[len(stack)-1] != name {
				if len(stack) == 0 {
					return "closing tag </" + name + "> without an opening tag"
				}
				return "closing tag </" + name + "> does not match <" + stack[len(stack)-1] + ">: the XHTML must be well-formed"
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				rootClosed = true
			}
			i += end + 1
			continue
		}
		// An opening tag.
		if rootClosed {
			return "content after the closing </div>: the XHTML must be a single <div> element"
		}
		j := 1
		for j < len(rest) && isNameChar(rest[j]) {
			j++
		}
		name := rest[1:j]
		if name == "" {
			return "'<' must start a tag (write &lt; for a literal '<')"
		}
		local := name
		if k := strings.IndexByte(name, ':'); k >= 0 {
			local = name[k+1:]
		}
		switch {
		case local == "script" || local == "iframe" || local == "object" || local == "embed" || local == "applet" ||
			local == "form" || local == "input" || local == "button" || local == "style" || local == "link" ||
			local == "meta" || local == "base" || local == "frame" || local == "frameset":
			return "<" + name + "> is not allowed in a narrative (txt-1: basic HTML only, no active content)"
		case !narrativeElements[local]:
			return "<" + name + "> is not allowed in a narrative (txt-1: basic HTML formatting elements only)"
		}
		isRoot := len(stack) == 0
		// Attributes.
		hasNS := false
		selfClosing := false
		for {
			for j < len(rest) && isSpace(rest[j]) {
				j++
			}
			if j >= len(rest) {
				return "unterminated tag <" + name + ">"
			}
			if rest[j] == '>' {
				j++
				break
			}
			if strings.HasPrefix(rest[j:], "/>") {
				selfClosing = true
				j += 2
				break
			}
			a := j
			for j < len(rest) && isNameChar(rest[j]) {
				j++
			}
			attr := rest[a:j]
			if attr == "" {
				return "invalid character in tag <" + name + ">"
			}
			for j < len(rest) && isSpace(rest[j]) {
				j++
			}
			if j >= len(rest) || rest[j] != '=' {
				return "attribute " + attr + " of <" + name + "> has no value: the XHTML must be well-formed"
			}
			j++
			for j < len(rest) && isSpace(rest[j]) {
				j++
			}
			if j >= len(rest) || rest[j] != '"' && rest[j] != '\'' {
				return "attribute " + attr + " of <" + name + "> must be quoted"
			}
			q := rest[j]
			end := strings.IndexByte(rest[j+1:], q)
			if end < 0 {
				return "unterminated attribute " + attr + " of <" + name + ">"
			}
			val := rest[j+1 : j+1+end]
			j += end + 2
			lower := strings.ToLower(attr)
			switch {
			case strings.HasPrefix(lower, "on"):
				return "event handler attribute " + attr + " on <" + name + "> is not allowed in a narrative (txt-1: no scripting)"
			case lower == "href" || lower == "src" || lower == "action" || lower == "longdesc":
				if v := strings.ToLower(strings.TrimSpace(val)); strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") {
					return attr + " of <" + name + "> uses a script URL, which is not allowed in a narrative"
				}
			case attr == "xmlns":
				hasNS = val == xhtmlNS
				if !hasNS {
					return "xmlns must be " + xhtmlNS + ", found " + quote(val)
				}
			}
		}
		if isRoot && !hasNS {
			return "the root <div> must declare the XHTML namespace: <div xmlns=\"" + xhtmlNS + "\">"
		}
		if local == "img" {
			content = true
		}
		if !selfClosing {
			stack = append(stack, name)
		} else if isRoot {
			rootClosed = true
		}
		i += j
	}
	if len(stack) > 0 {
		return "<" + stack[len(stack)-1] + "> is not closed: the XHTML must be well-formed"
	}
	if !content {
		return "the narrative has no content (txt-2: it SHALL have some non-whitespace content)"
	}
	return ""
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == ':' || c == '.'
}

func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
