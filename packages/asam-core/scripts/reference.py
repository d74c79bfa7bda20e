"""Reference numbers for @asam/core, computed with PyTorch (Debian's python3-torch).

Independent implementation of SAM (Foret et al. 2021) and ASAM (Kwon et al. 2021) written the way
the authors' PyTorch code is: a per-parameter ascent step that perturbs p in place, a second
forward/backward, a descent step that restores p and calls the base torch optimizer.
Weight decay is torch's coupled `weight_decay` of the base optimizer (added at the restored w).

Network: x[8,4] -> dense1 (kernel [4,5], bias [5]) -> ReLU -> dense2 (kernel [5,3], bias [3]) -> mean
softmax cross-entropy. Kernels are stored as [in, out] (the tfjs layout). Run:

    /usr/bin/python3 packages/asam-core/scripts/reference.py > packages/asam-core/fixtures/reference.json
"""
import json
import torch

torch.set_default_dtype(torch.float64)  # float64 reference; the float32 tfjs result is compared at 1e-5 relative
g = torch.Generator().manual_seed(20210211)
X = torch.randn(8, 4, generator=g)
Y = torch.randint(0, 3, (8,), generator=g)
INIT = {
    "dense1/kernel": torch.randn(4, 5, generator=g) * 0.7,
    "dense1/bias": torch.randn(5, generator=g) * 0.1,
    "dense2/kernel": torch.randn(5, 3, generator=g) * 0.7,
    "dense2/bias": torch.randn(3, generator=g) * 0.1,
}
NAMES = list(INIT)


def loss_fn(P):
    h = torch.relu(X @ P["dense1/kernel"] + P["dense1/bias"])
    logits = h @ P["dense2/kernel"] + P["dense2/bias"]
    return torch.nn.functional.cross_entropy(logits, Y)


def normalized(name):
    # the official code tests `'weight' in n` on PyTorch names; in tfjs names the weights are 'kernel'
    return name.endswith("kernel")


def t_w(p, eta, normalization):
    if normalization == "filterwise":
        # one norm per output unit: the kernel is [in, out], a filter is a column
        return p.norm(dim=0, keepdim=True).expand_as(p) + eta
    return p.abs() + eta


def run(case):
    P = {n: INIT[n].clone().requires_grad_(True) for n in NAMES}
    params = [P[n] for n in NAMES]
    if case["base"] == "momentum":
        opt = torch.optim.SGD(params, lr=case["lr"], momentum=0.9, weight_decay=case["wd"])
    elif case["base"] == "sgd":
        opt = torch.optim.SGD(params, lr=case["lr"], weight_decay=case["wd"])
    else:
        # torch Adam's `weight_decay` is coupled L2 added to the gradient, like ours
        opt = torch.optim.Adam(params, lr=case["lr"], betas=(0.9, 0.999), eps=1e-7, weight_decay=case["wd"])
    rho, method = case["rho"], case["method"]
    steps = []
    for _ in range(case["steps"]):
        opt.zero_grad()
        loss = loss_fn(P)
        loss.backward()
        # ascent step
        eps = {}
        with torch.no_grad():
            if method == "sam":
                norm = torch.norm(torch.stack([P[n].grad.norm(p=2) for n in NAMES]), p=2)
                for n in NAMES:
                    eps[n] = P[n].grad * (rho / (norm + 1e-12))
            else:
                tw = {n: (t_w(P[n], case["eta"], case["normalization"]) if normalized(n) else None) for n in NAMES}
                if case["p"] == "inf":
                    for n in NAMES:
                        s = torch.sign(P[n].grad) * rho
                        eps[n] = s * tw[n] if tw[n] is not None else s
                else:
                    tg = {n: (P[n].grad * tw[n] if tw[n] is not None else P[n].grad) for n in NAMES}
                    norm = torch.norm(torch.stack([tg[n].norm(p=2) for n in NAMES]), p=2)
                    for n in NAMES:
                        e = tg[n] * tw[n] if tw[n] is not None else tg[n]
                        eps[n] = e * (rho / (norm + 1e-12))
            for n in NAMES:
                P[n].add_(eps[n])
        opt.zero_grad()
        ploss = loss_fn(P)
        ploss.backward()
        # descent step: restore w, base optimizer applies the gradient taken at w + eps
        with torch.no_grad():
            for n in NAMES:
                P[n].sub_(eps[n])
        opt.step()
        steps.append({
            "loss": loss.item(),
            "perturbedLoss": ploss.item(),
            "eps": {n: eps[n].flatten().tolist() for n in NAMES},
            "weights": {n: P[n].detach().flatten().tolist() for n in NAMES},
        })
    return steps


CASES = [
    dict(id="sam_momentum", method="sam", rho=0.05, base="momentum", lr=0.1, wd=5e-4, steps=3),
    dict(id="asam_momentum", method="asam", rho=0.5, eta=0.01, p=2, normalization="elementwise", base="momentum", lr=0.1, wd=5e-4, steps=3),
    dict(id="asam_filterwise_sgd", method="asam", rho=0.5, eta=0.01, p=2, normalization="filterwise", base="sgd", lr=0.1, wd=0.0, steps=2),
    dict(id="asam_inf_sgd", method="asam", rho=0.05, eta=0.01, p="inf", normalization="elementwise", base="sgd", lr=0.1, wd=0.0, steps=2),
    dict(id="sam_adam", method="sam", rho=0.1, base="adam", lr=1e-2, wd=1e-4, steps=3),
    dict(id="asam_adam", method="asam", rho=0.2, eta=0.01, p=2, normalization="elementwise", base="adam", lr=1e-2, wd=1e-4, steps=3),
]

out = {
    "generator": "packages/asam-core/scripts/reference.py",
    "torch": torch.__version__,
    "x": X.flatten().tolist(), "xShape": list(X.shape), "y": Y.tolist(),
    "init": {n: INIT[n].flatten().tolist() for n in NAMES},
    "shapes": {n: list(INIT[n].shape) for n in NAMES},
    "cases": [{**c, "steps": run(c)} for c in CASES],
}
print(json.dumps(out, indent=1))
