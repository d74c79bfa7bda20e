#!/usr/bin/env python3
"""PyTorch CPU peer of `bench:engine` (benchmarks/src/engine-bench): the same workloads and step kinds, timed the same way.

Workloads (matching the TypeScript side):
  * ResNet-20 for CIFAR (He et al. 2016), as @asam/vision's `resnet20`: 16/32/64, 3 basic blocks per stage, BN,
    ReLU, option-A shortcuts (x[:, :, ::2, ::2] zero-padded by the missing channels, half before, half after),
    global average pool, dense; batch of random 32x32x3 images, momentum SGD.
  * Encoder-decoder Transformer close to @asam/nmt's `transformer_small`: 3+3 post-norm layers, d=256, 4 heads,
    FFN 1024, dropout 0.3, one embedding shared by source, target and output (V=8000), sinusoidal positions,
    label-smoothed (0.1) cross-entropy ignoring padding, Adam. Differences from the tfjs model that cost little
    time: torch's nn.Transformer also applies dropout to attention weights and after the FFN ReLU and adds a
    final layer norm to each stack.
Step kinds: forward (eval, no grad), sgd (one forward+backward+base step), sam and asam (two
forward+backward passes: g at w -> e -> g at w+e -> restore w -> base step), as in Foret et al. 2021 and
Kwon et al. 2021 (e = rho * T^2 g / ||T g|| with T = |w| + eta for ASAM, T = I for SAM).

Usage: torch_bench.py '{"threads": 2, "steps": 3, "resnetBatch": 128, "tfmBatch": 32, "seqLen": 32, "channelsLast": false}'
Prints one JSON object: {"torch": version, "threads": n, "resnet20": {kind: {"medianMs":..., "samplesMs": [...]}}, ...}.
"""
import json
import os
import statistics
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

# eval-mode nn.Transformer with a padding mask takes torch's nested-tensor fast path, which warns that the API is a prototype
warnings.filterwarnings("ignore", message=".*nested tensors is in prototype stage.*")


def conv_bn(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3, 1)
        self.stride = stride
        extra = cout - cin
        self.pad = (extra // 2, extra - extra // 2)

    def shortcut(self, x):
        """Option A: parameter-free; subsample by the stride, zero-pad the missing channels."""
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad != (0, 0):
            x = F.pad(x, (0, 0, 0, 0) + self.pad)
        return x

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, n=3, classes=10):
        super().__init__()
        layers = [conv_bn(3, 16, 3, 1), nn.ReLU()]
        cin = 16
        for s, w in enumerate([16, 32, 64]):
            for b in range(n):
                layers.append(Block(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3)))


class Seq2Seq(nn.Module):
    def __init__(self, vocab=8000, d=256, heads=4, ffn=1024, layers=3, dropout=0.3):
        super().__init__()
        self.d = d
        self.dropout = dropout
        self.emb = nn.Embedding(vocab, d, padding_idx=0)
        self.tf = nn.Transformer(d, heads, layers, layers, ffn, dropout, batch_first=True, norm_first=False)
        pe = torch.zeros(512, d)
        pos = torch.arange(512).unsqueeze(1).float()
        div = torch.pow(10000.0, torch.arange(0, d, 2).float() / d)
        pe[:, 0::2] = torch.sin(pos / div)
        pe[:, 1::2] = torch.cos(pos / div)
        self.register_buffer("pe", pe)

    def embed(self, ids):
        return F.dropout(self.emb(ids) * self.d ** 0.5 + self.pe[: ids.shape[1]], self.dropout, self.training)

    def forward(self, src, tgt):
        t = tgt.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        h = self.tf(self.embed(src), self.embed(tgt), tgt_mask=causal,
                    src_key_padding_mask=src == 0, memory_key_padding_mask=src == 0)
        return h @ self.emb.weight.t()


def sharpness_aware_step(params, closure, opt, rho, adaptive, eta=0.01):
    """Two-pass step: g at w, e = rho T^2 g/||T g||, g at w+e, restore w, base step."""
    opt.zero_grad()
    loss = closure()
    loss.backward()
    with torch.no_grad():
        scaled = [(p.abs() + eta) * p.grad if adaptive else p.grad for p in params if p.grad is not None]
        norm = torch.norm(torch.stack([s.norm(2) for s in scaled]), 2) + 1e-12
        eps = []
        for p in params:
            if p.grad is None:
                eps.append(None)
                continue
            e = ((p.abs() + eta) ** 2 * p.grad if adaptive else p.grad) * (rho / norm)
            p.add_(e)
            eps.append(e)
    opt.zero_grad()
    closure().backward()
    with torch.no_grad():
        for p, e in zip(params, eps):
            if e is not None:
                p.sub_(e)
    opt.step()
    return loss


def time_steps(fn, steps):
    fn()  # warm-up
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return {"medianMs": statistics.median(samples), "samplesMs": samples}


def time_step_kinds(model, params, opt, closure, forward, steps):
    """Times forward-only (eval mode, no grad), SGD, SAM (rho 0.05) and ASAM (rho 0.5) steps of one model."""
    def forward_eval():
        model.eval()
        with torch.no_grad():
            forward()
        model.train()

    def sgd():
        opt.zero_grad()
        loss = closure()
        loss.backward()
        opt.step()
        loss.item()

    return {
        "forward": time_steps(forward_eval, steps),
        "sgd": time_steps(sgd, steps),
        "sam": time_steps(lambda: sharpness_aware_step(params, closure, opt, 0.05, False).item(), steps),
        "asam": time_steps(lambda: sharpness_aware_step(params, closure, opt, 0.5, True).item(), steps),
    }


def bench_resnet(batch, steps, channels_last=False):
    torch.manual_seed(0)
    model = ResNet20()
    x = torch.randn(batch, 3, 32, 32)
    if channels_last:  # NHWC activations, as tfjs keeps them
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    params = list(model.parameters())
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    closure = lambda: F.cross_entropy(model(x), y)

    def forward():
        model(x).sum().item()

    return time_step_kinds(model, params, opt, closure, forward, steps)


def bench_transformer(batch, seq, steps):
    torch.manual_seed(0)
    model = Seq2Seq()
    params = list(model.parameters())
    g = torch.Generator().manual_seed(1)
    src = torch.randint(1, 8000, (batch, seq), generator=g)
    tgt = torch.randint(1, 8000, (batch, seq), generator=g)
    for i in range(batch):  # trailing padding as in randomPairs(): row i has seq - (i mod 3) tokens
        if i % 3:
            src[i, seq - (i % 3):] = 0
            tgt[i, seq - (i % 3):] = 0
    opt = torch.optim.Adam(params, lr=1e-4)
    closure = lambda: F.cross_entropy(model(src, tgt).reshape(-1, 8000), tgt.reshape(-1), ignore_index=0, label_smoothing=0.1)

    return time_step_kinds(model, params, opt, closure, lambda: closure().item(), steps)


def main():
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    threads = int(cfg.get("threads", 2))
    steps = int(cfg.get("steps", 3))
    torch.set_num_threads(threads)
    result = {"torch": torch.__version__, "threads": threads, "steps": steps,
              "resnetBatch": cfg.get("resnetBatch", 128), "tfmBatch": cfg.get("tfmBatch", 32), "seqLen": cfg.get("seqLen", 32),
              "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")}
    result["channelsLast"] = bool(cfg.get("channelsLast", False))
    result["resnet20"] = bench_resnet(int(result["resnetBatch"]), steps, result["channelsLast"])
    if not cfg.get("skipTransformer"):
        result["transformer"] = bench_transformer(int(result["tfmBatch"]), int(result["seqLen"]), steps)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
