package tokenizer

import (
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchCorpus returns about size bytes of mixed text (English words,
// whitespace runs, code-like punctuation, numbers, CJK, emoji, other
// scripts) in lines.
func benchCorpus(size int) string {
	rng := rand.New(rand.NewSource(42))
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(randomText(rng, nil, 80))
		b.WriteByte('\n')
	}
	return b.String()
}

// benchChunks cuts text at the first line end after every chunk bytes.
func benchChunks(text string, chunk int) []string {
	var out []string
	for start := 0; start < len(text); {
		end := min(len(text), start+chunk)
		if nl := strings.IndexByte(text[end:], '\n'); nl >= 0 {
			end += nl + 1
		} else {
			end = len(text)
		}
		out = append(out, text[start:end])
		start = end
	}
	return out
}

var benchTokenizers sync.Map // name -> []byte (tokenizer.json)

// benchTokenizerJSON trains (once per process) a larger vocabulary for the
// named synthetic spec.
func benchTokenizerJSON(tb testing.TB, name string, merges int) []byte {
	if v, ok := benchTokenizers.Load(name); ok {
		return v.([]byte)
	}
	for _, spec := range syntheticSpecs() {
		if spec.name == name {
			spec.nMerges = merges
			data := buildTokenizerJSON(tb, spec, trainingCorpus(11, 6000, nil))
			benchTokenizers.Store(name, data)
			return data
		}
	}
	tb.Fatalf("no synthetic tokenizer %q", name)
	return nil
}

func benchEncode(b *testing.B, name string) {
	tok, err := FromJSON(benchTokenizerJSON(b, name, 4000))
	if err != nil {
		b.Fatal(err)
	}
	chunks := benchChunks(benchCorpus(1<<20), 4096)
	total := 0
	for _, c := range chunks {
		total += len(c)
		tok.Encode(c, false) // warm the word cache
	}
	b.SetBytes(int64(total))
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		for _, c := range chunks {
			tokens += len(tok.Encode(c, false))
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeLlama3 encodes 1 MiB of mixed text with a Llama-3 style
// tokenizer (Split regex + byte-level BPE, 4000 merges).
func BenchmarkEncodeLlama3(b *testing.B) { benchEncode(b, "llama3") }

// BenchmarkEncodeByteLevel uses a GPT-2 style tokenizer with added tokens.
func BenchmarkEncodeByteLevel(b *testing.B) { benchEncode(b, "bytelevel_added") }

// BenchmarkEncodeSentencePiece uses a Llama-2 style tokenizer (no
// pre-tokenizer, byte fallback).
func BenchmarkEncodeSentencePiece(b *testing.B) { benchEncode(b, "sentencepiece") }

// BenchmarkDecode decodes the ids of 1 MiB of text.
func BenchmarkDecode(b *testing.B) {
	tok, err := FromJSON(benchTokenizerJSON(b, "llama3", 4000))
	if err != nil {
		b.Fatal(err)
	}
	var all [][]int
	for _, c := range benchChunks(benchCorpus(1<<20), 4096) {
		all = append(all, tok.Encode(c, false))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, ids := range all {
			tok.Decode(ids, false)
		}
	}
}

// processCPU returns the user and system CPU seconds of this process.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// TestSpeedVsRust measures encoding throughput of this package and of the
// Rust library (one thread each, same input, one after the other) and
// prints both and their ratio. It is a measurement, not a check: it runs
// only with TOKENIZER_BENCH=1 (make bench-tokenizer style), e.g.
//
//	TOKENIZER_BENCH=1 go test -run SpeedVsRust -v ./mlxgo/lm/tokenizer/
func TestSpeedVsRust(t *testing.T) {
	if os.Getenv("TOKENIZER_BENCH") != "1" {
		t.Skip("set TOKENIZER_BENCH=1 to measure Go vs Rust encoding speed")
	}
	dir := oracleDir(t)
	size := 4 << 20
	text := benchCorpus(size)
	tmp := t.TempDir()
	chunks := benchChunks(text, 4096)
	chunksJSON, err := json.Marshal(chunks)
	if err != nil {
		t.Fatal(err)
	}
	chunksPath := filepath.Join(tmp, "chunks.json")
	if err := os.WriteFile(chunksPath, chunksJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama3", "bytelevel_added", "sentencepiece"} {
		data := benchTokenizerJSON(t, name, 4000)
		tokPath := filepath.Join(tmp, name+".json")
		if err := os.WriteFile(tokPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := FromJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			tok.Encode(c, false)
		}
		goTokens := 0
		cpu0 := processCPU()
		start := time.Now()
		for _, c := range chunks {
			goTokens += len(tok.Encode(c, false))
		}
		goSec := time.Since(start).Seconds()
		goCPU := processCPU() - cpu0

		cmd := exec.Command("node", filepath.Join(dir, "oracle.js"), "bench", tokPath, chunksPath)
		cmd.Env = append(os.Environ(), "TOKENIZERS_PARALLELISM=false", "RAYON_NUM_THREADS=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("oracle bench: %v", err)
		}
		var rs struct {
			Tokens     int     `json:"tokens"`
			Seconds    float64 `json:"seconds"`
			CPUSeconds float64 `json:"cpu_seconds"`
		}
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Fatal(err)
		}
		goRate, rustRate := float64(goTokens)/goSec, float64(rs.Tokens)/rs.Seconds
		goCPURate, rustCPURate := float64(goTokens)/goCPU, float64(rs.Tokens)/rs.CPUSeconds
		t.Logf("%-16s %.1f MB, %d tokens: wall: Go %.2fM tokens/s, Rust %.2fM tokens/s, Go/Rust = %.2f; CPU time: Go %.2fM tokens/s, Rust %.2fM tokens/s, Go/Rust = %.2f",
			name, float64(len(text))/1e6, goTokens, goRate/1e6, rustRate/1e6, goRate/rustRate, goCPURate/1e6, rustCPURate/1e6, goCPURate/rustCPURate)
		if goTokens != rs.Tokens {
			t.Errorf("%s: Go produced %d tokens, Rust %d", name, goTokens, rs.Tokens)
		}
	}
}
