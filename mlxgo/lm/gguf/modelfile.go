package gguf

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
	"github.com/mlxgo/mlxgo/mlxgo/lm/tokenizer"
)

// WriteModelfile writes an Ollama Modelfile beside the GGUF file at ggufPath ("FROM
// ./file.gguf", the chat template as an Ollama TEMPLATE, the end-of-sequence tokens as
// stop parameters), reading the tokenizer in tokenizerDir, and returns its path.
// `ollama create NAME -f Modelfile` then imports the model.
func WriteModelfile(ggufPath, tokenizerDir string) (string, error) {
	tok, err := tokenizer.Load(tokenizerDir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# Ollama Modelfile written by mlxgo: ollama create NAME -f Modelfile\n")
	fmt.Fprintf(&b, "FROM ./%s\n", filepath.Base(ggufPath))
	if tok.HasChatTemplate() {
		if t, err := OllamaTemplate(tok); err != nil {
			fmt.Fprintf(&b, "# No TEMPLATE: %v.\n# Ollama falls back to the chat template stored in the GGUF file.\n", err)
		} else {
			fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", t)
		}
	}
	seen := map[string]bool{}
	for _, id := range tok.EOSIDs() {
		if s := tok.IDToToken(id); s != "" && !seen[s] {
			seen[s] = true
			fmt.Fprintf(&b, "PARAMETER stop %s\n", strconv.Quote(s))
		}
	}
	path := filepath.Join(filepath.Dir(ggufPath), "Modelfile")
	return path, atomicfile.Write(path, []byte(b.String()))
}

// OllamaTemplate translates the tokenizer's Jinja chat template into an Ollama (Go
// text/template) TEMPLATE over .Messages. The template is rendered on probe conversations
// to find each role's text around the message content; the translation is returned only
// when it reproduces the Jinja rendering of a conversation with a system prompt and two
// user turns exactly (templates that move the system prompt, as Llama 2's and Llama 3's
// do, are refused).
func OllamaTemplate(tok *tokenizer.Tokenizer) (string, error) {
	render := func(gen bool, msgs ...[2]string) (string, error) {
		var ms []tokenizer.Message
		for _, m := range msgs {
			ms = append(ms, tokenizer.Message{"role": m[0], "content": m[1]})
		}
		return tok.ApplyChatTemplate(ms, tokenizer.ChatOptions{AddGenerationPrompt: gen})
	}
	const U, A, U2, S = "\x01user-one\x01", "\x01assistant-one\x01", "\x01user-two\x01", "\x01system\x01"
	user, a, b := [2]string{"user", U}, [2]string{"assistant", A}, [2]string{"user", U2}
	u, err := render(false, user)
	if err != nil {
		return "", err
	}
	ua, err := render(false, user, a)
	if err != nil {
		return "", err
	}
	uau, err := render(false, user, a, b)
	if err != nil {
		return "", err
	}
	withGen, err := render(true, user)
	if err != nil {
		return "", err
	}
	firstPre, userPost, ok := strings.Cut(u, U)
	if !ok || !strings.HasPrefix(ua, u) || !strings.HasPrefix(uau, ua) || !strings.HasPrefix(withGen, u) {
		return "", fmt.Errorf("the chat template does not render turn by turn")
	}
	asstPre, asstPost, _ := strings.Cut(ua[len(u):], A)
	userPre, _, _ := strings.Cut(uau[len(ua):], U2)
	head, ok := strings.CutSuffix(firstPre, userPre)
	if !ok {
		return "", fmt.Errorf("the chat template's first user turn is not a prefix plus a later one")
	}
	gen := withGen[len(u):]
	branches := []string{
		fmt.Sprintf(`{{ if eq .Role "user" }}%s{{ .Content }}%s`, userPre, userPost),
		fmt.Sprintf(`{{ else if eq .Role "assistant" }}%s{{ .Content }}%s`, asstPre, asstPost),
	}
	if su, err := render(false, [2]string{"system", S}, user); err == nil && strings.HasPrefix(su, head) && strings.HasSuffix(su, userPre+U+userPost) {
		if sysPre, sysPost, ok := strings.Cut(su[len(head):len(su)-len(userPre+U+userPost)], S); ok {
			branches = append(branches, fmt.Sprintf(`{{ else if eq .Role "system" }}%s{{ .Content }}%s`, sysPre, sysPost))
		}
	}
	text := head + "{{ range .Messages }}" + strings.Join(branches, "") + "{{ end }}{{ end }}" + gen
	if strings.Contains(text, `"""`) {
		return "", fmt.Errorf(`the chat template's text contains """`)
	}
	// Check the translation on a conversation with every role.
	// A template that rejects system messages is checked without one.
	conv := [][2]string{{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Tell me a story."}}
	want, err := render(true, conv...)
	if err != nil {
		conv = conv[1:]
		if want, err = render(true, conv...); err != nil {
			return "", err
		}
	}
	tt, err := template.New("ollama").Parse(text)
	if err != nil {
		return "", fmt.Errorf("translated template: %w", err)
	}
	type msg struct{ Role, Content string }
	var data struct{ Messages []msg }
	for _, m := range conv {
		data.Messages = append(data.Messages, msg{m[0], m[1]})
	}
	var got strings.Builder
	if err := tt.Execute(&got, data); err != nil {
		return "", fmt.Errorf("translated template: %w", err)
	}
	if got.String() != want {
		return "", fmt.Errorf("the translated template renders %q where the chat template renders %q", got.String(), want)
	}
	return text, nil
}
