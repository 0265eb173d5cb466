package tutorials_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// guides are the tutorial folders whose README shows excerpts of their main.go.
var guides = []string{
	"01-lazy-evaluation",
	"02-autodiff-and-pytrees",
	"03-modules-and-freezing",
	"04-lora-and-fusing",
}

var (
	runMu   sync.Mutex
	outputs = map[string]string{}
)

// repoRoot returns the repository root: the tests run in tutorials/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}
	return root
}

// goTool returns the go command that runs the tutorials.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if g := os.Getenv("GOROOT"); g != "" {
		p := filepath.Join(g, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("the go command is not on PATH (nor in $GOROOT/bin)")
	return ""
}

// output runs `go run ./tutorials/<dir>` from the repository root once per test binary
// and returns what it printed.
func output(t *testing.T, dir string) string {
	t.Helper()
	runMu.Lock()
	defer runMu.Unlock()
	if out, ok := outputs[dir]; ok {
		return out
	}
	cmd := exec.Command(goTool(t), "run", "./tutorials/"+dir)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./tutorials/%s: %v\n%s", dir, err, out)
	}
	outputs[dir] = string(out)
	return string(out)
}

// lines returns the lines of s with surrounding spaces trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// hasLines fails the test for every wanted line that out does not print exactly (leading
// and trailing spaces aside).
func hasLines(t *testing.T, out string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range lines(out) {
		have[l] = true
	}
	for _, w := range want {
		if !have[strings.TrimSpace(w)] {
			t.Errorf("missing output line %q", w)
		}
	}
}

// match returns the submatches of the first line of out that matches pattern, failing
// the test when none does.
func match(t *testing.T, out, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for _, l := range lines(out) {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("no output line matches %q in:\n%s", pattern, out)
	return nil
}

// num parses a number captured by match.
func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func TestLazyEvaluation(t *testing.T) {
	out := output(t, "01-lazy-evaluation")
	// 50 steps of w ← w − 0.1·2(w − 3) from 0 leave w = 3 − 3·0.8⁵⁰.
	w := fmt.Sprintf("%.5f", 3-3*math.Pow(0.8, 50))
	hasLines(t, out,
		"b: [] float32 evaluated: false",
		"b's graph: [Multiply Sum Reshape]",
		"kernels run while building: 0",
		"after Eval: evaluated: true value: 14", // 1² + 2² + 3²
		"kernels run by Eval: 3",
		"detached: primitive is nil: true inputs: 0",
		"c evaluated before printing: false",
		"printing c: array(30, dtype=float32)", // (14 + 1)·2
		"c evaluated after printing: true",
		fmt.Sprintf("d.Item() evaluates too: %.4f", math.Exp(1)+math.Exp(2)+math.Exp(3)),
		"kernels for Eval(total, largest) together: 5",
		"the shared intermediate was released: true",
		"kernels for Eval(total) then Eval(largest): 6",
		"kernels run by 50 steps: 0",
		"the starting array still holds: 0",
		"nodes waiting in w's graph: 350",
		"the first read pays for all of it: w = "+w+", kernels = 350",
		"largest graph ever built: 7 nodes",
		"w = "+w+", kernels = 350 (7 per step)",
		"AsyncEval: y evaluated after wait(): true next still lazy: true",
	)
}

func TestAutodiffAndPytrees(t *testing.T) {
	out := output(t, "02-autodiff-and-pytrees")
	hasLines(t, out,
		"f' = 12  f'' = 12  f''' = 6", // x³ at 2: 3x², 6x, 6
		"mse at w=0, b=0: 41.00  dw = -35.00  db = -12.00",
		"aux output (predictions at w=1): [2 3 4 5]  loss: 7.5  dw: -15",
		`grad["b"] = -12.00`,
		`grad["w"] = -35.00`,
		"VJP of a*b with cotangent 1: d/da = [4 5 6]  d/db = [1 2 3]",
		"JVP of a*b with tangent (1, 0): [4 5 6]",
		"d/dx x·x at 3 = 6  d/dx x·stop(x) at 3 = 3",
		"flatten: layers.0.bias [2]",
		"flatten: layers.0.weight [2 2]",
		"flatten: layers.1.bias [1]",
		"flatten: layers.1.weight [1 2]",
		"flatten: scale []",
		"unflatten: layers is a []interface {} of 2",
		"map(x/2): layers.1.weight = array([[0.5, 0.5]], dtype=float32)",
		"parameters in the tree: 10",
		"one SGD step with Map2 on section 4's tree: map[b:array(0.12, dtype=float32) w:array(0.35, dtype=float32)]",
	)
	fit := match(t, out, `^fitted with ValueAndGradOf\[Params\]: w = (\S+), b = (\S+)$`)
	if w, b := num(t, fit[1]), num(t, fit[2]); math.Abs(w-2) > 0.02 || math.Abs(b-1) > 0.05 {
		t.Errorf("the fit should find y = 2x + 1, got w = %g, b = %g", w, b)
	}
	const ck = `loss (\S+) \|dL/dw\| (\S+)  kernels (\d+)  peak \+(\S+) MB$`
	plain := match(t, out, `^checkpoint=false `+ck)
	ckpt := match(t, out, `^checkpoint=true  `+ck)
	if plain[1] != ckpt[1] || plain[2] != ckpt[2] {
		t.Errorf("checkpointing changed the result: loss %s vs %s, gradient norm %s vs %s", plain[1], ckpt[1], plain[2], ckpt[2])
	}
	if num(t, ckpt[3]) <= num(t, plain[3]) {
		t.Errorf("checkpointing should recompute: %s kernels vs %s without", ckpt[3], plain[3])
	}
	if num(t, ckpt[4]) >= num(t, plain[4]) {
		t.Errorf("checkpointing should lower the peak: %s MB vs %s MB without", ckpt[4], plain[4])
	}
}

func TestModulesAndFreezing(t *testing.T) {
	out := output(t, "03-modules-and-freezing")
	// hidden 16·1 + 16, out 1·16 + 1, gain 1
	hasLines(t, out,
		"gain           [1]",
		"hidden.bias    [16]",
		"hidden.weight  [16 1]",
		"out.bias       [1]",
		"out.weight     [1 16]",
		"parameters: 50",
		"after Freeze(model):        trainable 0",
		"after Unfreeze(model):      trainable 50",
		`after Freeze(model, "bias"): trainable 33 [gain hidden.weight out.weight]`,
		"after opt.Update: out.weight evaluated: false  old array replaced: true",
		"after mx.Eval:    out.weight evaluated: true",
		"trainable after Freeze(model.Hidden): [gain out.bias out.weight]",
		"gradients computed for: [gain out.bias out.weight]",
		"hidden.weight unchanged: true  out.weight changed: true",
		"saved 5 arrays; reloaded model predicts the same: [true true true]",
		"loading into a narrower MLP is an error, not a panic:",
	)
	initial := num(t, match(t, out, `^initial loss (\S+), gradients for 5 arrays$`)[1])
	s100 := num(t, match(t, out, `^step 100: loss (\S+)$`)[1])
	s300 := num(t, match(t, out, `^step 300: loss (\S+)$`)[1])
	if !(s300 < s100 && s100 < initial/10) {
		t.Errorf("the loss should fall: initial %g, step 100 %g, step 300 %g", initial, s100, s300)
	}
	if l := num(t, match(t, out, `^loss on the shifted target after 200 head-only steps: (\S+)$`)[1]); l > 0.01 {
		t.Errorf("the head alone should fit the shifted target, loss %g", l)
	}
	match(t, out, `^nn: loading weights into \*main\.MLP: wrong shapes: hidden\.bias: expected shape \[8\], found \[16\]`)
}

func TestLoRAAndFusing(t *testing.T) {
	out := output(t, "04-lora-and-fusing")
	// Rank 4 on q_proj (64→64) and v_proj (64→32, two KV heads of 16) of both layers.
	q, v := 64*4+4*64, 64*4+4*32
	trainable := 2 * (q + v)
	if trainable != 1792 {
		t.Fatalf("arithmetic: %d", trainable)
	}
	hasLines(t, out,
		"llama: 2 layers, hidden 64, vocab 512, 158016 parameters",
		"trainable after Freeze: 0",
		fmt.Sprintf("model.layers.0.self_attn.q_proj  A [64 4] + B [4 64] = %d", q),
		fmt.Sprintf("model.layers.0.self_attn.v_proj  A [64 4] + B [4 32] = %d", v),
		fmt.Sprintf("model.layers.1.self_attn.q_proj  A [64 4] + B [4 64] = %d", q),
		fmt.Sprintf("model.layers.1.self_attn.v_proj  A [64 4] + B [4 32] = %d", v),
		fmt.Sprintf("trainable after lora.Apply: %d (%.2f%% of %d)", trainable,
			100*float64(trainable)/float64(158016+trainable), 158016+trainable),
		"max |adapted - base| logits before training: 0",
		"batch [4 32] with 33 target tokens in the loss",
		`after training: "Reverse: alpha beta\nAnswer:" -> " beta alpha"`,
		`after training: "Reverse: gamma delta\nAnswer:" -> " delta gamma"`,
		"reloaded adapters: max |logits - trained| = 0",
		"PEFT config: r=4 lora_alpha=80 target_modules=[q_proj v_proj]",
		"PEFT stores A transposed: base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight [4 64]",
		"same greedy argmax at every position: true",
		`fused model: "Reverse: alpha beta\nAnswer:" -> " beta alpha"`,
		"Fuse(reloaded) == FuseVerified(trained): true",
		"saved and reloaded fused model: max |logits - fused| = 0",
	)
	first := num(t, match(t, out, `^step  1: loss (\S+)$`)[1])
	last := num(t, match(t, out, `^step 30: loss (\S+)$`)[1])
	if last > 0.6*first {
		t.Errorf("30 steps should cut the loss well down: %g -> %g", first, last)
	}
	for _, f := range []string{"adapter_config.json", "adapters.safetensors"} {
		match(t, out, `^adapters/`+regexp.QuoteMeta(f)+` +\d+ bytes$`)
	}
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors"} {
		match(t, out, `^peft/`+regexp.QuoteMeta(f)+` +\d+ bytes$`)
	}
	fused := match(t, out, `^fused: 0 LoRA layers left, 158016 parameters, max \|fused - adapter\| logits = (\S+)$`)
	if d := num(t, fused[1]); d > 1e-4 {
		t.Errorf("fused logits differ from the adapter's by %g", d)
	}
	match(t, out, `^block weights: 369664 bytes in float32, 93184 bytes in 4 bits$`)
	match(t, out, `^QLoRA trainable parameters: 1792$`)
}

func TestRosetta(t *testing.T) {
	out := output(t, "05-rosetta")
	rows := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, ":"); ok {
			if _, seen := rows[k]; !seen {
				rows[k] = strings.TrimSpace(v)
			}
		}
	}
	want := map[string]string{
		"create":         "array([1, 2, 3], dtype=float32)",
		"dtype":          "float32 float32",
		"cast":           "float16",
		"zeros":          "array([[0, 0, 0], [0, 0, 0]], dtype=float32)",
		"arange":         "array([0, 1, 2, 3, 4, 5], dtype=int32)",
		"random":         "[2 3]",
		"reshape":        "array([[0, 1, 2], [3, 4, 5]], dtype=float32)",
		"elementwise":    "array([11, 41, 91], dtype=float32)",
		"matmul":         "array([8, 26], dtype=float32)",
		"transpose":      "[3 2]",
		"sum":            "array(15, dtype=float32)",
		"mean(axis)":     "array([[1], [4]], dtype=float32)",
		"argmax":         "array([2, 2], dtype=uint32)",
		"index":          "array([3, 4, 5], dtype=float32)",
		"slice":          "array([[1, 2], [4, 5]], dtype=float32)",
		"gather":         "[3 3]",
		"to Go":          "[0 1 2 3 4 5] 15",
		"evaluate":       "true",
		"grad":           "array([2, 4, 6], dtype=float32)",
		"value_and_grad": "array(14, dtype=float32) array([2, 4, 6], dtype=float32)",
		"stop_gradient":  "array([1, 2, 3], dtype=float32)",
		"parameters":     "4 arrays, 49 values",
		"freeze":         "9 trainable",
		"save/load":      "4 arrays round-tripped",
		"load model":     "llama, 158016 parameters",
		"LoRA":           fmt.Sprintf("%d trainable", 2*(64*8+8*64+64*8+8*32)),
		"adapters":       "saved and loaded",
		"fuse":           "0 LoRA layers left",
		"generate":       "8 tokens, true",
	}
	for k, w := range want {
		if rows[k] != w {
			t.Errorf("row %q: got %q, want %q", k, rows[k], w)
		}
	}
	tr := match(t, out, `^training: +loss (\S+) -> (\S+) in 100 steps$`)
	if num(t, tr[2]) > num(t, tr[1])/10 {
		t.Errorf("training row: the loss should fall tenfold: %s -> %s", tr[1], tr[2])
	}
	match(t, out, `^shape error: +panic: Matmul: .*\[2 3\] and \[2 3\] at main\.go:\d+$`)
	match(t, out, `^file error: +returned: .*no/such/model`)
}

// codeBlocks returns the fenced blocks of a markdown file whose info string is lang.
func codeBlocks(t *testing.T, path, lang string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	in := false
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case !in && strings.TrimSpace(l) == "```"+lang:
			in, cur = true, nil
		case in && strings.TrimSpace(l) == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, l)
		}
	}
	if in {
		t.Fatalf("%s: unterminated code block", path)
	}
	return blocks
}

// nonEmpty returns the trimmed lines that are not blank.
func nonEmpty(ls []string) []string {
	var out []string
	for _, l := range ls {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether seq occurs as consecutive elements of hay.
func contains(hay, seq []string) bool {
	for i := 0; i+len(seq) <= len(hay); i++ {
		ok := true
		for j := range seq {
			if hay[i+j] != seq[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestReadmeCodeIsMainGo checks that every Go block of a guide is an excerpt of the
// main.go that the other tests run: the guide shows the code that produced its output.
func TestReadmeCodeIsMainGo(t *testing.T) {
	for _, g := range guides {
		src, err := os.ReadFile(filepath.Join(g, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		prog := nonEmpty(strings.Split(string(src), "\n"))
		blocks := codeBlocks(t, filepath.Join(g, "README.md"), "go")
		if len(blocks) == 0 {
			t.Errorf("%s/README.md shows no Go code", g)
		}
		for _, b := range blocks {
			if !contains(prog, nonEmpty(b)) {
				t.Errorf("%s/README.md shows code that is not in main.go:\n%s", g, strings.Join(b, "\n"))
			}
		}
	}
}

// TestReadmeOutputIsPrinted checks that every line of a guide's text blocks is printed by
// its program; lines holding "…" stand for values that vary (memory, rounding) and are
// checked by the tests above instead.
func TestReadmeOutputIsPrinted(t *testing.T) {
	for _, g := range guides {
		out := output(t, g)
		for _, b := range codeBlocks(t, filepath.Join(g, "README.md"), "text") {
			for _, l := range nonEmpty(b) {
				if !strings.Contains(l, "…") {
					hasLines(t, out, l)
				}
			}
		}
	}
}

// TestRosettaColumnRuns checks that every snippet of the table's mlxgo column appears in
// the program that runs them.
func TestRosettaColumnRuns(t *testing.T) {
	md, err := os.ReadFile("05-rosetta.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("05-rosetta", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	prog := squash(string(src))
	span := regexp.MustCompile("`([^`]+)`")
	rows := 0
	for _, l := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| concept") {
			continue
		}
		cells := splitRow(l)
		if len(cells) != 4 {
			t.Errorf("row without 4 cells: %s", l)
			continue
		}
		rows++
		for _, m := range span.FindAllStringSubmatch(cells[3], -1) {
			if !strings.Contains(prog, squash(m[1])) {
				t.Errorf("mlxgo snippet %q (row %q) is not run by 05-rosetta/main.go", m[1], cells[0])
			}
		}
	}
	if rows < 40 {
		t.Errorf("only %d rows in the Rosetta tables", rows)
	}
}

// splitRow splits a markdown table row on the pipes outside code spans.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range l {
		switch {
		case r == '`':
			code = !code
			cur.WriteRune(r)
		case r == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// TestIndex checks that the index links every tutorial and that its links resolve.
func TestIndex(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	index := string(raw)
	for _, g := range append(guides, "05-rosetta", "05-rosetta.md") {
		if !strings.Contains(index, "("+g+")") {
			t.Errorf("README.md does not link %s", g)
		}
	}
	link := regexp.MustCompile(`\]\(([^)#]+)\)`)
	for _, f := range []string{"README.md", "05-rosetta.md", "05-rosetta/README.md",
		"01-lazy-evaluation/README.md", "02-autodiff-and-pytrees/README.md",
		"03-modules-and-freezing/README.md", "04-lora-and-fusing/README.md"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			if strings.Contains(m[1], "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), m[1])); err != nil {
				t.Errorf("%s links %s, which does not exist", f, m[1])
			}
		}
	}
}
