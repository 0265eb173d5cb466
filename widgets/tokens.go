package widgets

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Tokens displays text token by token, each token's background shaded by the probability the
// model gave it: red near 0, through yellow, to green near 1, so the spans where the model was
// unsure stand out. Hovering a token shows its probability. A non-finite probability is shown
// grey. Empty input, or a different number of tokens and probabilities, shows a message
// instead. Outside a notebook it prints each token with its probability.
func Tokens(title string, tokens []string, probs []float64) {
	show(func() string { return TokensHTML(title, tokens, probs) }, func() string { return tokensText(title, tokens, probs) })
}

func tokensCheck(title string, tokens []string, probs []float64) error {
	if len(tokens) == 0 {
		return inputError("Tokens", title, "no tokens")
	}
	if len(tokens) != len(probs) {
		return inputError("Tokens", title, "%d tokens but %d probabilities", len(tokens), len(probs))
	}
	return nil
}

// probColor is the background of a token of probability p: hue 0 (red) to 120 (green).
func probColor(p float64) string {
	if !finite(p) {
		return "#cccccc"
	}
	p = math.Max(0, math.Min(1, p))
	return fmt.Sprintf("hsl(%d,75%%,78%%)", int(math.Round(120*p)))
}

// TokensHTML returns the fragment Tokens displays: a div of class mlxgo-tokens holding one
// span per token (with its probability in data-p and its tooltip), or an error message.
func TokensHTML(title string, tokens []string, probs []float64) string {
	if err := tokensCheck(title, tokens, probs); err != nil {
		return errorHTML(err)
	}
	var b strings.Builder
	b.WriteString(`<div class="mlxgo-tokens" style="font-family:monospace;font-size:13px;line-height:1.9;max-width:1000px;">`)
	if title != "" {
		fmt.Fprintf(&b, `<div style="font-weight:bold;font-family:sans-serif;margin-bottom:4px;">%s</div>`, html.EscapeString(title))
	}
	for i, tok := range tokens {
		p := probs[i]
		tip := "p = NaN/Inf"
		if finite(p) {
			tip = fmt.Sprintf("p = %.4f", p)
		}
		fmt.Fprintf(&b, `<span class="mlxgo-token" data-p="%s" title="%s" style="background:%s;white-space:pre;padding:1px 0;border-right:1px solid #fff;">%s</span>`,
			jsonFloat(p), html.EscapeString(tip), probColor(p), html.EscapeString(tok))
	}
	b.WriteString(`<div style="font-family:sans-serif;font-size:11px;color:#555;margin-top:4px;">probability: `)
	for _, p := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<span style="background:%s;padding:0 6px;margin-right:2px;">%.2g</span>`, probColor(p), p)
	}
	b.WriteString("</div></div>")
	return b.String()
}

func tokensText(title string, tokens []string, probs []float64) string {
	if err := tokensCheck(title, tokens, probs); err != nil {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(title)
	for i, t := range tokens {
		fmt.Fprintf(&b, "\n  %-16q p=%.4f", t, probs[i])
	}
	return b.String()
}
