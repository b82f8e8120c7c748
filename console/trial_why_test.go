package console

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/xietong/xietong/recognition"
)

// Every reason the recognition engine can give has the console's own
// words in both languages: the check page said the engine's English text
// on Chinese pages.
func TestEveryRecognitionReasonIsTranslated(t *testing.T) {
	var engine []string
	for code := range recognition.WhyText {
		engine = append(engine, code)
	}
	slices.Sort(engine)
	mine := slices.Clone(whyReasons)
	slices.Sort(mine)
	if !slices.Equal(engine, mine) {
		t.Fatalf("the console knows the reasons %v, the engine gives %v", mine, engine)
	}
	for _, code := range whyReasons {
		zh := whyText("zh", code, recognition.WhyText[code])
		if !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s in Chinese is %q", code, zh)
		}
		if en := whyText("en", code, ""); en == "" || en == code {
			t.Errorf("%s in English is %q", code, en)
		}
	}
	// a reason the console does not know yet shows in the engine's words
	if got := whyText("zh", "some-new-reason", "Engine words."); got != "Engine words." {
		t.Errorf("unknown reason: %q", got)
	}
}
