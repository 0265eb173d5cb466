# Makes the architecture goldens in this folder with Hugging Face transformers (and PEFT when
# installed): a tiny random model per architecture (eager attention, float32, norms perturbed
# so a missing or misplaced norm shows), its logits on fixed ids, greedy decoding, and a LoRA
# adapter on every projection with the adapted logits. Run: OUT=dir python3 make_goldens.py
import json, os, sys, traceback

import torch
import transformers
from safetensors.torch import save_file
from transformers import CONFIG_MAPPING, AutoModelForCausalLM

OUT = os.environ.get("OUT", ".")
print("transformers", transformers.__version__, "torch", torch.__version__)
try:
    import peft
    print("peft", peft.__version__)
except ImportError:
    peft = None
    print("peft: not installed; adapters made by hand")

common = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=256,
              rms_norm_eps=1e-6, initializer_range=0.3, tie_word_embeddings=False,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)
attn_mlp = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
short = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
long = [1.2, 2.5, 4.0, 6.0, 9.0, 12.0]
archs = {
    "qwen3": ("qwen3", [dict(common)], attn_mlp),
    "smollm3": ("smollm3", [dict(common, no_rope_layers=[1, 0], use_sliding_window=False)], attn_mlp),
    "gemma2": ("gemma2", [dict(common, tie_word_embeddings=True, query_pre_attn_scalar=16,
                               attn_logit_softcapping=2.0, final_logit_softcapping=2.0,
                               sliding_window=4)], attn_mlp),
    "gemma3": ("gemma3_text", [dict(common, tie_word_embeddings=True, query_pre_attn_scalar=16,
                                    sliding_window=4, layer_types=["sliding_attention", "full_attention"])], attn_mlp),
    "phi3": ("phi3", [
        dict(common, hidden_size=64, head_dim=None, partial_rotary_factor=0.75, original_max_position_embeddings=16,
             max_position_embeddings=64, rope_scaling={"type": "longrope", "short_factor": short, "long_factor": long}),
        dict(common, hidden_size=64, head_dim=None, partial_rotary_factor=0.75, original_max_position_embeddings=16,
             max_position_embeddings=64, rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                                          "short_factor": short, "long_factor": long}),
        dict(common, hidden_size=64, head_dim=None, partial_rotary_factor=0.75)],
        ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]),
}

g = torch.Generator().manual_seed(1234)
ids = torch.randint(3, 96, (2, 12), generator=g)
long_ids = torch.randint(3, 96, (1, 20), generator=g)


def logits(model, x):
    with torch.no_grad():
        return model(input_ids=x).logits.float().contiguous()


def greedy(model, prompt, n):
    x = prompt.clone()
    for _ in range(n):
        nxt = logits(model, x)[:, -1].argmax(-1, keepdim=True)
        x = torch.cat([x, nxt], 1)
    return x[0, prompt.shape[1]:].tolist()


for name, (mt, variants, targets) in archs.items():
    try:
        torch.manual_seed(7)
        cfg = None
        for kw in variants:
            kw = {k: v for k, v in kw.items() if v is not None}
            try:
                cfg = CONFIG_MAPPING[mt](**kw)
                break
            except Exception as e:
                print(name, "config variant refused:", repr(e))
        cfg._attn_implementation = "eager"
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float().eval()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.add_(0.3 * torch.randn(p.shape))
        d = os.path.join(OUT, name)
        model.save_pretrained(os.path.join(d, "model"))
        out = {"input_ids": ids.to(torch.int32), "logits": logits(model, ids)}
        if mt == "phi3":
            out["long_input_ids"] = long_ids.to(torch.int32)
            out["long_logits"] = logits(model, long_ids)
        gen = {"prompt": ids[0, :6].tolist(), "output": greedy(model, ids[:1, :6], 8)}
        # LoRA on every projection, B non-zero so the adapter changes the logits.
        torch.manual_seed(11)
        if peft is not None:
            lc = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, task_type="CAUSAL_LM")
            pm = peft.get_peft_model(model, lc)
            with torch.no_grad():
                for n, p in pm.named_parameters():
                    if "lora_A" in n or "lora_B" in n:
                        p.normal_(0, 0.2)
            pm.eval()
            out["adapter_logits"] = logits(pm, ids)
            pm.save_pretrained(os.path.join(d, "adapter"))
        else:
            ad, sd = {}, dict(model.named_parameters())
            with torch.no_grad():
                for n, p in list(sd.items()):
                    if n.endswith(".weight") and n.split(".")[-2] in targets:
                        o, i = p.shape
                        A, B = 0.2 * torch.randn(4, i), 0.2 * torch.randn(o, 4)
                        ad["base_model.model." + n[:-7] + ".lora_A.weight"] = A
                        ad["base_model.model." + n[:-7] + ".lora_B.weight"] = B
                        p.add_(2.0 * B @ A)
            out["adapter_logits"] = logits(model, ids)
            os.makedirs(os.path.join(d, "adapter"), exist_ok=True)
            save_file(ad, os.path.join(d, "adapter", "adapter_model.safetensors"))
            json.dump({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": targets, "bias": "none",
                       "task_type": "CAUSAL_LM"}, open(os.path.join(d, "adapter", "adapter_config.json"), "w"))
        save_file(out, os.path.join(d, "forward.safetensors"))
        json.dump(gen, open(os.path.join(d, "generate.json"), "w"))
        print(name, "ok", open(os.path.join(d, "model", "config.json")).read())
    except Exception:
        print(name, "FAILED")
        traceback.print_exc()
