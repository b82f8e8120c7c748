package console_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A tiny CSS-selector helper for page tests: compound selectors of a tag,
// #id, .class and [attr] / [attr=value], joined by descendant spaces
// ("table#institutions tbody tr", "a.on", "input[name=q]").

type doc struct{ root *html.Node }

func parseHTML(t *testing.T, body string) doc {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc{n}
}

type simple struct {
	tag, id string
	classes []string
	attrs   [][2]string // name, value ("\x00" for presence only)
}

func parseSelector(sel string) []simple {
	var out []simple
	for _, part := range strings.Fields(sel) {
		var s simple
		for part != "" {
			switch part[0] {
			case '#', '.':
				end := strings.IndexAny(part[1:], "#.[")
				if end < 0 {
					end = len(part) - 1
				}
				name := part[1 : end+1]
				if part[0] == '#' {
					s.id = name
				} else {
					s.classes = append(s.classes, name)
				}
				part = part[end+1:]
			case '[':
				end := strings.IndexByte(part, ']')
				kv := part[1:end]
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					v = "\x00"
				}
				s.attrs = append(s.attrs, [2]string{k, strings.Trim(v, `"'`)})
				part = part[end+1:]
			default:
				end := strings.IndexAny(part, "#.[")
				if end < 0 {
					end = len(part)
				}
				s.tag = part[:end]
				part = part[end:]
			}
		}
		out = append(out, s)
	}
	return out
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func (s simple) match(n *html.Node) bool {
	if n.Type != html.ElementNode || (s.tag != "" && n.Data != s.tag) {
		return false
	}
	if s.id != "" {
		if v, _ := attr(n, "id"); v != s.id {
			return false
		}
	}
	if len(s.classes) > 0 {
		v, _ := attr(n, "class")
		have := strings.Fields(v)
		for _, c := range s.classes {
			found := false
			for _, h := range have {
				found = found || h == c
			}
			if !found {
				return false
			}
		}
	}
	for _, kv := range s.attrs {
		v, ok := attr(n, kv[0])
		if !ok || (kv[1] != "\x00" && v != kv[1]) {
			return false
		}
	}
	return true
}

// all returns the elements matching sel, in document order.
func (d doc) all(sel string) []*html.Node {
	chain := parseSelector(sel)
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if len(chain) > 0 && chain[len(chain)-1].match(n) && ancestorsMatch(n.Parent, chain[:len(chain)-1]) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

func ancestorsMatch(n *html.Node, chain []simple) bool {
	if len(chain) == 0 {
		return true
	}
	for ; n != nil; n = n.Parent {
		if chain[len(chain)-1].match(n) {
			return ancestorsMatch(n.Parent, chain[:len(chain)-1])
		}
	}
	return false
}

// one returns the single element matching sel, failing otherwise.
func (d doc) one(t *testing.T, sel string) *html.Node {
	t.Helper()
	ns := d.all(sel)
	if len(ns) != 1 {
		t.Fatalf("selector %q: %d elements, want 1", sel, len(ns))
	}
	return ns[0]
}

// text is the whitespace-normalised text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestSelectorHelper(t *testing.T) {
	d := parseHTML(t, `<div id="a" class="x y"><table><tr><td class="num" data-k="v">1</td></tr></table><a class="on" href="/">h</a></div><p class="x">p</p>`)
	for sel, want := range map[string]int{
		"div#a td.num": 1, ".x": 2, "div .x": 0, "a.on": 1, "td[data-k=v]": 1, "td[data-k=w]": 0, "td[data-k]": 1, "#a a": 1, "p a": 0,
	} {
		if got := len(d.all(sel)); got != want {
			t.Errorf("%q: %d, want %d", sel, got, want)
		}
	}
}
