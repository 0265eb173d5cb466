package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// readJSONFile decodes dir/name into a generic value; a missing file gives
// (nil, nil).
func readJSONFile(dir, name string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	v, err := decodeAny(data)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %v", name, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a JSON object at the top level", name)
	}
	return m, nil
}

// tokenName reads a special token field of tokenizer_config.json, which is
// a string, an AddedToken object {"content": ...}, or null.
func tokenName(cfg map[string]any, key string) (string, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		if c, ok := x["content"].(string); ok {
			return c, nil
		}
		return "", fmt.Errorf("tokenizer_config.json: %s.content: expected a string", key)
	}
	return "", fmt.Errorf("tokenizer_config.json: %s: expected a string or an object with content, got %s", key, jsonType(v))
}

// eosIDList reads eos_token_id (an integer, a list of integers or null).
func eosIDList(cfg map[string]any, file string) ([]int, error) {
	v, ok := cfg["eos_token_id"]
	if !ok || v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case json.Number:
		id, err := toInt(x, file+": eos_token_id")
		if err != nil {
			return nil, err
		}
		return []int{id}, nil
	case []any:
		var out []int
		for i, e := range x {
			id, err := toInt(e, fmt.Sprintf("%s: eos_token_id[%d]", file, i))
			if err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: eos_token_id: expected an integer or a list of integers, got %s", file, jsonType(v))
}

func (t *Tokenizer) loadConfigs(dir string) error {
	cfg, err := readJSONFile(dir, "tokenizer_config.json")
	if err != nil {
		return err
	}
	addEOS := func(id int) {
		for _, e := range t.eosIDs {
			if e == id {
				return
			}
		}
		t.eosIDs = append(t.eosIDs, id)
	}
	if cfg != nil {
		if t.bosToken, err = tokenName(cfg, "bos_token"); err != nil {
			return err
		}
		if t.eosToken, err = tokenName(cfg, "eos_token"); err != nil {
			return err
		}
		if t.padToken, err = tokenName(cfg, "pad_token"); err != nil {
			return err
		}
		if t.unkToken, err = tokenName(cfg, "unk_token"); err != nil {
			return err
		}
		if id, ok := t.TokenToID(t.bosToken); ok && t.bosToken != "" {
			t.bosID = id
		}
		if id, ok := t.TokenToID(t.eosToken); ok && t.eosToken != "" {
			addEOS(id)
		}
		if id, ok := t.TokenToID(t.padToken); ok && t.padToken != "" {
			t.padID = id
		}
		if v, ok := cfg["chat_template"]; ok && v != nil {
			tpl, err := pickTemplate(v)
			if err != nil {
				return err
			}
			t.chatTemplate, t.hasTemplate = tpl, tpl != ""
			t.chatTemplateFile = filepath.Join(dir, "tokenizer_config.json") + " (chat_template)"
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		t.chatTemplate, t.hasTemplate = string(data), true
		t.chatTemplateFile = filepath.Join(dir, "chat_template.jinja")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tokenizer: %w", err)
	}
	for _, name := range []string{"generation_config.json", "config.json"} {
		c, err := readJSONFile(dir, name)
		if err != nil {
			return err
		}
		if c == nil {
			continue
		}
		ids, err := eosIDList(c, name)
		if err != nil {
			return err
		}
		for _, id := range ids {
			addEOS(id)
		}
	}
	return nil
}

// pickTemplate reads tokenizer_config.json's chat_template: a string, or a
// list of {"name", "template"} from which "default" is taken.
func pickTemplate(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return "", fmt.Errorf("tokenizer_config.json: chat_template[%d]: expected an object with name and template", i)
			}
			if m["name"] == "default" {
				s, ok := m["template"].(string)
				if !ok {
					return "", fmt.Errorf("tokenizer_config.json: chat_template[%d].template: expected a string", i)
				}
				return s, nil
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("tokenizer_config.json: chat_template: expected a string or a list, got %s", jsonType(v))
}
