# Made with transformers 5.17 and PEFT 0.21 on ../hf-tiny-llama/model (run from the repository root with OUT set):
# a DoRA adapter (use_dora) on q/v/down_proj of block 1, perturbed factors and magnitudes, and its logits.
import torch, peft, os
from transformers import AutoModelForCausalLM
from safetensors.torch import save_file
O = os.environ["OUT"] + "/dora"
m = AutoModelForCausalLM.from_pretrained("mlxgo/lm/testdata/hf-tiny-llama/model", attn_implementation="eager").float().eval()
torch.manual_seed(3)
pm = peft.get_peft_model(m, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], use_dora=True, layers_to_transform=[1], task_type="CAUSAL_LM"))
with torch.no_grad():
    for n, p in pm.named_parameters():
        if "lora_A" in n or "lora_B" in n:
            p.normal_(0, 0.2)
        if "lora_magnitude" in n:
            p.mul_(1 + 0.1 * torch.randn(p.shape))
pm.eval()
ids = torch.randint(3, 500, (2, 10))
with torch.no_grad():
    out = pm(input_ids=ids).logits.float().contiguous()
pm.save_pretrained(O)
os.remove(O + "/README.md")
save_file({"input_ids": ids.to(torch.int32), "logits": out}, O + "/logits.safetensors")
print(peft.__version__, sorted(pm.state_dict().keys())[:0])
from safetensors import safe_open
print(list(safe_open(O + "/adapter_model.safetensors", "pt").keys()))
