package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStreamDecoder checks that streamed pieces are complete UTF-8 text
// that adds up to Decode, for byte-level and byte-fallback tokenizers.
func TestStreamDecoder(t *testing.T) {
	texts := []string{
		"Hello, world! How are you?",
		"unicode café naïve 日本語 🤖 👨‍👩‍👧 done",
		"  leading\tspaces\n\nand <|im_end|> special",
		"emoji at the end 🤖",
	}
	for k, tok := range fuzzTokenizers(t) {
		for _, skip := range []bool{false, true} {
			for _, text := range texts {
				ids := tok.Encode(text, true)
				sd := NewStreamDecoder(tok, skip)
				var pieces []string
				for _, id := range ids {
					p := sd.Add(id)
					if !utf8.ValidString(p) || strings.Contains(p, "\uFFFD") {
						t.Errorf("tokenizer %d: piece %q of %q is not complete text", k, p, text)
					}
					pieces = append(pieces, p)
				}
				pieces = append(pieces, sd.Flush())
				if got, want := strings.Join(pieces, ""), tok.Decode(ids, skip); got != want {
					t.Errorf("tokenizer %d, skip=%v: stream %q, Decode %q", k, skip, got, want)
				}
			}
		}
	}
}

// TestStreamDecoderHoldsPartialCharacters feeds the byte tokens of an emoji
// one by one: nothing comes out until the character is complete.
func TestStreamDecoderHoldsPartialCharacters(t *testing.T) {
	tok, _ := loadFixture(t)
	ids := tok.Encode("a🤖", false) // a, then four byte-level tokens
	if len(ids) != 5 {
		t.Fatalf("ids = %v", ids)
	}
	sd := NewStreamDecoder(tok, false)
	var got []string
	for _, id := range ids {
		got = append(got, sd.Add(id))
	}
	want := []string{"a", "", "", "", "🤖"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pieces = %q, want %q", got, want)
	}
	if f := sd.Flush(); f != "" {
		t.Errorf("Flush() = %q", f)
	}
	// An incomplete character at the end comes out of Flush as U+FFFD.
	sd = NewStreamDecoder(tok, false)
	sd.Add(ids[0])
	sd.Add(ids[1])
	if f := sd.Flush(); f != "\uFFFD" {
		t.Errorf("Flush() of a partial character = %q", f)
	}
}
