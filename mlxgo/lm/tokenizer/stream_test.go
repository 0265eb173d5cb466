package tokenizer

import (
	"fmt"
	"math/rand"
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
		"combining e\u0301 a\u0308\u0323 n\u0303 and Hangul \u1100\u1161\u11a8 한국어",
		"中文混合English、句読点。🇯🇵🏳️‍🌈 ∑∫√ Ελληνικά русский עברית العربية",
	}
	for k, tok := range fuzzTokenizers(t) {
		for _, skip := range []bool{false, true} {
			for _, text := range texts {
				ids := tok.Encode(text, true)
				sd := NewStreamDecoder(tok, skip)
				for _, id := range ids {
					if p := sd.Add(id); strings.Contains(p, "\uFFFD") {
						t.Errorf("tokenizer %d: piece %q of %q holds U+FFFD", k, p, text)
					}
				}
				checkStream(t, fmt.Sprintf("tokenizer %d, skip=%v, %q", k, skip, text), tok, ids, skip)
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

// TestStreamDecoderRandomIDs streams random id sequences rich in byte
// tokens: whole multi-byte characters split over byte tokens, lone and
// truncated sequences, special and ordinary tokens.
func TestStreamDecoderRandomIDs(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	samples := []rune{'é', 'ß', '日', '本', '語', '한', '🤖', '👨', '\u200d', '\u0301', '\U0010FFFD', 'a', ' '}
	for k, tok := range fuzzTokenizers(t) {
		byteID := byteTokenIDs(tok)
		if len(byteID) == 0 && k == 0 {
			t.Fatalf("tokenizer %d has no byte tokens", k)
		}
		for trial := 0; trial < 200; trial++ {
			var ids []int
			for n := rng.Intn(14); len(ids) < n; {
				switch r := rng.Intn(10); {
				case r < 4 && len(byteID) > 0: // one character's bytes, maybe cut short
					b := []byte(string(samples[rng.Intn(len(samples))]))
					if rng.Intn(4) == 0 {
						b = b[:rng.Intn(len(b))+1]
					}
					for _, c := range b {
						if id, ok := byteID[c]; ok {
							ids = append(ids, id)
						}
					}
				case r < 6 && len(byteID) > 0: // any byte, valid or not where it lands
					if id, ok := byteID[byte(rng.Intn(256))]; ok {
						ids = append(ids, id)
					}
				default:
					ids = append(ids, rng.Intn(tok.VocabSize()))
				}
			}
			skip := rng.Intn(2) == 0
			checkStream(t, fmt.Sprintf("tokenizer %d, skip=%v, ids %v", k, skip, ids), tok, ids, skip)
		}
	}
}

// byteTokenIDs maps each byte to the id of the token that stands for it
// alone: <0xNN> (byte fallback) or its GPT-2 character (byte level).
func byteTokenIDs(tok *Tokenizer) map[byte]int {
	out := map[byte]int{}
	for b := 0; b < 256; b++ {
		if id, ok := tok.TokenToID(fmt.Sprintf("<0x%02X>", b)); ok {
			out[byte(b)] = id
		} else if id, ok := tok.TokenToID(string(byteToRune[b])); ok && b >= 0x80 {
			out[byte(b)] = id
		}
	}
	return out
}

// checkStream streams ids through a StreamDecoder and checks, at every
// split point, that what was emitted is never taken back (in particular no
// U+FFFD for a character that a later token completes): it is a prefix of
// Decode(ids), each piece is valid UTF-8, and streaming the first i ids then
// flushing gives exactly Decode(ids[:i]).
func checkStream(t *testing.T, name string, tok *Tokenizer, ids []int, skip bool) {
	t.Helper()
	full := tok.Decode(ids, skip)
	for i := 0; i <= len(ids); i++ {
		sd := NewStreamDecoder(tok, skip)
		emitted := ""
		for _, id := range ids[:i] {
			p := sd.Add(id)
			if !utf8.ValidString(p) {
				t.Fatalf("%s: piece %q is not valid UTF-8", name, p)
			}
			emitted += p
		}
		if !strings.HasPrefix(full, emitted) {
			t.Fatalf("%s: after %d ids the stream emitted %q, not a prefix of Decode %q", name, i, emitted, full)
		}
		if got, want := emitted+sd.Flush(), tok.Decode(ids[:i], skip); got != want {
			t.Fatalf("%s: first %d ids streamed and flushed give %q, Decode gives %q", name, i, got, want)
		}
	}
}

// TestStreamDecoderByteFallbackRun checks a SentencePiece byte-fallback
// tokenizer: an invalid byte between letters comes out as U+FFFD, as Decode
// gives it (not dropped), and a run of byte tokens is held until it ends,
// since a later invalid byte turns the whole run into U+FFFD.
func TestStreamDecoderByteFallbackRun(t *testing.T) {
	var tok *Tokenizer
	for _, x := range fuzzTokenizers(t) {
		if hasByteFallback(x.decoder) {
			tok = x
			break
		}
	}
	if tok == nil {
		t.Fatal("no byte-fallback tokenizer among the fixtures")
	}
	id := func(s string) int {
		i, ok := tok.TokenToID(s)
		if !ok {
			t.Fatalf("token %q not in the vocabulary", s)
		}
		return i
	}
	stream := func(ids []int) []string {
		sd := NewStreamDecoder(tok, true)
		var out []string
		for _, i := range ids {
			out = append(out, sd.Add(i))
		}
		return append(out, sd.Flush())
	}
	for _, c := range []struct {
		ids  []int
		want []string // pieces after each Add, then Flush
	}{
		{[]int{id("a"), id("<0x80>"), id("r")}, []string{"a", "", "\uFFFDr", ""}},
		{[]int{id("a"), id("<0xF0>"), id("<0x9F>"), id("<0xA4>"), id("<0x96>"), id("r")}, []string{"a", "", "", "", "", "🤖r", ""}},
		{[]int{id("a"), id("<0xF0>"), id("<0x9F>"), id("<0xA4>"), id("<0x96>"), id("<0xE6>"), id("r")}, []string{"a", "", "", "", "", "", "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDr", ""}},
		{[]int{id("a"), id("<0xE6>"), id("<0x97>")}, []string{"a", "", "", "\uFFFD\uFFFD"}},
	} {
		got := stream(c.ids)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("ids %v: pieces %q, want %q", c.ids, got, c.want)
		}
		if all, want := strings.Join(got, ""), tok.Decode(c.ids, true); all != want {
			t.Errorf("ids %v: stream %q, Decode %q", c.ids, all, want)
		}
	}
}
