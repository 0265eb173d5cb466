# Copied from the project's shared peers folder (shared/peers/torch_lora_bench.py, written for
# mlxgo's side-by-side benchmark) so that `make bench` runs from a clone. Keep it identical
# in what it measures: the figures in the README compare against it.
"""Peer figure: LoRA fine-tuning step throughput of PyTorch on the CPU, for a Llama-shaped model.

Usage: python3 torch_lora_bench.py [--preset smollm135|tiny] [--batch 4] [--seq 128] [--steps 6] [--threads 2]
Prints one JSON line: tokens/sec (median of steps after 2 warm-up steps), step seconds, peak RSS MiB.
"""
import argparse, json, math, resource, time, statistics
import torch, torch.nn as nn, torch.nn.functional as F

PRESETS = {
    "smollm135": dict(vocab=49152, hidden=576, layers=30, heads=9, kv=3, inter=1536),
    "tiny": dict(vocab=512, hidden=64, layers=2, heads=4, kv=2, inter=176),
}

class LoRALinear(nn.Module):
    def __init__(self, base, r, scale):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(base.in_features, r) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(r, base.out_features))
        self.scale = scale
    def forward(self, x):
        return self.base(x) + self.scale * ((x @ self.a) @ self.b)

def rope(x, pos, theta=10000.0):
    d = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    f = pos[:, None].float() * inv[None, :]
    cos, sin = f.cos(), f.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, hd = c["hidden"], c["hidden"] // c["heads"]
        self.c, self.hd = c, hd
        self.w1 = nn.Parameter(torch.ones(h)); self.w2 = nn.Parameter(torch.ones(h))
        self.q = nn.Linear(h, c["heads"] * hd, bias=False); self.k = nn.Linear(h, c["kv"] * hd, bias=False)
        self.v = nn.Linear(h, c["kv"] * hd, bias=False); self.o = nn.Linear(c["heads"] * hd, h, bias=False)
        self.g = nn.Linear(h, c["inter"], bias=False); self.u = nn.Linear(h, c["inter"], bias=False); self.d = nn.Linear(c["inter"], h, bias=False)
    @staticmethod
    def rms(x, w, eps=1e-5):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    def forward(self, x, pos):
        B, T, _ = x.shape
        c, hd = self.c, self.hd
        y = self.rms(x, self.w1)
        q = self.q(y).view(B, T, c["heads"], hd).transpose(1, 2)
        k = self.k(y).view(B, T, c["kv"], hd).transpose(1, 2)
        v = self.v(y).view(B, T, c["kv"], hd).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        rep = c["heads"] // c["kv"]
        k = k.repeat_interleave(rep, dim=1); v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        a = att.softmax(-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        y = self.rms(x, self.w2)
        return x + self.d(F.silu(self.g(y)) * self.u(y))

class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = nn.Embedding(c["vocab"], c["hidden"])
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.wn = nn.Parameter(torch.ones(c["hidden"]))
        self.head = nn.Linear(c["hidden"], c["vocab"], bias=False)
    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, pos)
        return self.head(Block.rms(x, self.wn))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="smollm135"); ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128); ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2); ap.add_argument("--rank", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    c = PRESETS[a.preset]
    m = Model(c)
    for p in m.parameters():
        p.requires_grad_(False)
    for b in m.blocks:
        b.q = LoRALinear(b.q, a.rank, 2.0); b.v = LoRALinear(b.v, a.rank, 2.0)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    times = []
    for i in range(a.steps + 2):
        ids = torch.randint(0, c["vocab"], (a.batch, a.seq + 1))
        t0 = time.perf_counter()
        logits = m(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, c["vocab"]), ids[:, 1:].reshape(-1))
        opt.zero_grad(); loss.backward(); opt.step()
        dt = time.perf_counter() - t0
        if i >= 2:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({"peer": f"pytorch-{torch.__version__}-cpu", "preset": a.preset, "batch": a.batch, "seq": a.seq, "threads": a.threads,
                      "trainable": sum(p.numel() for p in params), "step_s_median": round(med, 4),
                      "tokens_per_s": round(a.batch * a.seq / med, 1),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))

if __name__ == "__main__":
    main()
