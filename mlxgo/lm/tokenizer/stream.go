package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns a stream of generated ids into text pieces. Add
// returns only text that is complete: never half a UTF-8 character, and
// never text that a later token could still change (for example the
// leading space a Metaspace decoder removes from the first token). It
// follows the Rust library's DecodeStream, including its one weakness: text
// that really ends in U+FFFD is held back (and re-decoded at every Add)
// until a later token ends it differently, or until Flush.
type StreamDecoder struct {
	tok         *Tokenizer
	skipSpecial bool
	ids         []int
	prefix      string
	prefixIndex int
}

// NewStreamDecoder returns a StreamDecoder for tok; skipSpecial leaves
// special tokens out of the text.
func NewStreamDecoder(tok *Tokenizer, skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{tok: tok, skipSpecial: skipSpecial}
}

// Add appends id to the stream and returns the text it completes, which
// may be empty.
func (d *StreamDecoder) Add(id int) string {
	if d.prefix == "" && len(d.ids) > 0 {
		p := d.tok.Decode(d.ids, d.skipSpecial)
		if !strings.HasSuffix(p, replacementChar) {
			d.prefix = p
			d.prefixIndex = len(d.ids)
		}
	}
	d.ids = append(d.ids, id)
	s := d.tok.Decode(d.ids, d.skipSpecial)
	// A trailing U+FFFD may be an incomplete UTF-8 sequence that later
	// tokens complete, so the text is held back until it is not there.
	if len(s) <= len(d.prefix) || strings.HasSuffix(s, replacementChar) || !strings.HasPrefix(s, d.prefix) {
		return ""
	}
	text := s[len(d.prefix):]
	if !utf8.ValidString(text) {
		return ""
	}
	newPrefixIndex := len(d.ids) - d.prefixIndex
	d.ids = append(d.ids[:0], d.ids[d.prefixIndex:]...)
	d.prefix = d.tok.Decode(d.ids, d.skipSpecial)
	d.prefixIndex = newPrefixIndex
	return text
}

// Flush returns the text still held back (such as an incomplete UTF-8
// sequence, decoded as U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s := d.tok.Decode(d.ids, d.skipSpecial)
	out := ""
	if strings.HasPrefix(s, d.prefix) {
		out = s[len(d.prefix):]
	} else {
		out = s
	}
	d.ids, d.prefix, d.prefixIndex = d.ids[:0], "", 0
	return out
}
