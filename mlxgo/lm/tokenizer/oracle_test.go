package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const oracleSetupHint = "the Rust tokenizers oracle is not installed: run `make setup` (it runs `npm ci` in mlxgo/lm/tokenizer/oracle); node and npm must be on PATH"

// oracleDir returns the oracle directory, failing the test when node or the
// oracle's node_modules are missing.
func oracleDir(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Fatalf("node not found on PATH: %s", oracleSetupHint)
	}
	dir, err := filepath.Abs("oracle")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@anush008", "tokenizers", "package.json")); err != nil {
		tb.Fatalf("%s (%v)", oracleSetupHint, err)
	}
	return dir
}

type oracleEncoding struct {
	IDs          []int    `json:"ids"`
	Tokens       []string `json:"tokens"`
	IDsNoSpecial []int    `json:"ids_no_special"`
	Decoded      string   `json:"decoded"`
	DecodedSkip  string   `json:"decoded_skip"`
}

type oracleResponse struct {
	Encode []oracleEncoding `json:"encode"`
	Decode []struct {
		Decoded     string `json:"decoded"`
		DecodedSkip string `json:"decoded_skip"`
	} `json:"decode"`
}

// runOracle runs the Rust library once on a batch of texts and id lists.
func runOracle(tb testing.TB, tokPath string, texts []string, decode [][]int) oracleResponse {
	tb.Helper()
	dir := oracleDir(tb)
	tmp := tb.TempDir()
	req, err := json.Marshal(map[string]any{"tokenizer": tokPath, "texts": texts, "decode": decode})
	if err != nil {
		tb.Fatal(err)
	}
	reqPath, respPath := filepath.Join(tmp, "request.json"), filepath.Join(tmp, "response.json")
	if err := os.WriteFile(reqPath, req, 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "oracle.js"), "run", reqPath, respPath)
	cmd.Env = append(os.Environ(), "TOKENIZERS_PARALLELISM=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("oracle failed: %v\n%s", err, out)
	}
	data, err := os.ReadFile(respPath)
	if err != nil {
		tb.Fatal(err)
	}
	var resp oracleResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		tb.Fatal(err)
	}
	if len(resp.Encode) != len(texts) || len(resp.Decode) != len(decode) {
		tb.Fatalf("oracle answered %d/%d encodings and %d/%d decodings", len(resp.Encode), len(texts), len(resp.Decode), len(decode))
	}
	return resp
}

// TestDifferentialRust compares Encode and Decode with the Rust library on
// thousands of random strings for several synthetic tokenizers and the
// fixture tokenizer.
func TestDifferentialRust(t *testing.T) {
	oracleDir(t)
	const perTokenizer = 1200
	tmp := t.TempDir()
	type target struct {
		name     string
		path     string
		specials []string
		mustSee  []string // tokens the Rust output must contain, so the feature is exercised
	}
	mustSee := map[string][]string{
		"bytelevel_added":  {"<|bos|>", "<|only_added|>", " <tool>", "[MASK]", " hello", "world"},
		"sentencepiece":    {"<0xE2>", "<unk>", "▁[INST]", "▁"},
		"metaspace_unk":    {"<unk>", "▁"},
		"normalizer_chain": {"[UNK]", "[CLS]", "[SEP]", " [MASK]"},
		"llama3":           {"<|begin_of_text|>", "<|reserved_special_token_3|>"},
		"qwen2":            {"<|im_start|>", "<think>"},
		"metaspace_always": {"<0xE2>", "[/INST]  ", "▁"},
		"word_suffix":      {"<unk>"},
	}
	var targets []target
	buildStart := time.Now()
	corpus := trainingCorpus(7, 2000, nil)
	for _, spec := range syntheticSpecs() {
		data := buildTokenizerJSON(t, spec, corpus)
		path := filepath.Join(tmp, spec.name+".json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, target{spec.name, path, spec.specials, mustSee[spec.name]})
	}
	t.Logf("trained %d synthetic tokenizers in %v", len(targets), time.Since(buildStart))
	fixture, _ := filepath.Abs(filepath.Join("testdata", "tiny", "tokenizer.json"))
	targets = append(targets, target{"tiny_fixture", fixture, []string{"<|im_start|>", "<|im_end|>", "<|endoftext|>"}, []string{"<|im_start|>"}})

	totalStrings, totalMismatch := 0, 0
	for ti, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			tok, err := FromFile(tg.path)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(1000 + ti)))
			texts := make([]string, 0, perTokenizer+16)
			texts = append(texts, "", " ", "  ", "\n", "a", "'s", "'ſ", " 'S", "hello world", "Hello  world\n\n", "x\u00a0y", "\t\ta b")
			for len(texts) < perTokenizer {
				texts = append(texts, randomText(rng, tg.specials, 30))
			}
			// Random id sequences exercise the decoders on arbitrary input
			// (broken UTF-8, bytes, special tokens, unknown ids).
			vs := tok.VocabSize()
			var decode [][]int
			for i := 0; i < 300; i++ {
				n := 1 + rng.Intn(12)
				ids := make([]int, n)
				for k := range ids {
					ids[k] = rng.Intn(vs + 2)
				}
				decode = append(decode, ids)
			}
			resp := runOracle(t, tg.path, texts, decode)
			mismatches := 0
			var report []string
			fail := func(format string, args ...any) {
				mismatches++
				if len(report) < 12 {
					report = append(report, fmt.Sprintf(format, args...))
				}
			}
			for i, text := range texts {
				want := resp.Encode[i]
				ids, toks := tok.EncodeWithTokens(text, true)
				if !reflect.DeepEqual(nonNil(ids), nonNil(want.IDs)) {
					fail("Encode(%q, true):\n   go   %v\n   rust %v", text, ids, want.IDs)
					continue
				}
				if !reflect.DeepEqual(toks, nonNilS(want.Tokens)) {
					fail("tokens(%q):\n   go   %q\n   rust %q", text, toks, want.Tokens)
					continue
				}
				if got := tok.Encode(text, false); !reflect.DeepEqual(nonNil(got), nonNil(want.IDsNoSpecial)) {
					fail("Encode(%q, false):\n   go   %v\n   rust %v", text, got, want.IDsNoSpecial)
					continue
				}
				if got := tok.Decode(want.IDs, false); got != want.Decoded {
					fail("Decode(%v, false) of %q:\n   go   %q\n   rust %q", want.IDs, text, got, want.Decoded)
					continue
				}
				if got := tok.Decode(want.IDs, true); got != want.DecodedSkip {
					fail("Decode(%v, true) of %q:\n   go   %q\n   rust %q", want.IDs, text, got, want.DecodedSkip)
				}
			}
			for i, ids := range decode {
				if got := tok.Decode(ids, false); got != resp.Decode[i].Decoded {
					fail("Decode(%v, false):\n   go   %q\n   rust %q", ids, got, resp.Decode[i].Decoded)
				} else if got := tok.Decode(ids, true); got != resp.Decode[i].DecodedSkip {
					fail("Decode(%v, true):\n   go   %q\n   rust %q", ids, got, resp.Decode[i].DecodedSkip)
				}
			}
			seen := map[string]bool{}
			for _, e := range resp.Encode {
				for _, tk := range e.Tokens {
					seen[tk] = true
				}
			}
			for _, tk := range tg.mustSee {
				if !seen[tk] {
					t.Errorf("the random strings never produced token %q: the test does not exercise it", tk)
				}
			}
			totalStrings += len(texts)
			totalMismatch += mismatches
			t.Logf("%s: %d strings, %d id lists, %d mismatches", tg.name, len(texts), len(decode), mismatches)
			if mismatches > 0 {
				t.Errorf("%d mismatches with the Rust library (of %d strings and %d id lists); first ones:\n%s",
					mismatches, len(texts), len(decode), strings.Join(report, "\n"))
			}
		})
	}
	t.Logf("differential test: %d strings over %d tokenizers, %d mismatches", totalStrings, len(targets), totalMismatch)
}
