package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoadDir loads a model folder with the tiny fixture's tokenizer.json
// and arbitrary tokenizer_config.json, generation_config.json and
// config.json: never a panic, and a tokenizer that loads works.
func FuzzLoadDir(f *testing.F) {
	tokJSON, err := os.ReadFile(filepath.Join("testdata", "tiny", "tokenizer.json"))
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join("testdata", "tiny", "tokenizer_config.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cfg, []byte(`{"eos_token_id": [2, 3]}`), []byte(`{"eos_token_id": 2}`))
	f.Add([]byte(`{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "x"}]}`),
		[]byte(`{"eos_token_id": 1000000000000}`), []byte(`{"eos_token_id": [-1, 1e300, "x", null]}`))
	f.Add([]byte(`{"chat_template": 7, "add_bos_token": "yes", "pad_token": null, "unk_token": {"content": 3}}`), []byte(`[]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, tokCfg, genCfg, modelCfg []byte) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{"tokenizer.json": tokJSON, "tokenizer_config.json": tokCfg,
			"generation_config.json": genCfg, "config.json": modelCfg} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := Load(dir)
		if err != nil {
			return
		}
		ids := tok.Encode("Hello <s> world", true)
		tok.Decode(ids, true)
		tok.EOSIDs()
		if tok.HasChatTemplate() {
			checkFuzzRender(t, tok, []Message{{"role": "user", "content": "hi"}}, ChatOptions{AddGenerationPrompt: true})
		}
	})
}

// fuzzLimits keep one fuzzed render short: the counters stop it; the time
// limit is the backstop.
var fuzzLimits = TemplateLimits{MaxRange: 1000, MaxLoopIterations: 10000, MaxDepth: 50, MaxBytes: 1 << 20, MaxSteps: 50_000, Timeout: time.Second}

// fuzzHang is how long a render may take before it counts as a limit that did
// not hold: ten times the backstop, so that a loaded host does not fail it.
const fuzzHang = 10 * time.Second

// checkFuzzRender renders and checks that the limits held.
func checkFuzzRender(t *testing.T, tok *Tokenizer, msgs []Message, opts ChatOptions) {
	t.Helper()
	opts.Limits = &fuzzLimits
	start := time.Now()
	out, err := tok.ApplyChatTemplate(msgs, opts)
	if d := time.Since(start); d > fuzzHang {
		t.Fatalf("render took %v with a time limit of %v", d, fuzzLimits.Timeout)
	}
	if err == nil && int64(len(out)) > fuzzLimits.MaxBytes {
		t.Fatalf("output of %d bytes past the limit of %d", len(out), fuzzLimits.MaxBytes)
	}
}

// FuzzChatTemplate renders arbitrary template sources with arbitrary
// messages: never a crash (a Go stack overflow cannot be recovered), and
// the limits hold.
func FuzzChatTemplate(f *testing.F) {
	for _, name := range realTemplates {
		data, err := os.ReadFile(filepath.Join("testdata", "templates", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data), `[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]`, true)
	}
	f.Add(`{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}`, `[]`, false)
	f.Add(`{% for m in messages recursive %}{{ loop(m.content) }}{% endfor %}`, `[{"role": "user", "content": [[[1]]]}]`, false)
	f.Add(`{{ ('ab' * 100)|replace('a', 'xyz' * 100)|center(5000)|indent(8) }}{{ range(10)|join('-') }}`, `[]`, false)
	f.Add(`{% set ns = namespace(s='a') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`, `[]`, true)
	f.Add(`{{ messages|tojson(indent=4, sort_keys=true) }}{{ '%5d|%-3s'|format(1, 'x') }}{{ '{:>9}'.format('r') }}`, `[{"a": [1.5, null, true, {"b": "\u00e9"}]}]`, false)
	tok := chatTokenizerFuzz(f)
	f.Fuzz(func(t *testing.T, src, messages string, gen bool) {
		var msgs []Message
		if json.Unmarshal([]byte(messages), &msgs) != nil {
			msgs = []Message{{"role": "user", "content": messages}}
		}
		tok.SetChatTemplate(src)
		checkFuzzRender(t, tok, msgs, ChatOptions{AddGenerationPrompt: gen})
	})
}

// FuzzChatMessages renders the real templates with arbitrary messages.
func FuzzChatMessages(f *testing.F) {
	f.Add(uint8(0), `[{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]`, true)
	f.Add(uint8(3), `[{"role": "user", "content": "w"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}, {"role": "tool", "content": "r"}]`, false)
	f.Add(uint8(6), `[{"role": "user", "content": [{"type": "text", "text": "x"}]}, {"role": "assistant"}]`, true)
	f.Add(uint8(1), `[{"role": 5, "content": null}, {}, {"role": "user", "content": {"a": [1, 2]}}]`, false)
	tok := chatTokenizerFuzz(f)
	sources := make([]string, len(realTemplates))
	for i, name := range realTemplates {
		data, err := os.ReadFile(filepath.Join("testdata", "templates", name))
		if err != nil {
			f.Fatal(err)
		}
		sources[i] = string(data)
	}
	f.Fuzz(func(t *testing.T, which uint8, messages string, gen bool) {
		var msgs []Message
		if json.Unmarshal([]byte(messages), &msgs) != nil {
			return
		}
		tok.SetChatTemplate(sources[int(which)%len(sources)])
		tools := []map[string]any{{"type": "function", "function": map[string]any{"name": "f", "parameters": map[string]any{"type": "object"}}}}
		checkFuzzRender(t, tok, msgs, ChatOptions{AddGenerationPrompt: gen})
		checkFuzzRender(t, tok, msgs, ChatOptions{AddGenerationPrompt: gen, Tools: tools})
	})
}

func chatTokenizerFuzz(f *testing.F) *Tokenizer {
	tok, err := Load(filepath.Join("testdata", "tiny"))
	if err != nil {
		f.Fatal(err)
	}
	tok.bosToken, tok.eosToken = "<s>", "</s>"
	return tok
}
