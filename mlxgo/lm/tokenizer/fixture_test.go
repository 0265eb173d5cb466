package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

type fixtureCases struct {
	VocabSize int `json:"vocab_size"`
	Cases     []struct {
		Text               string   `json:"text"`
		IDs                []int    `json:"ids"`
		IDsNoSpecial       []int    `json:"ids_no_special"`
		Tokens             []string `json:"tokens"`
		Decoded            string   `json:"decoded"`
		DecodedSkipSpecial string   `json:"decoded_skip_special"`
	} `json:"cases"`
	Chat []struct {
		Messages            []Message `json:"messages"`
		AddGenerationPrompt bool      `json:"add_generation_prompt"`
		Text                string    `json:"text"`
		IDs                 []int     `json:"ids"`
	} `json:"chat"`
}

func loadFixture(t testing.TB) (*Tokenizer, fixtureCases) {
	t.Helper()
	dir := filepath.Join("testdata", "tiny")
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fc fixtureCases
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	return tok, fc
}

// TestFixtureCases checks the tiny Llama fixture against the ids, tokens
// and decodings that transformers produced.
func TestFixtureCases(t *testing.T) {
	tok, fc := loadFixture(t)
	if got := tok.VocabSize(); got != fc.VocabSize {
		t.Errorf("VocabSize() = %d, want %d", got, fc.VocabSize)
	}
	if len(fc.Cases) == 0 || len(fc.Chat) == 0 {
		t.Fatal("fixture has no cases")
	}
	for _, c := range fc.Cases {
		ids, toks := tok.EncodeWithTokens(c.Text, true)
		if !reflect.DeepEqual(nonNil(ids), nonNil(c.IDs)) {
			t.Errorf("Encode(%q, true) = %v, want %v", c.Text, ids, c.IDs)
		}
		if !reflect.DeepEqual(toks, nonNilS(c.Tokens)) {
			t.Errorf("tokens of %q = %q, want %q", c.Text, toks, c.Tokens)
		}
		if got := tok.Encode(c.Text, false); !reflect.DeepEqual(nonNil(got), nonNil(c.IDsNoSpecial)) {
			t.Errorf("Encode(%q, false) = %v, want %v", c.Text, got, c.IDsNoSpecial)
		}
		if got := tok.Decode(c.IDs, false); got != c.Decoded {
			t.Errorf("Decode(%v, false) = %q, want %q", c.IDs, got, c.Decoded)
		}
		if got := tok.Decode(c.IDs, true); got != c.DecodedSkipSpecial {
			t.Errorf("Decode(%v, true) = %q, want %q", c.IDs, got, c.DecodedSkipSpecial)
		}
	}
	if !tok.HasChatTemplate() {
		t.Fatal("fixture chat template not loaded")
	}
	for _, c := range fc.Chat {
		got, err := tok.ApplyChatTemplate(c.Messages, ChatOptions{AddGenerationPrompt: c.AddGenerationPrompt})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.Text {
			t.Errorf("chat rendering = %q, want %q", got, c.Text)
		}
		if ids := tok.Encode(got, false); !reflect.DeepEqual(ids, c.IDs) {
			t.Errorf("chat ids = %v, want %v", ids, c.IDs)
		}
	}
}

func nonNil(x []int) []int {
	if x == nil {
		return []int{}
	}
	return x
}

func nonNilS(x []string) []string {
	if x == nil {
		return []string{}
	}
	return x
}

func TestFixtureSpecialIDs(t *testing.T) {
	tok, _ := loadFixture(t)
	if got := tok.BOSID(); got != -1 {
		t.Errorf("BOSID() = %d, want -1 (tokenizer_config.json has bos_token null)", got)
	}
	if got := tok.EOSIDs(); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("EOSIDs() = %v, want [2]", got)
	}
	if got := tok.PadID(); got != 0 {
		t.Errorf("PadID() = %d, want 0", got)
	}
	for id, want := range map[int]bool{0: true, 1: true, 2: true, 3: false, 42: false} {
		if got := tok.IsSpecial(id); got != want {
			t.Errorf("IsSpecial(%d) = %v, want %v", id, got, want)
		}
	}
	if id, ok := tok.TokenToID("<|im_end|>"); !ok || id != 2 {
		t.Errorf("TokenToID(<|im_end|>) = %d, %v", id, ok)
	}
	if got := tok.IDToToken(42); got != "H" {
		t.Errorf("IDToToken(42) = %q", got)
	}
}
