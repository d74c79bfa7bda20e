#!/usr/bin/python3
"""Reference values for label-smoothed cross-entropy, computed with PyTorch (Debian python3-torch).

The loss is fairseq's `label_smoothed_nll_loss` (fairseq/criterions/label_smoothed_cross_entropy.py), copied
below verbatim in its math, applied to log_softmax(logits), ignoring targets equal to the padding index, summed.

Run: /usr/bin/python3 packages/nmt/scripts/loss_fixture.py > packages/nmt/fixtures/label-smoothed-loss.json
"""
import json

import torch


def label_smoothed_nll_loss(lprobs, target, epsilon, ignore_index=None, reduce=True):
    if target.dim() == lprobs.dim() - 1:
        target = target.unsqueeze(-1)
    nll_loss = -lprobs.gather(dim=-1, index=target)
    smooth_loss = -lprobs.sum(dim=-1, keepdim=True)
    if ignore_index is not None:
        pad_mask = target.eq(ignore_index)
        nll_loss.masked_fill_(pad_mask, 0.0)
        smooth_loss.masked_fill_(pad_mask, 0.0)
    else:
        nll_loss = nll_loss.squeeze(-1)
        smooth_loss = smooth_loss.squeeze(-1)
    if reduce:
        nll_loss = nll_loss.sum()
        smooth_loss = smooth_loss.sum()
    eps_i = epsilon / (lprobs.size(-1) - 1)
    loss = (1.0 - epsilon - eps_i) * nll_loss + eps_i * smooth_loss
    return loss, nll_loss


def case(seed, n, v, pad, eps, n_pad):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, v, generator=g, dtype=torch.float64) * 3
    target = torch.randint(0, v, (n,), generator=g)
    target[target == pad] = (pad + 1) % v
    target[-n_pad:] = pad if n_pad > 0 else target[-n_pad:]
    # Give padded rows extreme logits: they must not matter.
    logits[target == pad] = logits[target == pad] * 100
    lprobs = torch.log_softmax(logits, dim=-1)
    loss, nll = label_smoothed_nll_loss(lprobs, target, eps, ignore_index=pad)
    return {
        "epsilon": eps,
        "pad": pad,
        "logits": logits.tolist(),
        "target": target.tolist(),
        "loss_sum": loss.item(),
        "nll_sum": nll.item(),
        "ntokens": int((target != pad).sum().item()),
    }


cases = [case(0, 7, 5, 1, 0.1, 2), case(1, 12, 11, 0, 0.1, 3), case(2, 6, 4, 0, 0.0, 1), case(3, 9, 8, 2, 0.3, 0)]
print(json.dumps({"generator": "packages/nmt/scripts/loss_fixture.py", "torch": torch.__version__, "cases": cases}, indent=1))
