package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CLIJSON encodes text for the "mlxgo tokenize" command and returns the JSON
// object {"ids": [...], "tokens": [...], "text": ...}. With chat, text is a
// JSON array of messages (or a single user message when it is not JSON)
// rendered with the chat template, and "text" is the rendered prompt.
// special is passed to Encode as addSpecial (a chat prompt already carries
// its special tokens, so it is usually false with chat).
func CLIJSON(tok *Tokenizer, text string, chat bool, special bool) ([]byte, error) {
	input := text
	if chat {
		msgs, err := parseCLIMessages(text)
		if err != nil {
			return nil, err
		}
		input, err = tok.ApplyChatTemplate(msgs, ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			return nil, err
		}
	}
	ids, toks := tok.EncodeWithTokens(input, special)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<|im_start|>" readable
	if err := enc.Encode(struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
		Text   string   `json:"text"`
	}{ids, toks, input}); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// parseCLIMessages reads a JSON array of message objects; any other text
// becomes one user message.
func parseCLIMessages(text string) ([]Message, error) {
	v, err := decodeAny([]byte(text))
	if err != nil {
		return []Message{{"role": "user", "content": text}}, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return []Message{{"role": "user", "content": text}}, nil
	}
	msgs := make([]Message, 0, len(arr))
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("tokenizer: chat message %d: expected a JSON object", i)
		}
		msgs = append(msgs, Message(m))
	}
	return msgs, nil
}
