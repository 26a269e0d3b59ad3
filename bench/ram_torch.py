#!/usr/bin/python3
"""ram_torch.py - a PyTorch reference of saccade's recurrent attention model.

The same model as agent/ram.h (retina, glimpse network, ReLU RNN or LSTM core,
Gaussian location policy with REINFORCE and a learned baseline, classifier),
written in PyTorch for two purposes; it is a benchmark tool, never a runtime
dependency of saccade (run it with Debian's /usr/bin/python3 and its
python3-torch and python3-h5py packages).

  ram_torch.py check DUMP.h5
      DUMP.h5 comes from `bench_train --dump DUMP.h5 CONFIG`: saccade's weights,
      one batch of canvases, its labels, the sampled locations (replayed as
      fixed locations), its log-probabilities, loss terms and gradients. Rebuilds
      the model in torch with those weights, runs the same forward and backward,
      and prints the max abs / rel differences per tensor (rel = max |a - b| /
      max |b|, over the tensor). Exits 1 if saccade and float32 torch differ by
      more than 1e-4 relative anywhere. The float64 torch column shows how far
      float32 itself is from exact: a ReLU unit within rounding of 0 can switch
      sides between float32 and float64 (and so move a gradient by ~1e-3), which
      two float32 implementations do not do, so float32 torch is the reference.

  ram_torch.py time [--threads N] [--seconds S] [--tsv FILE] [--label NAME] [--retina vector|loop]
      Times torch's training step (batch 128 of MNIST from data/mnist: indices,
      bytes to floats, forward with sampling, zero grad, backward, Adam) and
      inference (M = 1, batch 1000, no grad) of the paper's MNIST model
      (6 glimpses 8x8, 1 scale, hidden 256). Threads: torch.set_num_threads(N)
      when given; OMP_WAIT_POLICY must be set in the environment (before torch
      loads) to take effect. --retina loop cuts the glimpses one image at a
      time in a Python loop, as the most used PyTorch reimplementation of RAM
      does, instead of one batched gather.

  ram_torch.py table C.tsv TORCH.tsv [TORCH2.tsv ...]
      The speed ratios of saccade (bench_train --tsv) to each torch setting.

Equations (agent/ram.h): per glimpse t
  rho = retina(x, l_t); hg = relu(Wg rho + bg); hl = relu(Wl l_t + bl)
  g = relu(Wa [hg, hl] + ba); h = relu(Wx g + Wh h_prev + b)      (rnn)
  for t < T-1: mu = tanh(loc(sg(h))); s = mu + std eps; l_{t+1} = clamp(s); b_t = Wb sg(h) + bb
  logp = log_softmax(Wc h_{T-1} + bc)
  L = CE + w (-1/B) sum_{b,t} (R - b_t) log pi(s_t|mu_t) + mean_{b,t} (b_t - R)^2
"""
import argparse
import math
import os
import resource
import sys
import time

import numpy as np


def log(*a):
    print(*a, flush=True)


# ---- the model ----------------------------------------------------------------

def build(torch, cfg, dtype):
    nn = torch.nn
    G = cfg["scales"] * cfg["glimpse_size"] ** 2
    HG, HL, GO, H = cfg["glimpse_hidden"], cfg["loc_hidden"], cfg["glimpse_out"], cfg["hidden"]
    gates = 4 * H if cfg["lstm"] else H
    m = nn.Module()
    m.cfg = cfg
    m.Wg = nn.Linear(G, HG)
    m.Wl = nn.Linear(2, HL)
    m.Wa = nn.Linear(HG + HL, GO)
    m.Wx = nn.Linear(GO, gates)
    m.Wh = nn.Linear(H, gates, bias=False)
    if cfg["reinforce"]:
        if cfg["loc_mlp"]:
            m.L1 = nn.Linear(H, cfg["loc_net_hidden"])
        m.L2 = nn.Linear(cfg["loc_net_hidden"] if cfg["loc_mlp"] else H, 2)
        if cfg["baseline"]:
            m.Bl = nn.Linear(H, 1)
    m.Cl = nn.Linear(H, cfg["classes"])
    return m.to(dtype)


# saccade's tensor names -> (torch module, attribute)
NAMES = {
    "glimpse.Wg": ("Wg", "weight"), "glimpse.bg": ("Wg", "bias"),
    "glimpse.Wl": ("Wl", "weight"), "glimpse.bl": ("Wl", "bias"),
    "glimpse.Wa": ("Wa", "weight"), "glimpse.ba": ("Wa", "bias"),
    "core.Wx": ("Wx", "weight"), "core.Wh": ("Wh", "weight"), "core.b": ("Wx", "bias"),
    "loc.W1": ("L1", "weight"), "loc.b1": ("L1", "bias"),
    "loc.W2": ("L2", "weight"), "loc.b2": ("L2", "bias"),
    "baseline.W": ("Bl", "weight"), "baseline.b": ("Bl", "bias"),
    "action.W": ("Cl", "weight"), "action.b": ("Cl", "bias"),
}


def param(m, name):
    mod, attr = NAMES[name]
    return getattr(getattr(m, mod), attr)


def retina(torch, x, l, g, k):
    """x (B,H,W), l (B,2) in [-1,1]^2 as (x, y) -> (B, k g g), as env/retina.c:
    scale s reads the S x S square (S = g 2^s) whose top-left pixel is
    floor(c - S/2 + 1/2), c = (v+1)/2 n, zeros outside, averaged in 2^s blocks."""
    F = torch.nn.functional
    B, H, W = x.shape
    pad = g << (k - 1)
    xp = F.pad(x, (pad, pad, pad, pad))
    bi = torch.arange(B)[:, None, None]
    ld = l.detach().double()
    out = []
    for s in range(k):
        S, f = g << s, 1 << s
        x0 = torch.floor((ld[:, 0] + 1.0) * 0.5 * W - 0.5 * S + 0.5).long().clamp(-S, W)
        y0 = torch.floor((ld[:, 1] + 1.0) * 0.5 * H - 0.5 * S + 0.5).long().clamp(-S, H)
        ar = torch.arange(S)
        rows = (y0 + pad)[:, None] + ar
        cols = (x0 + pad)[:, None] + ar
        p = xp[bi, rows[:, :, None], cols[:, None, :]]
        if f > 1:
            p = F.avg_pool2d(p[:, None], f)[:, 0]
        out.append(p.reshape(B, g * g))
    return torch.cat(out, 1)


def retina_loop(torch, x, l, g, k):
    """The same sensor, one image at a time in a Python loop (the style of the
    most used PyTorch reimplementation of RAM): for the timing comparison only."""
    F = torch.nn.functional
    B, H, W = x.shape
    pad = g << (k - 1)
    xp = F.pad(x, (pad, pad, pad, pad))
    ld = l.detach().double()
    out = []
    for s in range(k):
        S, f = g << s, 1 << s
        x0 = torch.floor((ld[:, 0] + 1.0) * 0.5 * W - 0.5 * S + 0.5).long().clamp(-S, W).tolist()
        y0 = torch.floor((ld[:, 1] + 1.0) * 0.5 * H - 0.5 * S + 0.5).long().clamp(-S, H).tolist()
        p = torch.stack([xp[b, y0[b] + pad:y0[b] + pad + S, x0[b] + pad:x0[b] + pad + S] for b in range(B)])
        if f > 1:
            p = F.avg_pool2d(p[:, None], f)[:, 0]
        out.append(p.reshape(B, g * g))
    return torch.cat(out, 1)


def forward(torch, m, x, std, fixed=None, gen=None):
    """Returns logp (B,C), locs [T x (B,2)], logpi [(B)], base [(B)]."""
    F = torch.nn.functional
    c = m.cfg
    T, B, H = c["glimpses"], x.shape[0], c["hidden"]
    if fixed is not None:
        s = fixed[0]
    elif c.get("first_center"):
        s = torch.zeros(B, 2, dtype=x.dtype)
    else:
        s = torch.rand(B, 2, generator=gen, dtype=x.dtype) * 2 - 1
    l = s.clamp(-1, 1)
    h = cst = None
    locs, logpis, bases = [l], [], []
    for t in range(T):
        rho = (retina_loop if c.get("retina_loop") else retina)(torch, x, l, c["glimpse_size"], c["scales"])
        hg = F.relu(m.Wg(rho))
        hl = F.relu(m.Wl(l))
        g = F.relu(m.Wa(torch.cat([hg, hl], 1)))
        a = m.Wx(g) if h is None else m.Wx(g) + m.Wh(h)
        if c["lstm"]:
            i, f, gg, o = a.split(H, 1)
            i, f, gg, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(gg), torch.sigmoid(o)
            cst = i * gg if cst is None else f * cst + i * gg
            h = o * torch.tanh(cst)
        else:
            h = F.relu(a)
        if t < T - 1:
            if c["reinforce"]:
                hd = h.detach()
                z = F.relu(m.L1(hd)) if c["loc_mlp"] else hd
                mu = torch.tanh(m.L2(z))
                if fixed is not None:
                    s = fixed[t + 1]
                else:
                    s = mu.detach() + std * torch.randn(B, 2, generator=gen, dtype=x.dtype)
                # log N(s; mu, std^2) summed over the two coordinates
                logpis.append(-((s - mu) ** 2).sum(1) / (2 * std * std)
                              - 2 * (math.log(std) + 0.5 * math.log(2 * math.pi)))
                bases.append(m.Bl(hd)[:, 0] if c["baseline"] else torch.zeros(B, dtype=x.dtype))
            else:
                s = fixed[t + 1] if fixed is not None else \
                    torch.rand(B, 2, generator=gen, dtype=x.dtype) * 2 - 1
            l = s.clamp(-1, 1)
            locs.append(l)
    logp = F.log_softmax(m.Cl(h), 1)
    return logp, locs, logpis, bases


def loss(torch, m, logp, y, logpis, bases):
    """The hybrid loss of agent/ram.h; returns (total, xent, reinforce, baseline mse, reward)."""
    F = torch.nn.functional
    c = m.cfg
    B = logp.shape[0]
    xent = F.nll_loss(logp, y)
    R = (logp.argmax(1) == y).to(logp.dtype)
    total = xent
    rf = mse = torch.zeros((), dtype=logp.dtype)
    if c["reinforce"] and logpis:
        lp, b = torch.stack(logpis), torch.stack(bases)
        adv = (R[None, :] - b).detach()
        rf = -(adv * lp).sum() / B
        total = total + c["reinforce_weight"] * rf
        if c["baseline"]:
            mse = ((b - R[None, :]) ** 2).mean()
            total = total + mse
    return total, xent, rf, mse, R.mean()


# ---- check against a dump ----------------------------------------------------------

def cfg_from_attrs(attrs):
    c = {k: attrs[k] for k in attrs}
    for k in ("glimpses", "glimpse_size", "scales", "glimpse_hidden", "loc_hidden", "glimpse_out",
              "hidden", "loc_net_hidden", "classes", "batch", "side"):
        c[k] = int(c[k])
    for k in ("lstm", "loc_mlp", "baseline", "reinforce"):
        c[k] = bool(c[k])
    c["reinforce_weight"] = float(c["reinforce_weight"])
    return c


def run_dump(torch, f, dtype):
    c = cfg_from_attrs(f.attrs)
    m = build(torch, c, dtype)
    with torch.no_grad():
        for name in f["params"]:
            p = param(m, name)
            p.copy_(torch.from_numpy(f["params"][name][()]).reshape(p.shape).to(dtype))
    x = torch.from_numpy(f["x"][()]).to(dtype)
    y = torch.from_numpy(f["labels"][()]).long()
    fixed = torch.from_numpy(f["fixed_loc"][()]).to(dtype)
    std = float(f.attrs["std"])
    logp, locs, logpis, bases = forward(torch, m, x, std, fixed=fixed)
    total, xent, rf, mse, reward = loss(torch, m, logp, y, logpis, bases)
    m.zero_grad()
    total.backward()
    out = {"logp": logp.detach().double().numpy(), "loc": torch.stack(locs).double().numpy(),
           "xent": float(xent), "reinforce": float(rf), "baseline_mse": float(mse), "reward": float(reward)}
    grads = {n: param(m, n).grad.double().numpy().reshape(f["grads"][n].shape) for n in f["grads"]}
    return c, out, grads


def diff(a, b):
    """max |a - b|, and that relative to max |b| (a normwise relative error)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return d, d / scale if scale > 0 else d


def cmd_check(args):
    import h5py
    import torch
    torch.set_num_threads(1)
    with h5py.File(args.dump, "r") as f:
        c, o32, g32 = run_dump(torch, f, torch.float32)
        _, o64, g64 = run_dump(torch, f, torch.float64)
        ours = {"logp": f["out/logp"][()], "loc": f["out/loc"][()]}
        ours_g = {n: f["grads"][n][()] for n in f["grads"]}
        ours_s = {k: float(f.attrs[k]) for k in ("xent", "reward", "baseline_mse")}
        ours_s["reinforce"] = float(f.attrs["reinforce_loss"])
    log(f"# check: {args.dump}: batch {c['batch']}, {c['glimpses']} glimpses of {c['glimpse_size']}x"
        f"{c['glimpse_size']} at {c['scales']} scale(s), {'lstm' if c['lstm'] else 'rnn'} core;"
        f" torch {torch.__version__}")
    log("| tensor | saccade vs torch f32: max abs | max rel | torch f32 vs f64: max abs | max rel | saccade vs f64: max rel |")
    log("|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    rows = [("logp", ours["logp"], o32["logp"], o64["logp"]), ("locations", ours["loc"], o32["loc"], o64["loc"])]
    for k in ("xent", "reinforce", "baseline_mse", "reward"):
        rows.append((k, ours_s[k], o32[k], o64[k]))
    for n in sorted(ours_g):
        rows.append(("grad " + n, ours_g[n], g32[n], g64[n]))
    for name, a, b32, b64 in rows:
        d, r = diff(a, b32)
        d2, r2 = diff(b32, b64)
        _, r3 = diff(a, b64)
        worst = max(worst, r)
        log(f"| {name} | {d:.2e} | {r:.2e} | {d2:.2e} | {r2:.2e} | {r3:.2e} |")
    tol = 1e-4
    ok = worst < tol
    log(f"# largest relative difference of saccade to float32 torch: {worst:.2e} "
        f"({'within' if ok else 'BEYOND'} the tolerance {tol:g})")
    return 0 if ok else 1


# ---- timing ----------------------------------------------------------------------------

def read_idx(path):
    with open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


MNIST_RAM6 = {"glimpses": 6, "glimpse_size": 8, "scales": 1, "glimpse_hidden": 128, "loc_hidden": 128,
              "glimpse_out": 256, "hidden": 256, "lstm": False, "loc_mlp": False, "loc_net_hidden": 64,
              "baseline": True, "reinforce": True, "reinforce_weight": 1.0, "classes": 10}


def median_rate(fn, n_per_call, seconds):
    """Median items/s over 5 chunks by the wall clock, and by process CPU time."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    calls = max(2, int(seconds / 5 / max(one, 1e-6)))
    rates, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        rates.append(calls * n_per_call / (time.perf_counter() - t0))
        cpu.append(calls * n_per_call / (time.process_time() - c0))
    return float(np.median(rates)), float(np.median(cpu))


def cmd_time(args):
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    wait = os.environ.get("OMP_WAIT_POLICY", "unset")
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    imgs = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).copy())
    labels = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    timgs = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")).copy())
    m = build(torch, dict(MNIST_RAM6, retina_loop=args.retina == "loop"), torch.float32)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    B, std = 128, 0.1
    state = {"perm": torch.randperm(imgs.shape[0], generator=gen), "pos": 0}

    def train_step():
        if state["pos"] + B > imgs.shape[0]:
            state["perm"], state["pos"] = torch.randperm(imgs.shape[0], generator=gen), 0
        idx = state["perm"][state["pos"]:state["pos"] + B]
        state["pos"] += B
        x = imgs[idx].float() / 255.0
        y = labels[idx]
        logp, _, logpis, bases = forward(torch, m, x, std, gen=gen)
        total = loss(torch, m, logp, y, logpis, bases)[0]
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    xt = timgs[:1000].float() / 255.0

    def infer():
        with torch.no_grad():
            forward(torch, m, xt, std, gen=gen)[0].argmax(1)

    train_ips, train_cpu = median_rate(train_step, B, args.seconds)
    infer_ips, _ = median_rate(infer, xt.shape[0], args.seconds / 2)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    label = args.label or (f"torch {threads} thread(s), OMP_WAIT_POLICY={wait}"
                           + (", per-image retina loop" if args.retina == "loop" else ""))
    log(f"{label}: train {train_ips:.0f} img/s ({train_cpu:.0f} per CPU-s), inference (M=1, batch 1000) {infer_ips:.0f} img/s, "
        f"peak RSS {rss:.0f} MB (torch {torch.__version__}, {torch.__config__.parallel_info().splitlines()[-1].strip()})")
    if args.tsv:
        with open(args.tsv, "w") as fh:
            fh.write(f"torch\t{label}\t{threads}\t{wait}\t{train_ips:.1f}\t{infer_ips:.1f}\t{rss:.1f}\t{train_cpu:.1f}\n")
    return 0


def cmd_table(args):
    ours = {}
    for line in open(args.c_tsv):
        f = line.rstrip("\n").split("\t")
        if f[0] == "train":
            ours.setdefault(f[1], {})[f[2]] = (float(f[3]), float(f[6]), float(f[7]), float(f[9]))
    cfg = args.config
    if cfg not in ours:
        log(f"ram_torch.py: {cfg} not in {args.c_tsv}")
        return 1
    torch_rows = []
    for p in args.torch_tsv:
        for line in open(p):
            f = line.rstrip("\n").split("\t")
            torch_rows.append((f[1], float(f[4]), float(f[5]), float(f[6]), float(f[7])))
    log(f"\n## saccade ({cfg}) against the PyTorch reference, same machine, same run\n")
    log("Per CPU-s: images per second of CPU time each process used (what other load on the machine hardly moves).\n")
    log("| saccade threads | torch setting | train img/s saccade / torch | ratio | per CPU-s saccade / torch | ratio |"
        " inference img/s saccade / torch | ratio | peak RSS MB saccade / torch |")
    log("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode, (tr, inf, rss, trc) in ours[cfg].items():
        for label, ttr, tinf, trss, ttrc in torch_rows:
            log(f"| {mode} | {label} | {tr:.0f} / {ttr:.0f} | {tr / ttr:.1f}x | {trc:.0f} / {ttrc:.0f} | {trc / ttrc:.1f}x |"
                f" {inf:.0f} / {tinf:.0f} | {inf / tinf:.1f}x | {rss:.0f} / {trss:.0f} |")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dump")
    t = sub.add_parser("time")
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--seconds", type=float, default=4.0)
    t.add_argument("--data", default="data/mnist")
    t.add_argument("--tsv")
    t.add_argument("--label")
    t.add_argument("--retina", choices=["vector", "loop"], default="vector")
    tb = sub.add_parser("table")
    tb.add_argument("c_tsv")
    tb.add_argument("torch_tsv", nargs="+")
    tb.add_argument("--config", default="quick.ini")
    args = ap.parse_args()
    return {"check": cmd_check, "time": cmd_time, "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
