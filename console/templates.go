package console

import (
	"fmt"
	"html/template"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// languages the console speaks; the first is the default.
var languages = []string{"zh", "en"}

// parseTemplates parses every page once per language: the layout and the
// partials (templates/_*.html) with each page file. The message function
// "t" is bound to the language of the set, so a page never mixes
// languages and no page has to pass the language around.
func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	var shared, pages []string
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			shared = append(shared, n)
		} else {
			pages = append(pages, n)
		}
	}
	c.pages = map[string]map[string]*template.Template{}
	for _, lang := range languages {
		base, err := template.New("").Funcs(funcs(lang)).ParseFS(templateFS, shared...)
		if err != nil {
			return fmt.Errorf("console templates: %w", err)
		}
		c.pages[lang] = map[string]*template.Template{}
		for _, p := range pages {
			t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
			if err != nil {
				return fmt.Errorf("console templates: %w", err)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
			c.pages[lang][name] = t
		}
	}
	return nil
}

// funcs are the template functions of one language.
func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return msg(lang, key, args...) },
		// tk translates a key built from data ("kind."+code); unknown
		// codes show as themselves.
		"tk": func(prefix, code string) string {
			if m, ok := catalogue[prefix+code]; ok {
				return m.text(lang)
			}
			return code
		},
		"date": func(s string) string {
			if len(s) >= 10 {
				return s[:10]
			}
			return s
		},
		"datetime": func(s string) string {
			t := when(s)
			if t.IsZero() {
				return s
			}
			return t.In(chinaTime).Format("2006-01-02 15:04")
		},
		"num":  formatInt,
		"pct":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"yuan": func(f float64) string { return "¥" + formatInt(int(f+0.5)) },
		"mask": maskID,
		"lines": func(s string) []string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					out = append(out, l)
				}
			}
			return out
		},
		"lang": func() string { return lang },
	}
}

var chinaTime = time.FixedZone("CST", 8*3600)

// formatInt writes n with thousands separators.
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// maskID hides the middle of an ID number on screens (the birth date and
// sequence), as hospital systems do: 110112********2087.
func maskID(id string) string {
	if len(id) < 10 {
		return id
	}
	return id[:6] + strings.Repeat("*", len(id)-10) + id[len(id)-4:]
}
