package server

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/generate"
)

// TestOpenAIClient drives the server with the official OpenAI client (npm openai,
// installed by make setup): chat, streamed chat and a text completion equal mlxgo
// generate at temperature 0, the model is listed, and bad requests raise 400 errors.
func TestOpenAIClient(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not on PATH (make setup)")
	}
	if _, err := os.Stat("client/node_modules/openai"); err != nil {
		t.Fatal("the openai npm package is not installed: run `make setup` (npm ci in mlxgo/lm/server/client)")
	}
	_, hs := testServer(t)
	const user, prompt = "Tell me a story about a cow.", "The fox is"
	cmd := exec.Command("node", "client.mjs", hs.URL+"/v1", user, prompt)
	cmd.Dir = "client"
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("node client.mjs: %v\n%s", err, msg)
	}
	var r struct {
		Models []string
		Chat   struct {
			Content, Finish, Object string
			Usage                   map[string]int
		}
		Stream struct {
			Content, Finish string
			Chunks          int
			Usage           map[string]int
		}
		Completion struct {
			Text, Finish string
		}
		Errors []struct {
			Status         int
			Message, Param string
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Models) != 1 || r.Models[0] != "tiny-story" {
		t.Errorf("models %v", r.Models)
	}
	want := expected(t, user, 40)
	if r.Chat.Content != want || r.Chat.Object != "chat.completion" {
		t.Errorf("chat %q (%s), mlxgo generate %q", r.Chat.Content, r.Chat.Object, want)
	}
	if r.Stream.Content != want || r.Stream.Finish != r.Chat.Finish || r.Stream.Chunks < 3 {
		t.Errorf("streamed %q (finish %s, %d chunks), want %q (finish %s)", r.Stream.Content, r.Stream.Finish, r.Stream.Chunks, want, r.Chat.Finish)
	}
	if r.Chat.Usage["total_tokens"] == 0 || r.Stream.Usage["total_tokens"] != r.Chat.Usage["total_tokens"] {
		t.Errorf("usage: chat %v, stream %v", r.Chat.Usage, r.Stream.Usage)
	}
	wantText, _ := generate.Text(tsModel, tsTok, prompt, generate.Options{MaxTokens: 12}, nil)
	if r.Completion.Text != wantText || r.Completion.Finish != "length" {
		t.Errorf("completion %q (%s), mlxgo generate %q", r.Completion.Text, r.Completion.Finish, wantText)
	}
	for i, wantParam := range []string{"model", "temperature", "messages"} {
		if e := r.Errors[i]; e.Status != 400 || e.Param != wantParam {
			t.Errorf("bad request %d: status %d param %q (%s); want 400 naming %s", i, e.Status, e.Param, e.Message, wantParam)
		}
	}
	t.Logf("chat via openai: %q (finish %s, usage %v); %d stream chunks", r.Chat.Content, r.Chat.Finish, r.Chat.Usage, r.Stream.Chunks)
}
