package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

const walkthroughModel = "../../../notebooks/models/tiny-story"

var (
	loadOnce sync.Once
	tsModel  *lm.Model
	tsTok    *tokenizer.Tokenizer
)

// testServer serves the walkthrough model through httptest.
func testServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	loadOnce.Do(func() {
		tsModel = lm.MustLoad(walkthroughModel)
		var err error
		if tsTok, err = tokenizer.Load(walkthroughModel); err != nil {
			panic(err)
		}
	})
	s := New(tsModel, tsTok, "tiny-story")
	s.Log = discardLogger
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func post(t *testing.T, hs *httptest.Server, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s answered %d with a body that is not JSON: %q", path, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

// expected is what mlxgo generate gives for the chat prompt at temperature 0.
func expected(t *testing.T, user string, maxTokens int) string {
	t.Helper()
	text, err := tsTok.ApplyChatTemplate([]tokenizer.Message{{"role": "user", "content": user}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := generate.Text(tsModel, tsTok, text, generate.Options{MaxTokens: maxTokens}, nil)
	return out
}

func TestChatCompletionEqualsGenerate(t *testing.T) {
	_, hs := testServer(t)
	code, v := post(t, hs, "/v1/chat/completions", `{"model": "default_model", "messages": [{"role": "user", "content": "Tell me a story about a cow."}], "temperature": 0, "max_tokens": 40}`)
	if code != 200 {
		t.Fatalf("status %d: %v", code, v)
	}
	choice := v["choices"].([]any)[0].(map[string]any)
	got := choice["message"].(map[string]any)["content"].(string)
	if want := expected(t, "Tell me a story about a cow.", 40); got != want {
		t.Fatalf("chat content %q, mlxgo generate %q", got, want)
	}
	u := v["usage"].(map[string]any)
	if u["prompt_tokens"].(float64) <= 0 || u["total_tokens"] != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) {
		t.Fatalf("usage %v", u)
	}
	if v["object"] != "chat.completion" || v["model"] != "tiny-story" || choice["finish_reason"] == nil {
		t.Fatalf("response %v", v)
	}
	t.Logf("%q (finish_reason %v, usage %v)", got, choice["finish_reason"], u)
}

func TestStreamEqualsNonStreamed(t *testing.T) {
	_, hs := testServer(t)
	body := `{"messages": [{"role": "user", "content": "Tell me a story about a fox."}], "max_tokens": 30, "stream": true, "stream_options": {"include_usage": true}}`
	resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var text, finish string
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		events = append(events, data)
		if data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
			Usage map[string]int
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			text += ch.Delta.Content
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("the stream does not end with [DONE]: %v", events)
	}
	if want := expected(t, "Tell me a story about a fox.", 30); text != want {
		t.Fatalf("streamed %q, mlxgo generate %q", text, want)
	}
	if finish != "stop" && finish != "length" {
		t.Fatalf("finish_reason %q", finish)
	}
	if !strings.Contains(events[len(events)-2], `"usage"`) {
		t.Fatalf("no usage chunk before [DONE]: %s", events[len(events)-2])
	}
}

func TestCompletionStopAndLength(t *testing.T) {
	_, hs := testServer(t)
	prompt := "The fox is red. The fox"
	want, _ := generate.Text(tsModel, tsTok, prompt, generate.Options{MaxTokens: 12}, nil)
	code, v := post(t, hs, "/v1/completions", `{"prompt": "The fox is red. The fox", "max_tokens": 12}`)
	c := v["choices"].([]any)[0].(map[string]any)
	if code != 200 || c["text"] != want || v["object"] != "text_completion" {
		t.Fatalf("status %d, %v; want text %q", code, v, want)
	}
	if c["finish_reason"] != "length" {
		t.Fatalf("finish_reason %v after max_tokens without a stop", c["finish_reason"])
	}
	// A stop sequence cuts the text before it and ends with "stop".
	stop := strings.TrimSpace(want)[4:8]
	_, v = post(t, hs, "/v1/completions", `{"prompt": "The fox is red. The fox", "max_tokens": 12, "stop": ["`+stop+`"]}`)
	c = v["choices"].([]any)[0].(map[string]any)
	if cut := want[:strings.Index(want, stop)]; c["text"] != cut || c["finish_reason"] != "stop" {
		t.Fatalf("stop %q: text %q finish %v, want %q and stop", stop, c["text"], c["finish_reason"], cut)
	}
}

func TestSeededSamplingRepeats(t *testing.T) {
	_, hs := testServer(t)
	body := `{"prompt": "Once upon a time", "max_tokens": 16, "temperature": 1.0, "top_p": 0.9, "seed": 42}`
	_, a := post(t, hs, "/v1/completions", body)
	_, b := post(t, hs, "/v1/completions", body)
	ta := a["choices"].([]any)[0].(map[string]any)["text"]
	if tb := b["choices"].([]any)[0].(map[string]any)["text"]; ta != tb {
		t.Fatalf("same seed, different text: %q vs %q", ta, tb)
	}
}

func TestModels(t *testing.T) {
	_, hs := testServer(t)
	resp, err := http.Get(hs.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Object string
		Data   []struct{ ID, Object string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Object != "list" || len(v.Data) != 1 || v.Data[0].ID != "tiny-story" || v.Data[0].Object != "model" {
		t.Fatalf("models %+v", v)
	}
}

// TestBadRequests: each malformed request is answered 400 (404 for a missing endpoint)
// with an OpenAI error body naming the field, and the server goes on serving.
func TestBadRequests(t *testing.T) {
	_, hs := testServer(t)
	for _, c := range []struct{ path, body, param string }{
		{"/v1/chat/completions", `{"messages": [`, ""},
		{"/v1/chat/completions", `not json`, ""},
		{"/v1/chat/completions", `{"messages": "hello"}`, "messages"},
		{"/v1/chat/completions", `{"messages": []}`, "messages"},
		{"/v1/chat/completions", `{"messages": [{"role": "wizard", "content": "x"}]}`, "messages"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": 5}]}`, "messages"},
		{"/v1/chat/completions", `{"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}`, "model"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}`, "temperature"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "temperature": -1}`, "temperature"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}`, "max_tokens"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}`, "max_tokens"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "top_p": 0}`, "top_p"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "stop": 3}`, "stop"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}`, "stream"},
		{"/v1/chat/completions", `{"messages": [{"role": "user", "content": "x"}], "n": 2}`, "n"},
		{"/v1/completions", `{"max_tokens": 5}`, "prompt"},
		{"/v1/completions", `{"prompt": ["a", "b"]}`, "prompt"},
		{"/v1/completions", `[]`, ""},
	} {
		code, v := post(t, hs, c.path, c.body)
		e, _ := v["error"].(map[string]any)
		if code != 400 || e == nil || e["message"] == "" || e["type"] != "invalid_request_error" {
			t.Errorf("%s %s: status %d, body %v; want 400 with an error", c.path, c.body, code, v)
			continue
		}
		if c.param != "" && e["param"] != c.param {
			t.Errorf("%s %s: param %v, want %q (%v)", c.path, c.body, e["param"], c.param, e["message"])
		}
	}
	code, v := post(t, hs, "/v1/embeddings", `{}`)
	if code != 404 || v["error"] == nil {
		t.Errorf("unknown endpoint: %d %v", code, v)
	}
	resp, err := http.Get(hs.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 && resp.StatusCode != 404 {
		t.Errorf("GET on a POST endpoint: %d", resp.StatusCode)
	}
	if code, _ := post(t, hs, "/v1/completions", `{"prompt": "The fox", "max_tokens": 2}`); code != 200 {
		t.Fatalf("the server stopped serving after bad requests: %d", code)
	}
}

// TestConcurrentRequests: four clients at once each get exactly what they get alone.
func TestConcurrentRequests(t *testing.T) {
	_, hs := testServer(t)
	prompts := []string{"The cow says", "The fox is", "Once upon a time", "Let us count. One, two,"}
	alone := make([]any, len(prompts))
	for i, p := range prompts {
		_, v := post(t, hs, "/v1/completions", `{"prompt": "`+p+`", "max_tokens": 10}`)
		alone[i] = v["choices"].([]any)[0].(map[string]any)["text"]
	}
	var wg sync.WaitGroup
	got := make([]any, len(prompts))
	for i, p := range prompts {
		wg.Go(func() {
			_, v := post(t, hs, "/v1/completions", `{"prompt": "`+p+`", "max_tokens": 10}`)
			got[i] = v["choices"].([]any)[0].(map[string]any)["text"]
		})
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != alone[i] {
			t.Errorf("%q: concurrently %q, alone %q", prompts[i], got[i], alone[i])
		}
	}
}

func TestStopperHoldsBackPartialStops(t *testing.T) {
	var out []string
	st := &stopper{stops: []string{"END"}, emit: func(s string) { out = append(out, s) }}
	for _, p := range []string{"ab", "cE", "N", "x", "yEN", "Dz"} {
		if st.add(p) {
			break
		}
	}
	st.flush()
	if got := strings.Join(out, "|"); got != "ab|c|ENx|y" {
		t.Fatalf("emitted %q, want %q", got, "ab|c|ENx|y")
	}
}

// TestStreamedChunksAreWholeCharacters serves the walkthrough model with
// tokenizers whose ids 256-511 are pieces of multi-byte characters (byte-level
// BPE, then byte fallback), so generated text is full of characters split
// over several tokens: no SSE chunk may show a character that a later chunk
// completes (it would read U+FFFD), so every run of chunks is a prefix of the
// whole text, and the whole equals decoding all generated ids at once.
func TestStreamedChunksAreWholeCharacters(t *testing.T) {
	testServer(t) // loads the model
	for _, tok := range []*tokenizer.Tokenizer{splitCharTokenizer(t, false), splitCharTokenizer(t, true)} {
		s := New(tsModel, tok, "split-chars")
		s.Log = discardLogger
		hs := httptest.NewServer(s.Handler())
		defer hs.Close()
		const prompt = "Once upon a time"
		for seed := range 8 {
			opts := generate.Options{MaxTokens: 40, Temp: 1, TopP: s.TopP, Seed: uint64(seed), EOS: s.eos}
			ids, _ := generate.Tokens(tsModel, tok.Encode(prompt, true), opts, nil)
			if n := len(ids); n > 0 && slices.Contains(s.eos, ids[n-1]) {
				ids = ids[:n-1]
			}
			want := tok.Decode(ids, true)
			body := fmt.Sprintf(`{"prompt": %q, "max_tokens": 40, "temperature": 1, "seed": %d, "stream": true}`, prompt, seed)
			resp, err := http.Post(hs.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			got := ""
			for sc.Scan() {
				data, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok || data == "[DONE]" {
					continue
				}
				var c struct{ Choices []struct{ Text string } }
				if err := json.Unmarshal([]byte(data), &c); err != nil {
					t.Fatal(err)
				}
				for _, ch := range c.Choices {
					got += ch.Text
					if !strings.HasPrefix(want, got) {
						t.Fatalf("seed %d: chunk %q makes the stream %q, not a prefix of %q", seed, ch.Text, got, want)
					}
				}
			}
			resp.Body.Close()
			if got != want {
				t.Fatalf("seed %d: streamed %q, decoded at once %q", seed, got, want)
			}
			if seed == 0 {
				t.Logf("%q", want)
			}
		}
	}
}

// splitCharTokenizer returns a 512-token tokenizer: ids 0-255 are the bytes
// (GPT-2 characters, or <0xNN> with byteFallback) and ids 256-511 are whole
// CJK characters or (byte-level) pieces that end inside a character or
// start with a character's last byte.
func splitCharTokenizer(t *testing.T, byteFallback bool) *tokenizer.Tokenizer {
	t.Helper()
	var gpt2 [256]rune // GPT-2's printable stand-ins for bytes
	n := 0
	for b := range 256 {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			gpt2[b] = rune(b)
		} else {
			gpt2[b] = rune(256 + n)
			n++
		}
	}
	piece := func(bs []byte) string {
		if byteFallback {
			return string(bs)
		}
		var sb strings.Builder
		for _, b := range bs {
			sb.WriteRune(gpt2[b])
		}
		return sb.String()
	}
	vocab := map[string]int{}
	for b := range 256 {
		if byteFallback {
			vocab[fmt.Sprintf("<0x%02X>", b)] = b
		} else {
			vocab[string(gpt2[b])] = b
		}
	}
	for k := range 256 {
		ch := []byte(string(rune(0x4E00 + k)))
		bs := ch
		if !byteFallback { // byte-level tokens may hold any bytes
			switch k % 3 {
			case 0: // a letter and the first two bytes of a character
				bs = append([]byte{byte('a' + k%26)}, ch[:2]...)
			case 1: // the last byte of a character and a letter
				bs = []byte{ch[2], byte('a' + k%26)}
			}
		}
		vocab[piece(bs)] = 256 + k
	}
	if len(vocab) != 512 {
		t.Fatalf("the vocabulary has %d distinct tokens, want 512", len(vocab))
	}
	js := map[string]any{"version": "1.0", "added_tokens": []any{},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{}, "byte_fallback": byteFallback}}
	if byteFallback {
		js["decoder"] = map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"}}}
	} else {
		js["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
		js["decoder"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
	}
	data, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
