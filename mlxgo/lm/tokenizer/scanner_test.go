package tokenizer

import (
	"math/rand"
	"reflect"
	"testing"

	"github.com/dlclark/regexp2/v2"
)

// TestScannerMatchesRegexp2 checks the hand-written scanners against the
// regular expressions they replace, run by a backtracking engine.
func TestScannerMatchesRegexp2(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var texts []string
	for i := 0; i < 3000; i++ {
		texts = append(texts, randomText(rng, nil, 25))
	}
	texts = append(texts, "", " ", "a", "  a", " \n", "\n\n \n  x", "'s'S'ſ'LL're", "123456789 1 22", "x  ", "x \t\n")
	for _, pat := range []string{gpt2Pattern, llama3Pattern, qwen2Pattern} {
		sc := scanPattern{scannerFor(pat)}
		re := &regexPattern{re: regexp2.MustCompile(pat, regexp2.None)}
		for _, s := range texts {
			got := sc.spans(nil, s)
			want := re.spans(nil, s)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("pattern %q on %q:\n scanner %v\n regexp2 %v", pat, s, got, want)
			}
		}
	}
}
