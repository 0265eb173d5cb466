package lm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtureModel = "testdata/hf-tiny-llama/model"

// fixtureRaw returns the fixture's config.json (transformers 5 layout) as a map.
func fixtureRaw(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureModel, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["rope_parameters"]; !ok {
		t.Fatal("the fixture config is expected in the transformers 5 layout (rope_parameters)")
	}
	return m
}

// v4 rewrites a transformers 5 config into the transformers 4 layout.
func v4(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	rp := out["rope_parameters"].(map[string]any)
	delete(out, "rope_parameters")
	out["rope_theta"] = rp["rope_theta"]
	out["rope_scaling"] = nil
	out["torch_dtype"] = out["dtype"]
	delete(out, "dtype")
	out["transformers_version"] = "4.46.0"
	return out
}

func parse(t *testing.T, m map[string]any) (*Config, error) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return ParseConfig(b, "cfg/config.json")
}

// withoutRaw returns a copy of c with Raw cleared, to compare the parsed settings.
func withoutRaw(c *Config) Config {
	d := *c
	d.Raw = nil
	return d
}

func TestConfigTransformers4And5Agree(t *testing.T) {
	c5, err := LoadConfig(fixtureModel)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ModelType: "llama", HiddenSize: 64, IntermediateSize: 176, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 16, VocabSize: 512, RMSNormEps: 1e-5,
		RopeTheta: 10000, HiddenAct: "silu", MaxPositionEmbeddings: 512, Dtype: "float32",
		BOSTokenID: 1.0, EOSTokenID: 2.0, Arch: ArchConfig{Activation: "silu"},
	}
	if got := withoutRaw(c5); !reflect.DeepEqual(got, want) {
		t.Fatalf("transformers 5 fixture parsed as\n%+v\nwant\n%+v", got, want)
	}
	if ig, _ := c5.Raw["_ignored_keys"].([]string); len(ig) != 0 {
		t.Fatalf("the fixture has no unknown keys, but _ignored_keys = %v", ig)
	}
	if got := c5.EOSIDs(); !reflect.DeepEqual(got, []int{2}) {
		t.Fatalf("EOSIDs = %v", got)
	}

	raw4 := v4(fixtureRaw(t))
	c4, err := parse(t, raw4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(withoutRaw(c4), withoutRaw(c5)) {
		t.Fatalf("transformers 4 layout gives\n%+v\ntransformers 5 gives\n%+v", withoutRaw(c4), withoutRaw(c5))
	}

	// Same with a non-default theta, to be sure each layout's theta is really read.
	raw5 := fixtureRaw(t)
	raw5["rope_parameters"].(map[string]any)["rope_theta"] = 500000.0
	raw4 = v4(raw5)
	a, err := parse(t, raw5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parse(t, raw4)
	if err != nil {
		t.Fatal(err)
	}
	if a.RopeTheta != 500000 || b.RopeTheta != 500000 {
		t.Fatalf("rope_theta 500000: transformers 5 gives %v, transformers 4 %v", a.RopeTheta, b.RopeTheta)
	}
}

func TestConfigAccepted(t *testing.T) {
	llama3 := map[string]any{
		"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
		"original_max_position_embeddings": 8192.0,
	}
	cases := []struct {
		name  string
		edit  func(m map[string]any)
		check func(t *testing.T, c *Config)
	}{
		{"llama3 rope_scaling (transformers 4)", func(m map[string]any) {
			delete(m, "rope_parameters")
			m["rope_theta"] = 500000.0
			m["rope_scaling"] = llama3
		}, func(t *testing.T, c *Config) {
			want := RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}
			if c.RopeScaling == nil || !reflect.DeepEqual(*c.RopeScaling, want) || c.RopeScaling.Kind() != "llama3" || c.RopeTheta != 500000 {
				t.Fatalf("rope %+v theta %v", c.RopeScaling, c.RopeTheta)
			}
		}},
		{"llama3 rope_parameters (transformers 5)", func(m map[string]any) {
			rp := map[string]any{"rope_theta": 500000.0}
			for k, v := range llama3 {
				rp[k] = v
			}
			m["rope_parameters"] = rp
		}, func(t *testing.T, c *Config) {
			if c.RopeScaling.Kind() != "llama3" || c.RopeScaling.Factor != 8 || c.RopeScaling.HighFreqFactor != 4 || c.RopeTheta != 500000 {
				t.Fatalf("rope %+v theta %v", c.RopeScaling, c.RopeTheta)
			}
		}},
		{"linear scaling with legacy type key", func(m map[string]any) {
			m["rope_scaling"] = map[string]any{"type": "linear", "factor": 2.0}
			delete(m, "rope_parameters")
		}, func(t *testing.T, c *Config) {
			if c.RopeScaling.Kind() != "linear" || c.RopeScaling.Factor != 2 {
				t.Fatalf("rope %+v", c.RopeScaling)
			}
		}},
		{"unknown harmless key ignored and listed", func(m map[string]any) {
			m["my_custom_note"] = "hello"
			m["another_flag"] = true
		}, func(t *testing.T, c *Config) {
			if got := c.Raw["_ignored_keys"]; !reflect.DeepEqual(got, []string{"another_flag", "my_custom_note"}) {
				t.Fatalf("_ignored_keys = %#v", got)
			}
		}},
		{"math keys set to their neutral values", func(m map[string]any) {
			m["partial_rotary_factor"] = 1.0
			m["qk_layernorm"] = false
			m["attn_logit_softcapping"] = nil
		}, func(t *testing.T, c *Config) {
			if got, _ := c.Raw["_ignored_keys"].([]string); len(got) != 0 {
				t.Fatalf("_ignored_keys = %v", got)
			}
		}},
		{"defaults filled", func(m map[string]any) {
			for _, k := range []string{"num_key_value_heads", "head_dim", "rms_norm_eps", "rope_parameters", "hidden_act"} {
				delete(m, k)
			}
		}, func(t *testing.T, c *Config) {
			if c.NumKeyValueHeads != 4 || c.HeadDim != 16 || c.RMSNormEps != 1e-6 || c.RopeTheta != 10000 || c.RopeScaling != nil {
				t.Fatalf("defaults: kv %d head_dim %d eps %v theta %v rope %+v", c.NumKeyValueHeads, c.HeadDim, c.RMSNormEps, c.RopeTheta, c.RopeScaling)
			}
		}},
		{"qwen2 implies attention bias", func(m map[string]any) { m["model_type"] = "qwen2" }, func(t *testing.T, c *Config) {
			if !c.AttentionBias {
				t.Fatal("qwen2 without attention_bias must use biases")
			}
		}},
		{"eos list", func(m map[string]any) { m["eos_token_id"] = []any{2.0, 7.0} }, func(t *testing.T, c *Config) {
			if got := c.EOSIDs(); !reflect.DeepEqual(got, []int{2, 7}) {
				t.Fatalf("EOSIDs = %v", got)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fixtureRaw(t)
			c.edit(m)
			cfg, err := parse(t, m)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
		})
	}
}

func TestConfigRefused(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]any)
		want []string // substrings of the error
	}{
		{"unknown model_type", func(m map[string]any) { m["model_type"] = "falcon" },
			[]string{"cfg/config.json", `model_type "falcon"`, "llama, mistral, qwen2, qwen3, gemma2"}},
		{"missing model_type", func(m map[string]any) { delete(m, "model_type") },
			[]string{`model_type ""`, "supported: llama, mistral, qwen2"}},
		{"hidden_act gelu", func(m map[string]any) { m["hidden_act"] = "gelu" },
			[]string{"hidden_act", `"gelu"`}},
		{"quantization", func(m map[string]any) { m["quantization"] = map[string]any{"group_size": 64.0, "bits": 7.0} },
			[]string{"quantization", "bits 7", "[2 3 4 5 6 8]"}},
		{"quantization per layer", func(m map[string]any) {
			m["quantization"] = map[string]any{"group_size": 64.0, "bits": 4.0, "model.layers.1.mlp.down_proj": map[string]any{"group_size": 64.0, "bits": 1.0}}
		}, []string{"quantization", `"model.layers.1.mlp.down_proj"`, "bits 1"}},
		{"quantization mode", func(m map[string]any) {
			m["quantization"] = map[string]any{"group_size": 32.0, "bits": 4.0, "mode": "mxfp4"}
		},
			[]string{"quantization", `mode "mxfp4"`}},
		{"quantization_config", func(m map[string]any) { m["quantization_config"] = map[string]any{"quant_method": "awq"} },
			[]string{"quantization_config"}},
		{"partial_rotary_factor 0.5", func(m map[string]any) { m["partial_rotary_factor"] = 0.5 },
			[]string{"partial_rotary_factor", "0.5"}},
		{"logit softcapping", func(m map[string]any) { m["final_logit_softcapping"] = 30.0 },
			[]string{"final_logit_softcapping"}},
		{"unsupported rope type", func(m map[string]any) {
			m["rope_parameters"] = map[string]any{"rope_type": "yarn", "factor": 4.0, "rope_theta": 10000.0}
		}, []string{`"yarn"`}},
		{"zero vocab", func(m map[string]any) { m["vocab_size"] = 0 }, []string{"vocab_size"}},
		{"heads not a multiple of kv heads", func(m map[string]any) { m["num_key_value_heads"] = 3 },
			[]string{"num_attention_heads 4", "num_key_value_heads 3"}},
		{"wrong JSON type", func(m map[string]any) { m["hidden_size"] = "64" }, []string{"cfg/config.json", "hidden_size"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fixtureRaw(t)
			c.edit(m)
			_, err := parse(t, m)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q lacks %q", err, s)
				}
			}
		})
	}
	if _, err := ParseConfig([]byte("{not json"), "x/config.json"); err == nil || !strings.Contains(err.Error(), "x/config.json") {
		t.Fatalf("malformed JSON: %v", err)
	}
	if _, err := LoadConfig(t.TempDir()); err == nil {
		t.Fatal("LoadConfig of a folder without config.json succeeded")
	}
}
