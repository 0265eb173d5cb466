package tokenizer

import (
	"strings"
)

// StreamDecoder turns a stream of generated ids into text pieces. Add
// returns only text that is final: never half a UTF-8 character (no U+FFFD
// for a character that later tokens complete), and never text that a later
// token could still change, such as the leading space a Metaspace decoder
// removes from the first token, or the bytes of a byte-fallback run (a run
// of <0xNN> tokens decodes as text only when the whole run is valid UTF-8,
// otherwise as one U+FFFD per byte, so it is held until the run ends). The
// pieces followed by Flush add up to Decode of all the ids.
//
// It follows the Rust library's DecodeStream, including its one weakness:
// text that really ends in U+FFFD is held back (and re-decoded at every Add)
// until a later token ends it differently, or until Flush.
type StreamDecoder struct {
	tok          *Tokenizer
	skipSpecial  bool
	byteFallback bool
	ids          []int
	prefix       string
	prefixIndex  int
}

// NewStreamDecoder returns a StreamDecoder for tok; skipSpecial leaves
// special tokens out of the text.
func NewStreamDecoder(tok *Tokenizer, skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{tok: tok, skipSpecial: skipSpecial, byteFallback: hasByteFallback(tok.decoder)}
}

// Add appends id to the stream and returns the text it completes, which
// may be empty.
func (d *StreamDecoder) Add(id int) string {
	d.ids = append(d.ids, id)
	if d.inByteRun() {
		return ""
	}
	s := d.tok.Decode(d.ids, d.skipSpecial)
	// A trailing U+FFFD may be an incomplete UTF-8 sequence that later
	// tokens complete, so the text is held back until it is not there.
	if len(s) <= len(d.prefix) || strings.HasSuffix(s, replacementChar) || !strings.HasPrefix(s, d.prefix) {
		return ""
	}
	text := s[len(d.prefix):]
	// Keep the ids since the previous piece as context for the next one.
	newPrefixIndex := len(d.ids) - d.prefixIndex
	d.ids = append(d.ids[:0], d.ids[d.prefixIndex:]...)
	d.prefix = d.tok.Decode(d.ids, d.skipSpecial)
	d.prefixIndex = newPrefixIndex
	return text
}

// inByteRun reports whether the last token the decoder sees (special tokens
// left out when they are skipped) is a byte-fallback token of a tokenizer
// whose decoder has ByteFallback.
func (d *StreamDecoder) inByteRun() bool {
	if !d.byteFallback {
		return false
	}
	for i := len(d.ids) - 1; i >= 0; i-- {
		tok, ok := d.tok.idToToken(d.ids[i])
		if !ok || d.skipSpecial && d.tok.added.specials[tok] {
			continue
		}
		_, isByte := parseByteToken(tok)
		return isByte
	}
	return false
}

// hasByteFallback reports whether dec is, or chains, a ByteFallback decoder.
func hasByteFallback(dec decoder) bool {
	switch dec := dec.(type) {
	case byteFallbackDec:
		return true
	case sequenceDec:
		for _, x := range dec {
			if hasByteFallback(x) {
				return true
			}
		}
	}
	return false
}

// Flush returns the text still held back (such as an incomplete UTF-8
// sequence, decoded as U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s := d.tok.Decode(d.ids, d.skipSpecial)
	out := s
	if strings.HasPrefix(s, d.prefix) {
		out = s[len(d.prefix):]
	}
	d.ids, d.prefix, d.prefixIndex = d.ids[:0], "", 0
	return out
}
