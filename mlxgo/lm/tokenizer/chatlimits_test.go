package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileDir is a model folder with the tiny fixture's tokenizer and
// template as its chat_template.jinja.
func hostileDir(t *testing.T, template string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "tiny", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHostileTemplatesFailFast renders templates written to exhaust time,
// memory or the stack, or to read files, under the default counters with the
// time limit out of the way: each must stop at the limit it aims at (the
// same one on any machine, however loaded), within a bounded number of
// steps, with an error naming the template file and the limit, having
// allocated a bounded amount of memory. maxSteps bounds the work done: a
// step is a loop iteration, macro call, operator, filter or method call.
func TestHostileTemplatesFailFast(t *testing.T) {
	const bytesLimit = "exceed the limit of 33554432 bytes"
	cases := []struct {
		name, template, want string
		maxSteps             int
	}{
		{"huge range", `{% for i in range(100000000) %}{{ i }}{% endfor %}`, "range() of 100000000 items exceeds the limit of 100000", 1},
		{"huge range, step", `{% for i in range(0, 1000000000, 3) %}{% endfor %}`, "exceeds the limit of 100000", 1},
		{"self-recursive macro", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, "nest deeper than the limit of 200", 2 * 201},
		{"recursive loop", `{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}`, "nest deeper than the limit of 200", 201},
		{"exponential macro", `{% macro f(n) %}{% if n < 100 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}`, "exceeds the limit of 100000 steps", 100_001},
		{"string times two billion", `{{ 'x' * 2000000000 }}`, bytesLimit, 1},
		{"nested loops 5000x5000", `{% for i in range(5000) %}{% for j in range(5000) %}{{ j }}{% endfor %}{% endfor %}`, "loops exceed the limit of 50000 iterations", 50_001 + 11},
		{"doubling string", `{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}`, bytesLimit, 2 * 26},
		{"doubling with +", `{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`, bytesLimit, 2 * 26},
		{"doubling list", `{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}`, bytesLimit, 2 * 21},
		{"join amplifies", `{{ range(100000)|join('x' * 10000) }}`, "filter join would build", 3},
		{"replace amplifies", `{{ ('x' * 100000)|replace('x', 'y' * 100000) }}`, "filter replace would build", 3},
		{"center", `{{ 'x'|center(2000000000) }}`, "filter center would build", 1},
		{"indent", `{{ ('a\n' * 1000)|indent(2000000) }}`, "filter indent would build", 2},
		{"percent format", `{{ '%2000000000d'|format(1) }}`, "filter format would build", 1},
		{"str.ljust", `{{ 'x'.ljust(2000000000) }}`, "method ljust would build", 1},
		{"str.format", `{{ '{:>2000000000}'.format(1) }}`, "method format would build", 1},
		{"str.join", `{{ '` + strings.Repeat("x", 10000) + `'.join(range(10000)|map('string')) }}`, "method join would build", 10_004},
		{"tojson indent", `{{ messages|tojson(indent=2000000000) }}`, "filter tojson would build", 1},
		{"tojson big indent", `{{ messages|tojson(indent=5000) }}`, "indent 5000 is past the limit of 1000", 1},
		{"tojson long output", `{% set ns = namespace(l=['x' * 1000000]) %}{% for i in range(20) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|tojson }}`, bytesLimit, 2 + 2*20 + 1},
		{"output", `{% for i in range(1000) %}{% for j in range(1000) %}{{ 'x' * 10000 }}{% endfor %}{% endfor %}`, bytesLimit, 2 + 3*(32<<20)/10000 + 3},
		{"nested parentheses", "{{ " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + " }}", "nest 100 deep, past the limit of 64", 0},
		{"100,000 nested parentheses", "{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", "bytes of code, past the limit of 1024", 0},
		{"nested blocks", strings.Repeat("{% if true %}", 1000) + strings.Repeat("{% endif %}", 1000), "nest 1000 deep, past the limit of 64", 0},
		{"long operator chain", "{{ 1" + strings.Repeat(" + 1", 50000) + " }}", "bytes of code, past the limit of 1024", 0},
		{"long attribute chain", "{{ messages" + strings.Repeat(".a", 50000) + " }}", "bytes of code, past the limit of 1024", 0},
		{"huge source", strings.Repeat("x", 2<<20), "past the limit of 1048576", 0},
		{"include file", `{% include '/etc/passwd' %}`, `"include" is not allowed`, 0},
		{"include itself", `{% include 'chat_template.jinja' %}`, `"include" is not allowed`, 0},
		{"import", `{% import '/etc/passwd' as p %}`, `"import" is not allowed`, 0},
		{"from import", `{% from '/etc/passwd' import x %}`, `"from" is not allowed`, 0},
		{"extends", `{% extends '/etc/passwd' %}`, `"extends" is not allowed`, 0},
	}
	counters := DefaultTemplateLimits
	counters.Timeout = time.Hour // the backstop out of the way: the counters alone
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := hostileDir(t, c.template)
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err = tok.ApplyChatTemplate([]Message{{"role": "user", "content": "hi"}}, ChatOptions{Limits: &counters})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			file := filepath.Join(dir, "chat_template.jinja")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("error %v, want one naming %s and %q", err, file, c.want)
			}
			var le *TemplateLimitError
			if !strings.Contains(c.want, "not allowed") {
				if !errors.As(err, &le) || le.Template != file {
					t.Fatalf("error %#v is not a *TemplateLimitError for %s", err, file)
				}
				if le.Steps > c.maxSteps {
					t.Errorf("stopped after %d steps, want at most %d", le.Steps, c.maxSteps)
				}
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			steps := 0
			if le != nil {
				steps = le.Steps
			}
			t.Logf("%d steps, %v, %d MiB allocated: %v", steps, elapsed.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20, err)
		})
	}
}

// matchAny reports whether s contains one of the |-separated parts of want.
func matchAny(s, want string) bool {
	for _, w := range strings.Split(want, "|") {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// TestTemplateLimitsEach checks every limit alone, with the others far away,
// so that each is seen to stop the render with its own error.
func TestTemplateLimitsEach(t *testing.T) {
	far := TemplateLimits{MaxRange: 1 << 30, MaxLoopIterations: 1 << 30, MaxDepth: 1 << 20, MaxBytes: 1 << 40, MaxSteps: 1 << 40, Timeout: time.Hour}
	with := func(f func(*TemplateLimits)) *TemplateLimits { l := far; f(&l); return &l }
	cases := []struct {
		name, template string
		limits         *TemplateLimits
		want           string
	}{
		{"range", `{% for i in range(11) %}{% endfor %}`, with(func(l *TemplateLimits) { l.MaxRange = 10 }), "range() of 11 items exceeds the limit of 10"},
		{"iterations", `{% for i in range(30) %}{% for j in range(30) %}{% endfor %}{% endfor %}`, with(func(l *TemplateLimits) { l.MaxLoopIterations = 500 }), "loops exceed the limit of 500 iterations"},
		{"depth", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, with(func(l *TemplateLimits) { l.MaxDepth = 20 }), "nest deeper than the limit of 20"},
		{"bytes, ~", `{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`, with(func(l *TemplateLimits) { l.MaxBytes = 1 << 20 }), "exceed the limit of 1048576 bytes"},
		{"bytes, output", `{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}`, with(func(l *TemplateLimits) { l.MaxBytes = 1 << 20 }), "exceed the limit of 1048576 bytes"},
		{"bytes, macro output", `{% macro m() %}{% for i in range(100000) %}{{ i }}{% endfor %}{% endmacro %}{{ m() }}`, with(func(l *TemplateLimits) { l.MaxBytes = 1 << 10 }), "exceed the limit of 1024 bytes"},
		{"steps", `{% macro f(n) %}{% if n < 30 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}`, with(func(l *TemplateLimits) { l.MaxSteps = 1000 }), "exceeds the limit of 1000 steps"},
		{"time", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, with(func(l *TemplateLimits) { l.Timeout = 50 * time.Millisecond }), "exceeds the time limit of 50ms"},
	}
	for _, c := range cases {
		tok := chatTokenizer(t, c.template)
		_, err := tok.ApplyChatTemplate(nil, ChatOptions{Limits: c.limits})
		var le *TemplateLimitError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a *TemplateLimitError %q", c.name, err, c.want)
		}
	}
}

// TestRealTemplatesWithinLimits renders every real template with a long
// conversation (2,000 messages, 1 MiB of text) under the default counters
// (the time limit, a backstop that depends on the machine's load, aside).
func TestRealTemplatesWithinLimits(t *testing.T) {
	counters := DefaultTemplateLimits
	counters.Timeout = time.Hour
	var msgs []Message
	for i := 0; i < 2000; i++ {
		role := []string{"user", "assistant"}[i%2]
		msgs = append(msgs, Message{"role": role, "content": strings.Repeat("word ", 100)})
	}
	for _, name := range realTemplates {
		if name == "features.jinja" { // not a model's template
			continue
		}
		tok := chatTokenizer(t, readTemplate(t, name))
		start := time.Now()
		out, err := tok.ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true, Limits: &counters})
		if err != nil || len(out) < 2000*500 {
			t.Errorf("%s: %d bytes, %v", name, len(out), err)
		}
		t.Logf("%s: %d bytes in %v", name, len(out), time.Since(start).Round(time.Millisecond))
	}
}

// TestConcurrentRendersHaveTheirOwnLimits renders real and hostile templates from
// several goroutines at once (run with -race): each render has its own budget, so
// the real ones give the same text as alone and the hostile ones fail.
func TestConcurrentRendersHaveTheirOwnLimits(t *testing.T) {
	msgs := []Message{{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "again"}}
	want := map[string]string{}
	for _, name := range realTemplates {
		if name == "features.jinja" {
			continue
		}
		out, err := chatTokenizer(t, readTemplate(t, name)).ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			t.Fatal(err)
		}
		want[name] = out
	}
	hostile := `{% for i in range(100) %}{% for j in range(100) %}{{ 'x' * 1000 }}{% endfor %}{% endfor %}`
	limits := &TemplateLimits{MaxRange: 1000, MaxLoopIterations: 20_000, MaxDepth: 50, MaxBytes: 1 << 20, MaxSteps: 100_000, Timeout: time.Hour}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for name, w := range want {
				tok := chatTokenizer(t, readTemplate(t, name))
				if g%2 == 1 {
					tok.SetChatTemplate(hostile)
					_, err := tok.ApplyChatTemplate(msgs, ChatOptions{Limits: limits})
					var le *TemplateLimitError
					if !errors.As(err, &le) {
						errs <- fmt.Errorf("hostile render: %v", err)
					}
					continue
				}
				out, err := tok.ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true, Limits: limits})
				if err != nil || out != w {
					errs <- fmt.Errorf("%s: %v, output differs: %v", name, err, out != w)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
