#!/usr/bin/env python3
"""runlog_read.py - read a saccade run log with h5py, as an outside tool would.

    runlog_read.py check LOG [--swmr] [--epochs E]
        open LOG (with swmr=True if asked), run README's example, check the
        schema basics and the values; print a one-line summary.
    runlog_read.py follow LOG [--rows K] [--timeout S]
        open LOG with swmr=True while a trainer writes it and wait until K new
        /train rows have appeared (refreshing the datasets).
    runlog_read.py readme README.md LOG
        run README's Python example (the first ```python block) on LOG.

Exit status: 0 ok, 1 a check failed, 77 h5py is not installed (the C test that
runs this, tests/test_runlog_py.c, then prints SKIPPED loudly). Used by
tests/test_runlog_py.c; needs python3-h5py (scripts/setup.sh installs it).
"""
import sys
import time

try:
    import h5py
    import numpy as np
except ImportError as e:  # the only reason to skip
    print(f"SKIPPED: python3-h5py is not installed ({e}); apt-get install python3-h5py", file=sys.stderr)
    sys.exit(77)


def fail(msg):
    print(f"runlog_read.py: {msg}", file=sys.stderr)
    sys.exit(1)


def complete_rows(group):
    """Rows every column of a table has (an append may be half done)."""
    return min(d.shape[0] for d in group.values() if isinstance(d, h5py.Dataset))


def check(path, swmr, epochs):
    # README's example, as written there
    f = h5py.File(path, "r", swmr=swmr)
    step, xent = f["train/step"][:], f["train/xent"][:]
    val = f["eval/val_err_m1"][:]
    config = f.attrs["config"]

    if f.attrs["format"] != "saccade run log" or int(f.attrs["schema_version"]) != 1:
        fail(f"{path}: format {f.attrs['format']!r} version {f.attrs['schema_version']}")
    if not isinstance(config, str) or "[model]" not in config or "[log]" not in config:
        fail(f"{path}: the config attribute is not the resolved INI text")
    for key in ("command_line", "config_file_text", "saccade_version", "git_commit", "openblas",
                "hdf5_version", "host", "created", "checkpoint"):
        if not isinstance(f.attrs[key], str):
            fail(f"{path}: attribute {key} is not a string")
    if f.attrs["param_count"] <= 0 or f.attrs["flops_per_image"] != 2 * f.attrs["macs_per_image"]:
        fail(f"{path}: parameter count or FLOPs wrong")

    n = complete_rows(f["train"])
    step, xent = step[:n], xent[:n]
    if n < 2 or not np.all(np.diff(step) > 0) or not np.all(np.isfinite(xent)) or not np.all(xent > 0):
        fail(f"{path}: /train has {n} rows, steps {step[:5]}..., xent {xent[:5]}...")
    if not np.all((f["train/reward"][:n] >= 0) & (f["train/reward"][:n] <= 1)):
        fail(f"{path}: rewards outside [0, 1]")

    e = complete_rows(f["eval"])
    if epochs is not None and e != epochs:
        fail(f"{path}: {e} rows of /eval, expected {epochs}")
    if not np.array_equal(f["eval/epoch"][:e], np.arange(1, e + 1)):
        fail(f"{path}: /eval/epoch is {f['eval/epoch'][:e]}")
    if e and not np.all((val[:e] >= 0) & (val[:e] <= 100)):
        fail(f"{path}: validation errors {val[:e]}")

    g = f["glimpses"]
    r = complete_rows({k: g[k] for k in ("epoch", "step", "locations", "probs", "pred", "reward")})
    G, T, C, W = (int(g.attrs[k]) for k in ("count", "glimpses", "classes", "side"))
    H, ch = int(g.attrs.get("height", W)), int(g.attrs.get("channels", 1))
    if g["images"].shape != ((G, H, W) if ch == 1 else (G, H, W, ch)) or g["images"].dtype != np.uint8:
        fail(f"{path}: /glimpses/images is {g['images'].shape} {g['images'].dtype}")
    names = f.attrs["class_names"]  # one string; its lines name the classes
    if not isinstance(names, str) or len(names.split("\n")) != C:
        fail(f"{path}: /@class_names {names!r} does not name {C} classes")
    probs, loc = g["probs"][:r], g["locations"][:r]
    if probs.shape != (r, G, T, C) or loc.shape != (r, G, T, 2):
        fail(f"{path}: glimpse arrays {probs.shape} {loc.shape}")
    if r and (not np.allclose(probs.sum(axis=3), 1, atol=1e-4) or np.abs(loc).max() > 1):
        fail(f"{path}: probabilities do not sum to 1 or locations leave [-1, 1]")
    if r and not np.array_equal(g["pred"][:r], probs[:, :, -1, :].argmax(axis=2)):
        fail(f"{path}: predictions are not the argmax of the last step's probabilities")

    cmd = f["sessions/command_line"].asstr()[:]
    if len(cmd) < 1 or "train" not in cmd[0]:
        fail(f"{path}: /sessions/command_line is {cmd}")
    test = f["eval/test/err_m1"][:complete_rows(f["eval/test"])]
    print(f"{path}: {n} train rows, {e} epochs, {r} glimpse records of {G} images, "
          f"best validation error {np.nanmin(val[:e]) if e else float('nan'):.2f}%, "
          f"test error {test[-1] if len(test) else float('nan'):.2f}%, "
          f"sessions {list(f['sessions/end_reason'][:])}")


def follow(path, rows, timeout):
    deadline = time.time() + timeout
    f = None
    while f is None:
        try:
            f = h5py.File(path, "r", swmr=True)
        except OSError:
            if time.time() > deadline:
                fail(f"{path}: could not open it with swmr=True in {timeout} s")
            time.sleep(0.05)
    d = f["train/step"]
    d.refresh()
    start, seen, last = d.shape[0], set(), -1
    while time.time() < deadline:
        d.refresh()
        n = d.shape[0]
        if n:
            s = int(d[n - 1])
            if s < last:
                fail(f"{path}: step went back from {last} to {s}")
            last = s
        seen.add(n)
        if n >= start + rows:
            print(f"{path}: followed {n - start} new rows live ({len(seen)} states), last step {last}")
            return
        time.sleep(0.01)
    fail(f"{path}: only {d.shape[0] - start} new rows in {timeout} s")


def readme(readme_path, log):
    text = open(readme_path, encoding="utf-8").read()
    start = text.find("```python\n")
    if start < 0:
        fail(f"{readme_path}: no ```python block")
    code = text[start + len("```python\n"):text.index("```", start + 3)]
    lines = [l for l in code.splitlines() if l.strip()]
    if len(lines) > 6:
        fail(f"{readme_path}: the example has {len(lines)} lines")
    quoted = code.split('"')[1]  # the example's file name
    if not quoted.endswith(".h5"):
        fail(f"{readme_path}: the example opens {quoted!r}")
    exec(compile(code.replace(quoted, log), readme_path, "exec"), {})


def main(argv):
    if len(argv) >= 4 and argv[1] == "readme":
        readme(argv[2], argv[3])
        return
    if len(argv) < 3 or argv[1] not in ("check", "follow"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    path, opts = argv[2], argv[3:]

    def opt(name, default, conv):
        return conv(opts[opts.index(name) + 1]) if name in opts else default

    if argv[1] == "check":
        check(path, "--swmr" in opts, opt("--epochs", None, int))
    else:
        follow(path, opt("--rows", 5, int), opt("--timeout", 60.0, float))


if __name__ == "__main__":
    main(sys.argv)
