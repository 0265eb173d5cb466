package data_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// FuzzLoadSplit reads arbitrary train.jsonl bytes in every record format and
// option: never a panic, and every example that loads is well formed.
func FuzzLoadSplit(f *testing.F) {
	for _, s := range []string{
		`{"text": "hello world"}` + "\n" + `{"text": ""}`,
		`{"prompt": "2+2=", "completion": "4"}`,
		`{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}`,
		`{"messages": [{"role": "user", "content": "w"}, {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}}]}], "tools": [{"type": "function", "function": {"name": "f"}}]}`,
		`{"messages": []}` + "\n" + `{"prompt": 3}` + "\n" + `[1, 2]` + "\n" + `{"text": null}`,
		"{\"text\": \"a\"}\r\n\n   \n{\"text\": \"\\u0000\\ud800\"}",
	} {
		f.Add([]byte(s), false, false, uint16(0))
		f.Add([]byte(s), true, true, uint16(3))
	}
	tok, err := tokenizer.Load(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, jsonl []byte, mask, chat bool, maxSeq uint16) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "train.jsonl"), jsonl, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := data.Options{MaxSeqLength: int(maxSeq), MaskPrompt: mask, UseChatTemplate: chat}
		ds, err := data.LoadSplit(dir, "train", tok, opts)
		if err != nil {
			return
		}
		for i, ex := range ds.Examples {
			if len(ex.Tokens) != len(ex.Loss) || len(ex.Tokens) == 0 || (maxSeq > 0 && len(ex.Tokens) > int(maxSeq)) {
				t.Fatalf("example %d: %d tokens, %d loss flags (max %d)", i, len(ex.Tokens), len(ex.Loss), maxSeq)
			}
		}
	})
}
