package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Load reads a model directory: tokenizer.json (required),
// tokenizer_config.json (special token names and possibly the chat
// template), chat_template.jinja (the chat template of transformers 5,
// preferred over tokenizer_config.json's), generation_config.json and
// config.json (eos_token_id, an integer or a list).
func Load(dir string) (*Tokenizer, error) {
	t, err := FromFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	if err := t.loadConfigs(dir); err != nil {
		return nil, err
	}
	return t, nil
}

// FromFile reads a tokenizer.json file. The result has no chat template and
// no BOS/EOS/pad information; use Load for a model directory.
func FromFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return FromJSON(data)
}

// FromJSON parses the contents of a tokenizer.json file. Errors name the
// offending field, for example
// `tokenizer.json: model.merges[12]: token "xy" not in vocab`.
func FromJSON(data []byte) (*Tokenizer, error) {
	t, err := parseTokenizer(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

// fieldError is an error about one field of a JSON document.
func fieldError(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
}

func decodeAny(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// obj is a JSON object with its path, for typed field access.
type obj struct {
	m    map[string]any
	path string
}

func asObj(v any, path string) (obj, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return obj{}, fieldError(path, "expected an object, got %s", jsonType(v))
	}
	return obj{m, path}, nil
}

func (o obj) sub(key string) string { return o.path + "." + key }

func (o obj) has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

func (o obj) str(key string, required bool, def string) (string, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		if required {
			return "", fieldError(o.sub(key), "missing")
		}
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fieldError(o.sub(key), "expected a string, got %s", jsonType(v))
	}
	return s, nil
}

func (o obj) boolean(key string, def bool) (bool, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fieldError(o.sub(key), "expected a boolean, got %s", jsonType(v))
	}
	return b, nil
}

func toInt(v any, path string) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fieldError(path, "expected an integer, got %s", jsonType(v))
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fieldError(path, "expected an integer, got %s", n)
	}
	if i < 0 || i > math.MaxInt32 {
		return 0, fieldError(path, "%d is out of range", i)
	}
	return int(i), nil
}

func (o obj) integer(key string, required bool, def int) (int, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		if required {
			return 0, fieldError(o.sub(key), "missing")
		}
		return def, nil
	}
	return toInt(v, o.sub(key))
}

func (o obj) array(key string, required bool) ([]any, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		if required {
			return nil, fieldError(o.sub(key), "missing")
		}
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, fieldError(o.sub(key), "expected an array, got %s", jsonType(v))
	}
	return a, nil
}

func (o obj) char(key string, required bool, def rune) (rune, error) {
	s, err := o.str(key, required, string(def))
	if err != nil {
		return 0, err
	}
	if utf8.RuneCountInString(s) != 1 {
		return 0, fieldError(o.sub(key), "expected a single character, got %q", s)
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r, nil
}

func (o obj) typ() (string, error) {
	return o.str("type", true, "")
}

func unsupported(path, got string, supported ...string) error {
	return fmt.Errorf("%s %q is not supported (supported: %s)", path, got, strings.Join(supported, ", "))
}

// fastFile decodes a well-formed tokenizer.json in one pass; anything it
// cannot decode goes through the field-by-field path for a precise error.
type fastFile struct {
	Version       json.RawMessage `json:"version"`
	AddedTokens   json.RawMessage `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *struct {
		modelFields
		Vocab  fastVocab  `json:"vocab"`
		Merges fastMerges `json:"merges"`
	} `json:"model"`
}

// fastMerges decodes either merges format.
type fastMerges struct {
	pairs [][2]string
	ok    bool
}

func (f *fastMerges) UnmarshalJSON(data []byte) error {
	sc := jsonScanner{data: data}
	if !sc.consume('[') {
		return errFast
	}
	for !sc.consume(']') {
		if len(f.pairs) > 0 && !sc.consume(',') {
			return errFast
		}
		var pair [2]string
		if sc.peek() == '"' {
			s, ok := sc.str()
			if !ok {
				return errFast
			}
			a, b, found := strings.Cut(s, " ")
			if !found || strings.Contains(b, " ") {
				return errFast
			}
			pair = [2]string{a, b}
		} else {
			if !sc.consume('[') {
				return errFast
			}
			var ok bool
			if pair[0], ok = sc.str(); !ok || !sc.consume(',') {
				return errFast
			}
			if pair[1], ok = sc.str(); !ok || !sc.consume(']') {
				return errFast
			}
		}
		f.pairs = append(f.pairs, pair)
	}
	if f.pairs == nil {
		f.pairs = [][2]string{}
	}
	f.ok = true
	return nil
}

// fastVocab decodes {"token": id, ...} without reflection.
type fastVocab struct{ m map[string]int }

func (v *fastVocab) UnmarshalJSON(data []byte) error {
	sc := jsonScanner{data: data}
	if !sc.consume('{') {
		return errFast
	}
	m := make(map[string]int, len(data)/12)
	for first := true; !sc.consume('}'); first = false {
		if !first && !sc.consume(',') {
			return errFast
		}
		k, ok := sc.str()
		if !ok || !sc.consume(':') {
			return errFast
		}
		n, ok := sc.uint()
		if !ok {
			return errFast
		}
		m[k] = n
	}
	v.m = m
	return nil
}

// errFast makes the fast path give up; the slow path reports the problem.
var errFast = errors.New("not in the fast format")

// jsonScanner reads tokens from JSON that encoding/json already validated.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *jsonScanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// str reads a string; escapes are decoded by encoding/json.
func (s *jsonScanner) str() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	start := s.pos
	s.pos++
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		if c == '\\' {
			escaped = true
			s.pos += 2
			continue
		}
		if c == '"' {
			s.pos++
			raw := s.data[start:s.pos]
			if !escaped {
				return validUTF8(string(raw[1 : len(raw)-1])), true
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", false
			}
			return out, true
		}
		s.pos++
	}
	return "", false
}

// uint reads a non-negative integer that fits in an int32.
func (s *jsonScanner) uint() (int, bool) {
	s.skipSpace()
	n, digits := 0, 0
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		n = n*10 + int(s.data[s.pos]-'0')
		if n > math.MaxInt32 {
			return 0, false
		}
		s.pos++
		digits++
	}
	if digits == 0 || s.pos < len(s.data) && (s.data[s.pos] == '.' || s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		return 0, false
	}
	return n, true
}

func parseTokenizer(data []byte) (*Tokenizer, error) {
	var ff fastFile
	if err := json.Unmarshal(data, &ff); err == nil && ff.Model != nil && ff.Model.Vocab.m != nil && ff.Model.Merges.ok {
		top := map[string]json.RawMessage{}
		for k, v := range map[string]json.RawMessage{
			"version": ff.Version, "added_tokens": ff.AddedTokens, "normalizer": ff.Normalizer,
			"pre_tokenizer": ff.PreTokenizer, "post_processor": ff.PostProcessor, "decoder": ff.Decoder,
		} {
			if v != nil {
				top[k] = v
			}
		}
		m := ff.Model
		mj := modelJSON{modelFields: m.modelFields, Vocab: json.RawMessage("{}"), Merges: json.RawMessage("[]")}
		return parseComponents(top, mj, m.Vocab.m, m.Merges.pairs)
	}
	return parseTokenizerSlow(data)
}

func parseTokenizerSlow(data []byte) (*Tokenizer, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, fmt.Errorf("expected a JSON object at the top level")
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if raw, ok := top["version"]; ok {
		v, err := decodeAny(raw)
		if err != nil {
			return nil, err
		}
		if v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, fieldError("version", "expected a string, got %s", jsonType(v))
			}
			if s != "1.0" {
				return nil, unsupported("version", s, "1.0")
			}
		}
	}
	raw, ok := top["model"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, fieldError("model", "missing")
	}
	var mj modelJSON
	if err := json.Unmarshal(raw, &mj); err != nil {
		return nil, fieldError("model", "expected an object")
	}
	return parseComponents(top, mj, nil, nil)
}

// parseComponents builds the tokenizer from the top-level fields and the
// model fields; vocab and pairs are the decoded model.vocab and
// model.merges when the fast path decoded them (nil otherwise).
func parseComponents(top map[string]json.RawMessage, mj modelJSON, vocab map[string]int, pairs [][2]string) (*Tokenizer, error) {
	if raw, ok := top["version"]; ok {
		v, err := decodeAny(raw)
		if err != nil {
			return nil, err
		}
		if v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, fieldError("version", "expected a string, got %s", jsonType(v))
			}
			if s != "1.0" {
				return nil, unsupported("version", s, "1.0")
			}
		}
	}
	t := &Tokenizer{bosID: -1, padID: -1}
	model, err := parseModel(mj, vocab, pairs)
	if err != nil {
		return nil, err
	}
	t.model = model

	component := func(name string) (any, error) {
		raw, ok := top[name]
		if !ok {
			return nil, nil
		}
		v, err := decodeAny(raw)
		if err != nil {
			return nil, fieldError(name, "%v", err)
		}
		return v, nil
	}
	if v, err := component("normalizer"); err != nil {
		return nil, err
	} else if v != nil {
		if t.norm, err = parseNormalizer(v, "normalizer"); err != nil {
			return nil, err
		}
	}
	if v, err := component("pre_tokenizer"); err != nil {
		return nil, err
	} else if v != nil {
		if t.pre, err = parsePreTokenizer(v, "pre_tokenizer"); err != nil {
			return nil, err
		}
	}
	if v, err := component("post_processor"); err != nil {
		return nil, err
	} else if v != nil {
		if t.post, err = parsePostProcessor(v, "post_processor"); err != nil {
			return nil, err
		}
	}
	if v, err := component("decoder"); err != nil {
		return nil, err
	} else if v != nil {
		if t.decoder, err = parseDecoder(v, "decoder"); err != nil {
			return nil, err
		}
	}
	var added []addedToken
	if v, err := component("added_tokens"); err != nil {
		return nil, err
	} else if v != nil {
		if added, err = parseAddedTokens(v); err != nil {
			return nil, err
		}
	}
	t.added = buildAddedVocab(added, t.model, t.norm)
	return t, nil
}

func parseAddedTokens(v any) ([]addedToken, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldError("added_tokens", "expected an array, got %s", jsonType(v))
	}
	out := make([]addedToken, 0, len(arr))
	for i, e := range arr {
		path := fmt.Sprintf("added_tokens[%d]", i)
		o, err := asObj(e, path)
		if err != nil {
			return nil, err
		}
		var at addedToken
		if at.content, err = o.str("content", true, ""); err != nil {
			return nil, err
		}
		if o.has("id") {
			if at.id, err = o.integer("id", false, 0); err != nil {
				return nil, err
			}
		}
		if at.special, err = o.boolean("special", false); err != nil {
			return nil, err
		}
		if at.singleWord, err = o.boolean("single_word", false); err != nil {
			return nil, err
		}
		if at.lstrip, err = o.boolean("lstrip", false); err != nil {
			return nil, err
		}
		if at.rstrip, err = o.boolean("rstrip", false); err != nil {
			return nil, err
		}
		if at.normalized, err = o.boolean("normalized", !at.special); err != nil {
			return nil, err
		}
		out = append(out, at)
	}
	return out, nil
}

// modelJSON is the fast path for the model section; fields are checked one
// by one with precise messages when it does not decode.
type modelJSON struct {
	modelFields
	Vocab  json.RawMessage `json:"vocab"`
	Merges json.RawMessage `json:"merges"`
}

// modelFields are the model settings other than vocab and merges.
type modelFields struct {
	Type                    json.RawMessage `json:"type"`
	UnkToken                json.RawMessage `json:"unk_token"`
	ContinuingSubwordPrefix json.RawMessage `json:"continuing_subword_prefix"`
	EndOfWordSuffix         json.RawMessage `json:"end_of_word_suffix"`
	FuseUnk                 json.RawMessage `json:"fuse_unk"`
	ByteFallback            json.RawMessage `json:"byte_fallback"`
	IgnoreMerges            json.RawMessage `json:"ignore_merges"`
	Dropout                 json.RawMessage `json:"dropout"`
}

func isNull(raw json.RawMessage) bool {
	r := bytes.TrimSpace(raw)
	return len(r) == 0 || bytes.Equal(r, []byte("null"))
}

func rawString(raw json.RawMessage, path string) (string, bool, error) {
	if isNull(raw) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fieldError(path, "expected a string")
	}
	return s, true, nil
}

func rawBool(raw json.RawMessage, path string) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, fieldError(path, "expected a boolean")
	}
	return b, nil
}

func parseModel(mj modelJSON, vocab map[string]int, pairs [][2]string) (*bpeModel, error) {
	typ, hasType, err := rawString(mj.Type, "model.type")
	if err != nil {
		return nil, err
	}
	if !hasType {
		if isNull(mj.Merges) {
			return nil, fieldError("model.type", "missing")
		}
		typ = "BPE"
	}
	if typ != "BPE" {
		return nil, unsupported("model.type", typ, "BPE")
	}
	m := &bpeModel{unkID: -1, vocab: vocab}
	if vocab == nil {
		if isNull(mj.Vocab) {
			return nil, fieldError("model.vocab", "missing")
		}
		if err := json.Unmarshal(mj.Vocab, &m.vocab); err != nil {
			return nil, vocabError(mj.Vocab)
		}
	}
	for tok, id := range m.vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fieldError(fmt.Sprintf("model.vocab[%q]", tok), "id %d is out of range", id)
		}
	}
	if isNull(mj.Merges) {
		return nil, fieldError("model.merges", "missing")
	}
	if m.prefix, _, err = rawString(mj.ContinuingSubwordPrefix, "model.continuing_subword_prefix"); err != nil {
		return nil, err
	}
	if m.suffix, _, err = rawString(mj.EndOfWordSuffix, "model.end_of_word_suffix"); err != nil {
		return nil, err
	}
	if m.fuseUnk, err = rawBool(mj.FuseUnk, "model.fuse_unk"); err != nil {
		return nil, err
	}
	if m.byteFallback, err = rawBool(mj.ByteFallback, "model.byte_fallback"); err != nil {
		return nil, err
	}
	if m.ignoreMerges, err = rawBool(mj.IgnoreMerges, "model.ignore_merges"); err != nil {
		return nil, err
	}
	if !isNull(mj.Dropout) {
		var d float64
		if err := json.Unmarshal(mj.Dropout, &d); err != nil || d < 0 || d > 1 {
			return nil, fieldError("model.dropout", "expected a number between 0 and 1")
		}
		// Dropout only matters when training; encoding runs without it.
	}
	unk, hasUnk, err := rawString(mj.UnkToken, "model.unk_token")
	if err != nil {
		return nil, err
	}
	if hasUnk {
		if id, ok := m.vocab[unk]; ok {
			m.unkID = id
		}
	}
	if pairs == nil {
		if pairs, err = parseMerges(mj.Merges); err != nil {
			return nil, err
		}
	}
	m.merges = make(map[uint64]merge, len(pairs))
	var joinBuf []byte
	for i, p := range pairs {
		path := func() string { return fmt.Sprintf("model.merges[%d]", i) }
		a, ok := m.vocab[p[0]]
		if !ok {
			return nil, fieldError(path(), "token %q not in vocab", p[0])
		}
		b, ok := m.vocab[p[1]]
		if !ok {
			return nil, fieldError(path(), "token %q not in vocab", p[1])
		}
		right := p[1]
		if m.prefix != "" {
			if len(right) < len(m.prefix) || !utf8.ValidString(right[len(m.prefix):]) {
				return nil, fieldError(path(), "token %q does not start with continuing_subword_prefix %q", right, m.prefix)
			}
			right = right[len(m.prefix):]
		}
		joinBuf = append(append(joinBuf[:0], p[0]...), right...)
		n, ok := m.vocab[string(joinBuf)]
		if !ok {
			return nil, fieldError(path(), "token %q not in vocab", joinBuf)
		}
		m.merges[pairKey(int32(a), int32(b))] = merge{rank: int32(i), newID: int32(n)}
	}
	m.vocabR = newIDTable(m.vocab)
	m.init()
	return m, nil
}

// vocabError explains why model.vocab did not decode as {token: id}.
func vocabError(raw json.RawMessage) error {
	v, err := decodeAny(raw)
	if err != nil {
		return fieldError("model.vocab", "%v", err)
	}
	o, err := asObj(v, "model.vocab")
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(o.m))
	for k := range o.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := toInt(o.m[k], fmt.Sprintf("model.vocab[%q]", k)); err != nil {
			return err
		}
	}
	return fieldError("model.vocab", "expected an object mapping tokens to integer ids")
}

// parseMerges accepts ["a b", ...] and [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fieldError(fmt.Sprintf("model.merges[%d]", i), "%q is not two tokens separated by a space", s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		out := make([][2]string, len(pairs))
		for i, p := range pairs {
			if len(p) != 2 {
				return nil, fieldError(fmt.Sprintf("model.merges[%d]", i), "expected a pair of tokens, got %d", len(p))
			}
			out[i] = [2]string{p[0], p[1]}
		}
		return out, nil
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, fieldError("model.merges", "%v", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldError("model.merges", "expected an array, got %s", jsonType(v))
	}
	for i, e := range arr {
		switch x := e.(type) {
		case string:
		case []any:
			for k, y := range x {
				if _, ok := y.(string); !ok {
					return nil, fieldError(fmt.Sprintf("model.merges[%d][%d]", i, k), "expected a string, got %s", jsonType(y))
				}
			}
		default:
			return nil, fieldError(fmt.Sprintf("model.merges[%d]", i), "expected a string or a pair of strings, got %s", jsonType(e))
		}
	}
	return nil, fieldError("model.merges", "mixes \"a b\" strings and [\"a\", \"b\"] pairs")
}

func parsePattern(o obj, key string) (pattern, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil, fieldError(o.sub(key), "missing")
	}
	po, err := asObj(v, o.sub(key))
	if err != nil {
		return nil, err
	}
	if po.has("String") {
		s, err := po.str("String", true, "")
		if err != nil {
			return nil, err
		}
		return compilePattern(s, false)
	}
	if po.has("Regex") {
		s, err := po.str("Regex", true, "")
		if err != nil {
			return nil, err
		}
		p, err := compilePattern(s, true)
		if err != nil {
			return nil, fieldError(po.sub("Regex"), "invalid regular expression: %v", err)
		}
		return p, nil
	}
	return nil, fieldError(o.sub(key), "expected {\"String\": ...} or {\"Regex\": ...}")
}

func parseNormalizer(v any, path string) (normalizer, error) {
	o, err := asObj(v, path)
	if err != nil {
		return nil, err
	}
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	case "Strip":
		var n stripNormalizer
		if n.left, err = o.boolean("strip_left", false); err != nil {
			return nil, err
		}
		if n.right, err = o.boolean("strip_right", false); err != nil {
			return nil, err
		}
		return n, nil
	case "Prepend":
		p, err := o.str("prepend", true, "")
		if err != nil {
			return nil, err
		}
		return prependNormalizer{p}, nil
	case "Replace":
		pat, err := parsePattern(o, "pattern")
		if err != nil {
			return nil, err
		}
		content, err := o.str("content", true, "")
		if err != nil {
			return nil, err
		}
		return replaceNormalizer{pat, content}, nil
	case "Sequence":
		arr, err := o.array("normalizers", true)
		if err != nil {
			return nil, err
		}
		seq := make(sequenceNormalizer, 0, len(arr))
		for i, e := range arr {
			n, err := parseNormalizer(e, fmt.Sprintf("%s.normalizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, n)
		}
		return seq, nil
	}
	return nil, unsupported(o.sub("type"), typ, "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Prepend", "Replace", "ByteLevel", "Sequence")
}

func parseBehaviorField(o obj, key string, required bool, def splitBehavior) (splitBehavior, error) {
	if !o.has(key) && !required {
		return def, nil
	}
	s, err := o.str(key, true, "")
	if err != nil {
		return 0, err
	}
	b, err := parseBehavior(s)
	if err != nil {
		return 0, fieldError(o.sub(key), "%v", err)
	}
	return b, nil
}

func parsePrependScheme(o obj) (prependScheme, error) {
	scheme := prependAlways
	if o.has("prepend_scheme") {
		s, err := o.str("prepend_scheme", true, "")
		if err != nil {
			return 0, err
		}
		switch s {
		case "always":
			scheme = prependAlways
		case "first":
			scheme = prependFirst
		case "never":
			scheme = prependNever
		default:
			return 0, unsupported(o.sub("prepend_scheme"), s, "always", "first", "never")
		}
	}
	if o.has("add_prefix_space") {
		aps, err := o.boolean("add_prefix_space", true)
		if err != nil {
			return 0, err
		}
		if !aps {
			scheme = prependNever // legacy files
		}
	}
	return scheme, nil
}

func parsePreTokenizer(v any, path string) (preTokenizer, error) {
	o, err := asObj(v, path)
	if err != nil {
		return nil, err
	}
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		p := &byteLevelPre{sc: scannerFor(gpt2Pattern)}
		if p.addPrefixSpace, err = o.boolean("add_prefix_space", true); err != nil {
			return nil, err
		}
		if p.useRegex, err = o.boolean("use_regex", true); err != nil {
			return nil, err
		}
		if _, err = o.boolean("trim_offsets", true); err != nil {
			return nil, err
		}
		return p, nil
	case "Split":
		p := &splitPre{}
		if p.pat, err = parsePattern(o, "pattern"); err != nil {
			return nil, err
		}
		if p.behavior, err = parseBehaviorField(o, "behavior", true, 0); err != nil {
			return nil, err
		}
		if p.invert, err = o.boolean("invert", false); err != nil {
			return nil, err
		}
		return p, nil
	case "Metaspace":
		p := &metaspacePre{}
		if p.replacement, err = o.char("replacement", true, 0); err != nil {
			return nil, err
		}
		p.rep = string(p.replacement)
		if p.scheme, err = parsePrependScheme(o); err != nil {
			return nil, err
		}
		if p.splitWords, err = o.boolean("split", true); err != nil {
			return nil, err
		}
		return p, nil
	case "Digits":
		ind, err := o.boolean("individual_digits", false)
		if err != nil {
			return nil, err
		}
		if ind {
			return &charSplitPre{isNumber, behaviorIsolated}, nil
		}
		return &charSplitPre{isNumber, behaviorContiguous}, nil
	case "Punctuation":
		b, err := parseBehaviorField(o, "behavior", false, behaviorIsolated)
		if err != nil {
			return nil, err
		}
		return &charSplitPre{isPunct, b}, nil
	case "Whitespace":
		return whitespacePre{}, nil
	case "WhitespaceSplit":
		return &charSplitPre{isSpace, behaviorRemoved}, nil
	case "BertPreTokenizer":
		return sequencePre{&charSplitPre{isSpace, behaviorRemoved}, &charSplitPre{isPunct, behaviorIsolated}}, nil
	case "CharDelimiterSplit":
		d, err := o.char("delimiter", true, 0)
		if err != nil {
			return nil, err
		}
		return &charSplitPre{func(r rune) bool { return r == d }, behaviorRemoved}, nil
	case "Sequence":
		arr, err := o.array("pretokenizers", true)
		if err != nil {
			return nil, err
		}
		seq := make(sequencePre, 0, len(arr))
		for i, e := range arr {
			p, err := parsePreTokenizer(e, fmt.Sprintf("%s.pretokenizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, p)
		}
		return seq, nil
	}
	return nil, unsupported(o.sub("type"), typ, "ByteLevel", "Split", "Metaspace", "Digits", "Punctuation", "Whitespace", "WhitespaceSplit", "BertPreTokenizer", "CharDelimiterSplit", "Sequence")
}

func parseDecoder(v any, path string) (decoder, error) {
	o, err := asObj(v, path)
	if err != nil {
		return nil, err
	}
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		return byteLevelDec{}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		var d stripDec
		if d.content, err = o.char("content", true, 0); err != nil {
			return nil, err
		}
		if d.start, err = o.integer("start", true, 0); err != nil {
			return nil, err
		}
		if d.stop, err = o.integer("stop", true, 0); err != nil {
			return nil, err
		}
		return d, nil
	case "Replace":
		pat, err := parsePattern(o, "pattern")
		if err != nil {
			return nil, err
		}
		content, err := o.str("content", true, "")
		if err != nil {
			return nil, err
		}
		return replaceDec{pat, content}, nil
	case "Metaspace":
		var d metaspaceDec
		if d.replacement, err = o.char("replacement", true, 0); err != nil {
			return nil, err
		}
		if d.scheme, err = parsePrependScheme(o); err != nil {
			return nil, err
		}
		return d, nil
	case "BPEDecoder":
		s, err := o.str("suffix", false, "</w>")
		if err != nil {
			return nil, err
		}
		return bpeDec{s}, nil
	case "Sequence":
		arr, err := o.array("decoders", true)
		if err != nil {
			return nil, err
		}
		seq := make(sequenceDec, 0, len(arr))
		for i, e := range arr {
			d, err := parseDecoder(e, fmt.Sprintf("%s.decoders[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, d)
		}
		return seq, nil
	}
	return nil, unsupported(o.sub("type"), typ, "ByteLevel", "ByteFallback", "Fuse", "Strip", "Replace", "Metaspace", "BPEDecoder", "Sequence")
}

func parseTokenPair(o obj, key string) (string, int, error) {
	arr, err := o.array(key, true)
	if err != nil {
		return "", 0, err
	}
	if len(arr) != 2 {
		return "", 0, fieldError(o.sub(key), "expected [token, id]")
	}
	s, ok := arr[0].(string)
	if !ok {
		return "", 0, fieldError(o.sub(key)+"[0]", "expected a string, got %s", jsonType(arr[0]))
	}
	id, err := toInt(arr[1], o.sub(key)+"[1]")
	if err != nil {
		return "", 0, err
	}
	return s, id, nil
}

func parsePostProcessor(v any, path string) (postProcessor, error) {
	o, err := asObj(v, path)
	if err != nil {
		return nil, err
	}
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "ByteLevel":
		return nopProc{}, nil
	case "RobertaProcessing", "BertProcessing":
		p := &wrapProc{}
		if p.sep, p.sepID, err = parseTokenPair(o, "sep"); err != nil {
			return nil, err
		}
		if p.cls, p.clsID, err = parseTokenPair(o, "cls"); err != nil {
			return nil, err
		}
		return p, nil
	case "TemplateProcessing":
		return parseTemplate(o)
	case "Sequence":
		arr, err := o.array("processors", true)
		if err != nil {
			return nil, err
		}
		seq := make(sequenceProc, 0, len(arr))
		for i, e := range arr {
			p, err := parsePostProcessor(e, fmt.Sprintf("%s.processors[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, p)
		}
		return seq, nil
	}
	return nil, unsupported(o.sub("type"), typ, "TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence")
}

func parseTemplate(o obj) (postProcessor, error) {
	p := &templateProc{specials: map[string]templateSpecial{}}
	if o.has("special_tokens") {
		so, err := asObj(o.m["special_tokens"], o.sub("special_tokens"))
		if err != nil {
			return nil, err
		}
		for name, e := range so.m {
			eo, err := asObj(e, fmt.Sprintf("%s[%q]", so.path, name))
			if err != nil {
				return nil, err
			}
			var st templateSpecial
			ids, err := eo.array("ids", true)
			if err != nil {
				return nil, err
			}
			for i, x := range ids {
				id, err := toInt(x, fmt.Sprintf("%s.ids[%d]", eo.path, i))
				if err != nil {
					return nil, err
				}
				st.ids = append(st.ids, id)
			}
			toks, err := eo.array("tokens", true)
			if err != nil {
				return nil, err
			}
			for i, x := range toks {
				s, ok := x.(string)
				if !ok {
					return nil, fieldError(fmt.Sprintf("%s.tokens[%d]", eo.path, i), "expected a string, got %s", jsonType(x))
				}
				st.tokens = append(st.tokens, s)
			}
			if len(st.ids) != len(st.tokens) {
				return nil, fieldError(eo.path, "ids and tokens differ in length")
			}
			p.specials[name] = st
		}
	}
	arr, err := o.array("single", true)
	if err != nil {
		return nil, err
	}
	for i, e := range arr {
		path := fmt.Sprintf("%s.single[%d]", o.path, i)
		eo, err := asObj(e, path)
		if err != nil {
			return nil, err
		}
		switch {
		case eo.has("SpecialToken"):
			so, err := asObj(eo.m["SpecialToken"], path+".SpecialToken")
			if err != nil {
				return nil, err
			}
			id, err := so.str("id", true, "")
			if err != nil {
				return nil, err
			}
			if _, ok := p.specials[id]; !ok {
				return nil, fieldError(path, "special token %q is not in %s", id, o.sub("special_tokens"))
			}
			p.single = append(p.single, templatePiece{special: id})
		case eo.has("Sequence"):
			so, err := asObj(eo.m["Sequence"], path+".Sequence")
			if err != nil {
				return nil, err
			}
			id, err := so.str("id", true, "")
			if err != nil {
				return nil, err
			}
			if id != "A" {
				return nil, fieldError(path, "sequence %q in a single-sequence template", id)
			}
			p.single = append(p.single, templatePiece{})
		default:
			return nil, fieldError(path, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}")
		}
	}
	return p, nil
}
