// Command benchtable turns the JSON lines of `mlxgo bench` and of the
// PyTorch peer (torch_lora_bench.py, beside this file) into a Markdown
// table with ratios, one row per preset, shape and thread count:
//
//	benchtable [-title TEXT] [FILE ...]   (standard input when no file)
//
// Lines that are not JSON objects (build output, warnings) are skipped. A
// configuration run several times (alternating rounds, as `make bench
// BENCH_ROUNDS=3` and the bench bundle make them) shows each side's median
// tokens/s with its runs' range, the ratio of the medians, the highest peak
// RSS and the median MFU. The peer's MFU is computed with mlxgo's FLOP count
// and machine rate for the same shape, so both columns use one definition.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// result is one JSON line, from either program.
type result struct {
	Impl      string  `json:"impl"` // "mlxgo"
	Peer      string  `json:"peer"` // "pytorch-2.11.0-cpu"
	Preset    string  `json:"preset"`
	Batch     int     `json:"batch"`
	Seq       int     `json:"seq"`
	Threads   int     `json:"threads"`
	TokensPS  float64 `json:"tokens_per_s"`
	StepS     float64 `json:"step_s_median"`
	RSS       float64 `json:"peak_rss_mib"`
	MFU       float64 `json:"mfu"`
	GFLOP     float64 `json:"step_gflop"`
	MachineGF float64 `json:"machine_gflops"`
}

// key groups the two programs' results for one configuration.
type key struct {
	preset            string
	batch, seq, thrds int
}

func main() {
	title := flag.String("title", "", "a line printed above the table")
	flag.Parse()
	var in []io.Reader
	for _, f := range flag.Args() {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		defer fh.Close()
		in = append(in, fh)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	rs, err := read(io.MultiReader(in...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if *title != "" {
		fmt.Println(*title)
		fmt.Println()
	}
	fmt.Print(table(rs))
}

// read parses the JSON-object lines of r.
func read(r io.Reader) ([]result, error) {
	var rs []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var x result
		if err := json.Unmarshal([]byte(line), &x); err != nil || (x.Impl == "" && x.Peer == "") {
			continue
		}
		rs = append(rs, x)
	}
	return rs, sc.Err()
}

// table formats the results as Markdown, in the order configurations first
// appear; a configuration with one side missing shows "—" for the other.
func table(rs []result) string {
	var order []key
	ours, peers := map[key][]result{}, map[key][]result{}
	peerName := "peer"
	for _, r := range rs {
		k := key{r.Preset, r.Batch, r.Seq, r.Threads}
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
		if r.Impl == "mlxgo" {
			ours[k] = append(ours[k], r)
		} else {
			peers[k] = append(peers[k], r)
			peerName = r.Peer
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| preset | batch × seq | threads | mlxgo tok/s | %s tok/s | ratio | peak RSS mlxgo / peer GiB | MFU mlxgo / peer |\n", peerName)
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	dash := "—"
	for _, k := range order {
		o, p := summarize(ours[k]), summarize(peers[k])
		f := func(ok bool, format string, v ...any) string {
			if !ok {
				return dash
			}
			return fmt.Sprintf(format, v...)
		}
		okO, okP := o.runs > 0, p.runs > 0
		peerMFU := dash
		if okO && okP && p.step > 0 && o.machine > 0 {
			peerMFU = fmt.Sprintf("%.0f%%", 100*o.gflop/p.step/o.machine)
		}
		fmt.Fprintf(&b, "| %s | %d × %d | %d | %s | %s | %s | %s / %s | %s / %s |\n",
			k.preset, k.batch, k.seq, k.thrds,
			f(okO, "%s", o.tokensCell()), f(okP, "%s", p.tokensCell()),
			f(okO && okP && p.tokens > 0, "%.2f×", o.tokens/p.tokens),
			f(okO, "%.2f", o.rss/1024), f(okP, "%.2f", p.rss/1024),
			f(okO, "%.0f%%", 100*o.mfu), peerMFU)
	}
	return b.String()
}

// summary is one side's runs of a configuration: medians of tokens/s, step
// time, MFU and machine rate, the range of tokens/s, the highest peak RSS.
type summary struct {
	runs                           int
	tokens, lo, hi, step, mfu, rss float64
	gflop, machine                 float64
}

func summarize(rs []result) summary {
	s := summary{runs: len(rs)}
	if len(rs) == 0 {
		return s
	}
	pick := func(f func(result) float64) []float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return v
	}
	tok := pick(func(r result) float64 { return r.TokensPS })
	s.tokens, s.lo, s.hi = median(tok), slices.Min(tok), slices.Max(tok)
	s.step = median(pick(func(r result) float64 { return r.StepS }))
	s.mfu = median(pick(func(r result) float64 { return r.MFU }))
	s.machine = median(pick(func(r result) float64 { return r.MachineGF }))
	s.rss = slices.Max(pick(func(r result) float64 { return r.RSS }))
	s.gflop = rs[0].GFLOP
	return s
}

// tokensCell is the median tokens/s, with the runs' count and range when
// there are several.
func (s summary) tokensCell() string {
	if s.runs == 1 {
		return fmt.Sprintf("%.0f", s.tokens)
	}
	return fmt.Sprintf("%.0f (%d runs, %.0f–%.0f)", s.tokens, s.runs, s.lo, s.hi)
}

// median returns the middle value of v (the mean of the two middle ones for
// an even count).
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
