#!/usr/bin/env python3
"""Independent PyTorch run of the `cpu` profile's clean CIFAR-10 recipe, to hold our tfjs numbers against.

Same recipe as `cifar10_resnet20` (benchmarks/src/experiments/vision.ts), written from the papers and torch alone:
  * data: the first `trainLimit` records of CIFAR-10's data_batch_1.bin and `testLimit` of test_batch.bin (the
    official binary format), normalized with the CIFAR-10 channel mean/std; training images zero-padded by 4 pixels
    (before normalization), randomly cropped to 32x32 and flipped left-right with probability 1/2; reshuffled every
    epoch, batches of 128 with the last partial batch kept;
  * model: ResNet-20 with option-A shortcuts (torch_bench.py's), conv kernels Kaiming-normal (fan_out), Linear as
    torch's default, BatchNorm momentum 0.1, eps 1e-5;
  * loss: cross-entropy with label smoothing 0.1; SGD momentum 0.9, weight decay 5e-4 (added to the descent gradient
    at the restored weights, not to the ascent gradient), lr 0.1 with per-step cosine decay to 0;
  * SAM (Foret et al. 2021): e = rho g / ||g||; ASAM (Kwon et al. 2021, p = 2, element-wise): e = rho T^2 g / ||T g||
    with T = |w| + eta for weights (conv, linear, BN scale) and T = 1 for biases and BN shifts, as the official
    code's `'weight' in name` test; descend with the gradient at w + e; BatchNorm running statistics are those of the
    clean pass (the perturbed pass's updates are undone);
  * metric: test accuracy after every epoch (eval mode), best over epochs (the paper's metric) and final; train
    accuracy is that of the clean pass on the augmented batches, averaged over the epoch (as our trainer logs it).

The data order and initialization come from torch's generator, so a seed here is not the same draw as our seed:
compare means and spreads, not per-seed pairs.

Resumable: a checkpoint (model, optimizer, generator, history) is written to --work after every epoch and a rerun
continues from it. The result goes to --out as JSON, written once at the end; an existing result is not overwritten.

Usage (Debian's python: apt install python3-torch):
  /usr/bin/python3 benchmarks/scripts/torch_cifar_reference.py --data $ASAM_DATA_DIR/cifar-10-batches-bin --method asam --seed 0 \
      --out benchmarks/results/cpu/torch-reference/asam-rho0.5-seed0.json --work /tmp/torch-ref [--epochs 120] [--threads 1]
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import ResNet20  # noqa: E402  (the same ResNet-20 the step-time comparison uses)

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.247, 0.2435, 0.2616]).view(1, 3, 1, 1)
RHO = {"sgd": 0.0, "sam": 0.05, "asam": 0.5}


def fail(msg):
    print(f"torch_cifar_reference: {msg}", file=sys.stderr)
    sys.exit(2)


def load_bin(path, limit):
    """Official CIFAR-10 binary records: 1 label byte + 3072 image bytes (R, G, B planes of 32x32)."""
    if not os.path.isfile(path):
        fail(f"{path} not found; pass --data the folder holding data_batch_1.bin and test_batch.bin")
    raw = open(path, "rb").read()
    if len(raw) % 3073:
        fail(f"{path}: {len(raw)} bytes is not a whole number of 3073-byte CIFAR-10 records")
    n = len(raw) // 3073
    if n < limit:
        fail(f"{path} holds {n} records, fewer than the {limit} asked for")
    t = torch.frombuffer(bytearray(raw[: limit * 3073]), dtype=torch.uint8).view(limit, 3073)
    return t[:, 1:].reshape(limit, 3, 32, 32).float().div(255), t[:, 0].long()


def augment(x, gen):
    """Zero-pad 4 (in [0,1] units, before normalization), random 32x32 crop, random horizontal flip."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    tops = torch.randint(0, 9, (n,), generator=gen)
    lefts = torch.randint(0, 9, (n,), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        img = padded[i, :, tops[i]: tops[i] + 32, lefts[i]: lefts[i] + 32]
        out[i] = img.flip(2) if flips[i] else img
    return (out - MEAN) / STD


def init_weights(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def bn_buffers(model):
    return [b for m in model.modules() if isinstance(m, nn.BatchNorm2d) for b in (m.running_mean, m.running_var, m.num_batches_tracked)]


def train_step(model, named, opt, x, y, method, rho, eta):
    """One SGD / SAM / ASAM step; returns (loss, correct) of the clean pass."""
    params = [p for _, p in named]
    opt.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.backward()
    correct = (logits.argmax(1) == y).sum().item()
    if method == "sgd":
        opt.step()
        return loss.item(), correct
    with torch.no_grad():
        t = [(p.abs() + eta) if method == "asam" and "weight" in n else None for n, p in named]
        tg = [g.grad * ti if ti is not None else g.grad for g, ti in zip(params, t)]
        norm = torch.norm(torch.stack([v.norm(2) for v in tg]), 2) + 1e-12
        eps = [(v * ti if ti is not None else v) * (rho / norm) for v, ti in zip(tg, t)]
        for p, e in zip(params, eps):
            p.add_(e)
        saved = [b.clone() for b in bn_buffers(model)]
    opt.zero_grad()
    F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
    with torch.no_grad():
        for p, e in zip(params, eps):
            p.sub_(e)
        for b, s in zip(bn_buffers(model), saved):
            b.copy_(s)
    opt.step()
    return loss.item(), correct


def evaluate(model, x, y, batch=250):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = model((x[i: i + batch] - MEAN) / STD)
            loss += F.cross_entropy(logits, y[i: i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i: i + batch]).sum().item()
    model.train()
    return loss / x.shape[0], correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--method", required=True, choices=sorted(RHO))
    ap.add_argument("--rho", type=float, default=None)
    ap.add_argument("--eta", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--train-limit", type=int, default=4000)
    ap.add_argument("--test-limit", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    if os.path.exists(a.out):
        fail(f"{a.out} exists (a finished run); choose another --out or remove it to run again")
    rho = RHO[a.method] if a.rho is None else a.rho
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load_bin(os.path.join(a.data, "data_batch_1.bin"), a.train_limit)
    xte, yte = load_bin(os.path.join(a.data, "test_batch.bin"), a.test_limit)

    model = ResNet20()
    init_weights(model)
    named = [(n, p) for n, p in model.named_parameters()]
    opt = torch.optim.SGD([p for _, p in named], lr=0.1, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(a.seed + 1)
    steps_per_epoch = math.ceil(a.train_limit / a.batch)
    total = steps_per_epoch * a.epochs
    history, start_epoch, wall = [], 0, 0.0
    os.makedirs(a.work, exist_ok=True)
    ckpt = os.path.join(a.work, f"{a.method}-rho{rho:g}-seed{a.seed}.pt")
    key = {k: getattr(a, k) for k in ("method", "eta", "seed", "epochs", "train_limit", "test_limit", "batch")} | {"rho": rho}
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        if s.get("key") != key:
            fail(f"{ckpt} is a checkpoint of another configuration ({s.get('key')}); remove it or pass another --work")
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        gen.set_state(s["gen"])
        history, start_epoch, wall = s["history"], s["epoch"], s["wall"]
        print(f"[torch-ref] resumed {ckpt} at epoch {start_epoch}", flush=True)

    model.train()
    for epoch in range(start_epoch, a.epochs):
        t0 = time.time()
        order = torch.randperm(a.train_limit, generator=gen)
        loss_sum, correct = 0.0, 0
        for s in range(steps_per_epoch):
            step = epoch * steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = 0.1 * 0.5 * (1 + math.cos(math.pi * step / total))
            idx = order[s * a.batch: (s + 1) * a.batch]
            loss, c = train_step(model, named, opt, augment(xtr[idx], gen), ytr[idx], a.method, rho, a.eta)
            loss_sum += loss * idx.numel()
            correct += c
        test_loss, test_acc = evaluate(model, xte, yte)
        dt = time.time() - t0
        wall += dt
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / a.train_limit, "train_acc": correct / a.train_limit,
                        "test_loss": test_loss, "test_acc": test_acc, "seconds": dt})
        left = (a.epochs - epoch - 1) * wall / (epoch + 1)  # wall covers every epoch so far, earlier starts too
        print(f"[torch-ref {a.method} seed {a.seed}] epoch {epoch + 1}/{a.epochs} train loss {loss_sum / a.train_limit:.4f} "
              f"acc {100 * correct / a.train_limit:.1f}% | test acc {100 * test_acc:.2f}% | {dt:.1f} s, ~{left / 60:.0f} min left", flush=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "history": history,
                    "epoch": epoch + 1, "wall": wall, "key": key}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    best = max(history, key=lambda h: h["test_acc"])
    result = {"format": "asam-torch-reference/1", "method": a.method, "rho": rho if a.method != "sgd" else None, "eta": a.eta,
              "seed": a.seed, "epochs": a.epochs, "trainLimit": a.train_limit, "testLimit": a.test_limit, "batch": a.batch,
              "best": {"test_acc": best["test_acc"], "epoch": best["epoch"]}, "final": history[-1], "wallSeconds": wall,
              "torch": torch.__version__, "threads": a.threads, "machine": platform.processor() or platform.machine(),
              "history": history}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print(f"[torch-ref] {a.method} seed {a.seed}: best test acc {100 * best['test_acc']:.2f}% (epoch {best['epoch']}), "
          f"final train acc {100 * history[-1]['train_acc']:.1f}%, {wall / 60:.1f} min -> {a.out}", flush=True)


if __name__ == "__main__":
    main()
