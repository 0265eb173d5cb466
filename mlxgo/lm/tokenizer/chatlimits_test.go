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
// memory or the stack, or to read files: each must fail in well under a
// second with an error naming the template file and the limit, having
// allocated a bounded amount of memory.
func TestHostileTemplatesFailFast(t *testing.T) {
	// heavy: on a loaded machine the time limit may come before the limit
	// the template aims at; TestTemplateLimitsEach checks each limit alone.
	const heavy = "exceed the limit of 33554432 bytes|exceeds the time limit of 1s"
	cases := []struct{ name, template, want string }{
		{"huge range", `{% for i in range(100000000) %}{{ i }}{% endfor %}`, "range() of 100000000 items exceeds the limit of 100000"},
		{"huge range, step", `{% for i in range(0, 1000000000, 3) %}{% endfor %}`, "exceeds the limit of 100000"},
		{"self-recursive macro", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, "nest deeper than the limit of 200"},
		{"recursive loop", `{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}`, "nest deeper than the limit of 200"},
		{"string times two billion", `{{ 'x' * 2000000000 }}`, heavy},
		{"nested loops 5000x5000", `{% for i in range(5000) %}{% for j in range(5000) %}{{ j }}{% endfor %}{% endfor %}`, "loops exceed the limit of 50000 iterations|exceeds the time limit of 1s"},
		{"doubling string", `{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}`, heavy},
		{"doubling with +", `{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`, heavy},
		{"doubling list", `{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}`, heavy},
		{"join amplifies", `{{ range(100000)|join('x' * 10000) }}`, "filter join would build|" + heavy},
		{"replace amplifies", `{{ ('x' * 100000)|replace('x', 'y' * 100000) }}`, "filter replace would build"},
		{"center", `{{ 'x'|center(2000000000) }}`, "filter center would build"},
		{"indent", `{{ ('a\n' * 1000)|indent(2000000) }}`, "filter indent would build"},
		{"percent format", `{{ '%2000000000d'|format(1) }}`, "filter format would build"},
		{"str.ljust", `{{ 'x'.ljust(2000000000) }}`, "method ljust would build"},
		{"str.format", `{{ '{:>2000000000}'.format(1) }}`, "method format would build"},
		{"str.join", `{{ '` + strings.Repeat("x", 10000) + `'.join(range(100000)|map('string')) }}`, "method join would build|" + heavy},
		{"tojson indent", `{{ messages|tojson(indent=2000000000) }}`, "filter tojson would build"},
		{"tojson big indent", `{{ messages|tojson(indent=5000) }}`, "indent 5000 is past the limit of 1000"},
		{"tojson long output", `{% set ns = namespace(l=['x' * 1000000]) %}{% for i in range(20) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|tojson }}`, heavy},
		{"output", `{% for i in range(1000) %}{% for j in range(1000) %}{{ 'x' * 10000 }}{% endfor %}{% endfor %}`, heavy},
		{"nested parentheses", "{{ " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + " }}", "nest 100 deep, past the limit of 64"},
		{"100,000 nested parentheses", "{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", "bytes of code, past the limit of 1024"},
		{"nested blocks", strings.Repeat("{% if true %}", 1000) + strings.Repeat("{% endif %}", 1000), "nest 1000 deep, past the limit of 64"},
		{"long operator chain", "{{ 1" + strings.Repeat(" + 1", 50000) + " }}", "bytes of code, past the limit of 1024"},
		{"long attribute chain", "{{ messages" + strings.Repeat(".a", 50000) + " }}", "bytes of code, past the limit of 1024"},
		{"huge source", strings.Repeat("x", 2<<20), "past the limit of 1048576"},
		{"include file", `{% include '/etc/passwd' %}`, `"include" is not allowed`},
		{"include itself", `{% include 'chat_template.jinja' %}`, `"include" is not allowed`},
		{"import", `{% import '/etc/passwd' as p %}`, `"import" is not allowed`},
		{"from import", `{% from '/etc/passwd' import x %}`, `"from" is not allowed`},
		{"extends", `{% extends '/etc/passwd' %}`, `"extends" is not allowed`},
	}
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
			_, err = tok.ApplyChatTemplate([]Message{{"role": "user", "content": "hi"}}, ChatOptions{})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			file := filepath.Join(dir, "chat_template.jinja")
			if err == nil || !matchAny(err.Error(), c.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("error %v, want one naming %s and %q", err, file, c.want)
			}
			var le *TemplateLimitError
			if !strings.Contains(c.want, "not allowed") && (!errors.As(err, &le) || le.Template != file) {
				t.Errorf("error %#v is not a *TemplateLimitError for %s", err, file)
			}
			// The render stops at its deadline; what runs past it is the step under
			// way, which MaxBytes bounds. On a 2-core host shared by ~25 processes a
			// second of wall time is a few hundred ms of CPU: allow 2 s of slack.
			if elapsed > DefaultTemplateLimits.Timeout+2*time.Second {
				t.Errorf("failed after %v, want the time limit (1 s) plus at most 2 s of slack on a loaded host", elapsed)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%v, %d MiB allocated: %v", elapsed.Round(time.Millisecond), (after.TotalAlloc-before.TotalAlloc)>>20, err)
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
	far := TemplateLimits{MaxRange: 1 << 30, MaxLoopIterations: 1 << 30, MaxDepth: 1 << 20, MaxBytes: 1 << 40, Timeout: time.Minute}
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
// conversation (2,000 messages, 1 MiB of text) under the default limits.
func TestRealTemplatesWithinLimits(t *testing.T) {
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
		out, err := tok.ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true})
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
	limits := &TemplateLimits{MaxRange: 1000, MaxLoopIterations: 20_000, MaxDepth: 50, MaxBytes: 1 << 20, Timeout: 10 * time.Second}
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
