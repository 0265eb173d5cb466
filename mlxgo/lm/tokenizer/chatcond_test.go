package tokenizer

import "testing"

// TestRewriteConditionals checks the source rewrite of conditional
// expressions that gonja cannot parse where they stand.
func TestRewriteConditionals(t *testing.T) {
	cases := map[string]string{
		`{{ 'a' + (x if c else "") }}`:                   `{{ 'a' + (__mlxgo_cond( c , x , "")) }}`,
		`{%- set v = a if c else b -%}`:                  `{%- set v = __mlxgo_cond( c , a , b) -%}`,
		`{{ f(a if c else b, d) }}`:                      `{{ f(__mlxgo_cond( c , a , b), d) }}`,
		`{{ a if c else b if d else e }}`:                `{{ __mlxgo_cond( c , a , __mlxgo_cond( d , b , e)) }}`,
		`{% for m in xs if m.ok %}{% endfor %}`:          `{% for m in xs if m.ok %}{% endfor %}`,
		`{% if x == 'if' %}y{% else %}z{% endif %}`:      `{% if x == 'if' %}y{% else %}z{% endif %}`,
		`{# a if c else b #}{{ '{{ a if c else b }}' }}`: `{# a if c else b #}{{ '{{ a if c else b }}' }}`,
		`{{ {'k': a if c else b} }}`:                     `{{ {'k': __mlxgo_cond( c , a , b)} }}`,
		"{% raw %}{{ a if c else b }}{% endraw %}":       "{% raw %}{{ a if c else b }}{% endraw %}",
		`{{ f(a, k=b if c else d) }}`:                    `{{ f(a, k=__mlxgo_cond( c , b , d)) }}`,
		`{{ x.elsewhere if y.iffy else z }}`:             `{{ __mlxgo_cond( y.iffy , x.elsewhere , z) }}`,
	}
	for in, want := range cases {
		if got := rewriteConditionals(in); got != want {
			t.Errorf("rewriteConditionals(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// TestConditionalExpressions renders conditional expressions where gonja
// alone cannot parse them, evaluating only the branch chosen (as Python).
func TestConditionalExpressions(t *testing.T) {
	cases := map[string]string{
		`{{ 'a' + ('b' if true else 'c') + ('d' if false else 'e') }}`:                                "abe",
		`{% set v = messages[0].content if messages else 'none' %}{{ v }}`:                            "none",
		`{{ [1 if x is defined else 2, 3]|join(',') }}`:                                               "2,3",
		`{{ (messages[0] if messages|length > 0 else 'empty')|upper }}`:                               "EMPTY",
		`{% for i in range(3) %}{{ ('x' if loop.first else 'y' if loop.last else 'z') }}{% endfor %}`: "xzy",
	}
	for src, want := range cases {
		got, err := chatTokenizer(t, src).ApplyChatTemplate(nil, ChatOptions{})
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", src, got, err, want)
		}
	}
}
