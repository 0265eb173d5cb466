package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jinjaOracle renders templates with Python's jinja2 configured like
// transformers' chat templates.
const jinjaOracle = `
import json, sys
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import Extension, loopcontrols
from jinja2 import nodes
from datetime import datetime

class AssistantTracker(Extension):
    # transformers' {% generation %} tag: renders its body.
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)
    def _render(self, caller):
        return caller()

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime.now().strftime(f)
out = []
for req in json.load(sys.stdin):
    try:
        out.append({"text": env.from_string(req["template"]).render(**req["vars"])})
    except jinja2.exceptions.TemplateError as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
`

type jinjaResult struct {
	Text  *string `json:"text"`
	Error *string `json:"error"`
}

// renderWithJinja2 runs the jinja2 oracle, or returns nil when python3 with
// jinja2 is not available.
func renderWithJinja2(t *testing.T, reqs []map[string]any) []jinjaResult {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	if err := exec.Command(py, "-c", "import jinja2").Run(); err != nil {
		return nil
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", jinjaOracle)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jinja2 oracle: %v\n%s", err, stderr.String())
	}
	var res []jinjaResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

type chatCase struct {
	template string
	messages []Message
	opts     ChatOptions
	wantErr  string // substring of the raise_exception message
}

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// realTemplates are the chat templates of popular model families (in
// testdata/templates), rendered by the tests against jinja2 and under the
// default limits.
var realTemplates = []string{"llama3.jinja", "zephyr.jinja", "llama2.jinja", "qwen_tools.jinja", "features.jinja",
	"gemma.jinja", "mistral.jinja", "phi3.jinja", "chatml.jinja",
	"gemma3.jinja", "qwen3.jinja", "smollm3.jinja", "phi4mini.jinja", "llama3_2.jinja"}

func chatCases(t *testing.T) []chatCase {
	basic := []Message{
		{"role": "system", "content": "You are a helpful assistant."},
		{"role": "user", "content": "Hello!  "},
		{"role": "assistant", "content": "  Hi there. How can I help?\n"},
		{"role": "user", "content": "Write «ünïcödé» 日本語 🤖\nover two lines."},
	}
	noSystem := basic[1:]
	tools := []map[string]any{
		{"type": "function", "function": map[string]any{
			"name": "get_weather", "description": "Get the weather — in °C",
			"parameters": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"city": map[string]any{"type": "string", "description": "City name, e.g. Zürich"},
					"days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7.5},
				},
				"required": []any{"city"},
			},
		}},
	}
	toolConv := []Message{
		{"role": "user", "content": "Weather in Zürich?"},
		{"role": "assistant", "content": "", "tool_calls": []any{
			map[string]any{"type": "function", "function": map[string]any{
				"name": "get_weather", "arguments": map[string]any{"city": "Zürich", "days": 2, "metric": true, "ratio": 0.25, "tags": []any{"a", nil}},
			}},
		}},
		{"role": "tool", "content": `{"temp": 21.5, "sky": "clear"}`},
		{"role": "tool", "content": "second result"},
		{"role": "assistant", "content": "It is 21.5 °C and clear."},
	}
	llama3Tool := []Message{
		{"role": "system", "content": "Be brief."},
		{"role": "user", "content": "Weather in Zürich?"},
		{"role": "assistant", "tool_calls": []any{
			map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "arguments": map[string]any{"city": "Zürich"}}},
		}},
		{"role": "tool", "content": map[string]any{"temp": 21.5}},
	}
	var cases []chatCase
	for _, name := range realTemplates {
		src := readTemplate(t, name)
		for _, gen := range []bool{false, true} {
			if name != "gemma.jinja" { // Gemma refuses system messages
				cases = append(cases, chatCase{template: src, messages: basic, opts: ChatOptions{AddGenerationPrompt: gen}})
			}
			cases = append(cases, chatCase{template: src, messages: noSystem, opts: ChatOptions{AddGenerationPrompt: gen}})
		}
	}
	floats := []any{1e22, 1.5e21, 1e-5, 0.0001, 1e15 + 0.5, 0.1, 2.5e-7, -1.25, 123456.789, 3.0, json.Number("7"), json.Number("0.5")}
	for i := range cases {
		if strings.Contains(cases[i].template, "features") {
			cases[i].opts.Extra = map[string]any{"floats": floats}
		}
	}
	// A reasoning model's earlier answer (its thinking split off) and a
	// content given as parts (Gemma 3).
	thinking := []Message{{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}, {"role": "user", "content": "3+3?"}}
	parts := []Message{
		{"role": "system", "content": []any{map[string]any{"type": "text", "text": " Be brief. "}}},
		{"role": "user", "content": []any{map[string]any{"type": "image"}, map[string]any{"type": "text", "text": " What is it? "}}},
	}
	cases = append(cases,
		chatCase{template: readTemplate(t, "qwen_tools.jinja"), messages: toolConv, opts: ChatOptions{AddGenerationPrompt: true, Tools: tools}},
		chatCase{template: readTemplate(t, "qwen_tools.jinja"), messages: noSystem, opts: ChatOptions{Tools: tools}},
		chatCase{template: readTemplate(t, "llama3.jinja"), messages: llama3Tool, opts: ChatOptions{AddGenerationPrompt: true, Tools: tools}},
		chatCase{template: readTemplate(t, "llama3.jinja"), messages: noSystem, opts: ChatOptions{Tools: tools, Extra: map[string]any{"tools_in_user_message": false, "date_string": "01 Jan 2026"}}},
		chatCase{template: readTemplate(t, "features.jinja"), messages: basic, opts: ChatOptions{Extra: map[string]any{"extra_flag": true, "extra_number": 12.75, "floats": floats}}},
		chatCase{template: readTemplate(t, "mistral.jinja"), messages: noSystem, opts: ChatOptions{Tools: tools, AddGenerationPrompt: true}},
		chatCase{template: readTemplate(t, "qwen3.jinja"), messages: thinking, opts: ChatOptions{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": false}}},
		chatCase{template: readTemplate(t, "qwen3.jinja"), messages: toolConv, opts: ChatOptions{AddGenerationPrompt: true, Tools: tools}},
		chatCase{template: readTemplate(t, "smollm3.jinja"), messages: thinking, opts: ChatOptions{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": false}}},
		chatCase{template: readTemplate(t, "smollm3.jinja"), messages: append([]Message{{"role": "system", "content": "Be brief. /no_think  "}}, noSystem...), opts: ChatOptions{AddGenerationPrompt: true}},
		chatCase{template: readTemplate(t, "gemma3.jinja"), messages: parts, opts: ChatOptions{AddGenerationPrompt: true}},
		chatCase{template: readTemplate(t, "phi4mini.jinja"), messages: []Message{{"role": "system", "content": "S", "tools": `[{"name": "f"}]`}, {"role": "user", "content": "Hi"}}, opts: ChatOptions{AddGenerationPrompt: true}},
		chatCase{template: readTemplate(t, "llama3_2.jinja"), messages: llama3Tool, opts: ChatOptions{AddGenerationPrompt: true, Tools: tools, Extra: map[string]any{"date_string": "02 Dec 2026"}}},
		chatCase{template: readTemplate(t, "gemma3.jinja"), messages: []Message{{"role": "user", "content": "a"}, {"role": "user", "content": "b"}},
			wantErr: "Conversation roles must alternate user/assistant/user/assistant/..."},
		chatCase{template: readTemplate(t, "llama2.jinja"), messages: []Message{{"role": "user", "content": "a"}, {"role": "user", "content": "b"}},
			wantErr: "Conversation roles must alternate user/assistant/user/assistant/..."},
		chatCase{template: readTemplate(t, "llama3.jinja"), messages: []Message{{"role": "system", "content": "s"}}, opts: ChatOptions{Tools: tools},
			wantErr: "Cannot put tools in the first user message when there's no first user message!"},
	)
	return cases
}

func chatTokenizer(t *testing.T, template string) *Tokenizer {
	t.Helper()
	tok, err := Load(filepath.Join("testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	tok.bosToken, tok.eosToken = "<s>", "</s>"
	tok.SetChatTemplate(template)
	return tok
}

// TestChatTemplatesRaiseException checks raise_exception without Python.
func TestChatTemplatesRaiseException(t *testing.T) {
	for _, c := range chatCases(t) {
		if c.wantErr == "" {
			continue
		}
		tok := chatTokenizer(t, c.template)
		_, err := tok.ApplyChatTemplate(c.messages, c.opts)
		var te *TemplateError
		if !errors.As(err, &te) || te.Message != c.wantErr {
			t.Errorf("ApplyChatTemplate error = %v, want a TemplateError %q", err, c.wantErr)
		}
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2024, time.July, 5, 14, 3, 9, 0, time.UTC)
	if got, want := strftime(tm, "%d %b %Y|%B %A %a %H:%M:%S %I%p %j %y %m %%"), "05 Jul 2024|July Friday Fri 14:03:09 02PM 187 24 07 %"; got != want {
		t.Errorf("strftime = %q, want %q", got, want)
	}
	tok := chatTokenizer(t, `{{ strftime_now("%Y") }}`)
	got, err := tok.ApplyChatTemplate(nil, ChatOptions{})
	if err != nil || got != strconv.Itoa(time.Now().Year()) {
		t.Errorf("strftime_now: %q, %v", got, err)
	}
}

// TestChatTemplatesKnown checks renderings written out by hand, so the
// templates are covered without Python.
func TestChatTemplatesKnown(t *testing.T) {
	msgs := []Message{{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}}
	want := map[string]string{
		"zephyr.jinja":   "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\nYo</s>\n<|assistant|>\n",
		"llama2.jinja":   "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST] Yo </s>",
		"gemma3.jinja":   "<s><start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n<start_of_turn>model\n",
		"phi4mini.jinja": "<|system|>S<|end|><|user|>Hi<|end|><|assistant|>Yo<|end|><|assistant|>",
		"qwen3.jinja":    "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nYo<|im_end|>\n<|im_start|>assistant\n",
		"llama3.jinja": "<s><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nS<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
	}
	for name, w := range want {
		tok := chatTokenizer(t, readTemplate(t, name))
		got, err := tok.ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != w {
			t.Errorf("%s:\n got %q\nwant %q", name, got, w)
		}
	}
}

// TestChatTemplatesJinja2 compares renderings with Python's jinja2 (the
// engine transformers uses). Only this comparison needs python3 with jinja2.
func TestChatTemplatesJinja2(t *testing.T) {
	cases := chatCases(t)
	var reqs []map[string]any
	var gots []string
	var errs []error
	for _, c := range cases {
		tok := chatTokenizer(t, c.template)
		vars := tok.chatVars(c.messages, c.opts)
		reqs = append(reqs, map[string]any{"template": c.template, "vars": vars})
		got, err := tok.ApplyChatTemplate(c.messages, c.opts)
		gots = append(gots, got)
		errs = append(errs, err)
		if c.wantErr == "" && err != nil {
			t.Errorf("case %d: %v", len(gots)-1, err)
		}
	}
	res := renderWithJinja2(t, reqs)
	if res == nil {
		t.Skip("python3 with jinja2 not found: skipping the jinja2 comparison")
	}
	for i, r := range res {
		switch {
		case r.Error != nil:
			var te *TemplateError
			if !errors.As(errs[i], &te) || te.Message != *r.Error {
				t.Errorf("case %d: jinja2 raised %q, Go gave %q, %v", i, *r.Error, gots[i], errs[i])
			}
		case errs[i] != nil:
			t.Errorf("case %d: Go failed with %v, jinja2 rendered %q", i, errs[i], *r.Text)
		case gots[i] != *r.Text:
			t.Errorf("case %d (%s...):\n go     %q\n jinja2 %q", i, strings.SplitN(cases[i].template, "\n", 2)[0], gots[i], *r.Text)
		}
	}
}
