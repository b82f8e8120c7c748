package console

import (
	"maps"
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
	for _, code := range engineReasons() {
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

// engineReasons are the codes of the recognition engine's reasons, sorted.
func engineReasons() []string { return slices.Sorted(maps.Keys(recognition.WhyText)) }
