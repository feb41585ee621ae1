#!/usr/bin/env python3
"""Train the shipped model: a small HuggingFace TimesformerForVideoClassification (divided
space-time attention) on the synthetic benchmark of staa/synth.

    python3 scripts/model/train_timesformer.py            # the shipped model (make model)
    python3 scripts/model/train_timesformer.py --quick    # smoke run, a few seconds, to a temp dir

Every epoch trains on a fresh split (seed TRAIN_SEED + epoch), generated with the Go command
staa/synth/cmd/synthgen and read with pyarrow; the next epoch's split is generated while the
current one trains. Accuracy is measured on a held-out split (seed VAL_SEED). All seeds are
fixed, so the run is reproducible (up to the floating-point differences between CPUs).

Dense auxiliary supervision: a tiny ViT trained from scratch on the clip label alone sits on
a plateau at chance for thousands of steps (it has to find a small object and then relate
its positions across frames; a 3D CNN learns the same data in ~100 steps). The benchmark's
ground-truth masks break that: a linear head on the last hidden state of every patch token
(t, i, j) is trained to say "background" or "target moving in class c" (the token holds the
target when more than 15 % of its pixels are in the mask), added to the clip loss with weight
--aux-weight. The head is dropped after training: the saved model is a plain
TimesformerForVideoClassification whose logits come from the CLS token as usual.

Curriculum: with the masks the model first learns the axis of motion (horizontal or
vertical) and then, after another plateau, its sign (which needs attention across frames in
the right order). The sign is found sooner on easy clips, so the first epochs use easy
clips (no distractors, plain background, target visible in every frame), then medium ones,
then the benchmark's default clips (CURRICULUM). The learning rate is constant (after a
warmup) until the last stage, over which it decays (cosine).

Writes the HF checkpoint (config.json, model.safetensors) and training.json (the settings,
the wall time and the accuracy) into --out (default models/timesformer-synth/).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import log  # noqa: E402


# (stage, epochs, synthgen flags); the last stage uses the benchmark's defaults. The easy
# stage lasts until an epoch's training accuracy reaches EASY_UNTIL (at least 2 and at most
# EASY_MAX epochs): when the sign plateau ends depends on the run.
CURRICULUM = (
    ("easy", 2, ("-texture", "0", "-noise", "0", "-distractors", "0,0", "-decoy", "0", "-visible", "8,8")),
    ("medium", 2, ("-texture", "50", "-noise", "3", "-distractors", "1,2", "-decoy", "0", "-visible", "5,8")),
    ("default", 34, ()),
)
EASY_UNTIL = 0.95
EASY_MAX = 12
WARMUP_STEPS = 50


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: tiny data, one epoch, temp output")
    p.add_argument("--out", type=Path, default=None, help=f"checkpoint directory (default {common.CHECKPOINT})")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs of default clips only, no curriculum (default: the curriculum, "
                        + " + ".join(f"{n} {name}" for name, n, _ in CURRICULUM) + ")")
    p.add_argument("--train-size", type=int, default=3000, help="clips per epoch (a fresh split each epoch)")
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--aux-weight", type=float, default=1.0, help="weight of the per-token mask loss")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-accuracy", type=float, default=0.95,
                   help="fail (exit 1) when the held-out accuracy is below (not with --quick)")
    a = p.parse_args(argv)
    if a.quick:
        a.epochs, a.train_size, a.val_size = 2, 128, 64
        if a.out is None:
            a.out = Path(tempfile.mkdtemp(prefix="staa-model-quick-")) / "timesformer-synth"
    if a.out is None:
        a.out = common.CHECKPOINT
    if a.quick:   # one epoch of the first and of the last stage
        a.stages = [(CURRICULUM[0][0], 1, CURRICULUM[0][2]), (CURRICULUM[-1][0], 1, ())]
    elif a.epochs is not None:
        a.stages = [("default", a.epochs, ())]
    else:
        a.stages = list(CURRICULUM)
    a.plan = [(name, flags) for name, n, flags in a.stages for _ in range(n)]   # one entry per epoch
    return a


def token_labels(masks, labels, patch):
    """Per-token targets (B, N·T) in HF TimeSformer's token order (patch-major: n·T + t):
    0 for background, 1 + label where more than 15 % of the patch is in the target's mask."""
    b, f, h, w = masks.shape
    gh, gw = h // patch, w // patch
    frac = masks[:, :, :gh * patch, :gw * patch].reshape(b, f, gh, patch, gw, patch).mean((3, 5))
    lab = np.where(frac > 0.15, 1 + labels[:, None, None, None], 0)
    return lab.reshape(b, f, gh * gw).transpose(0, 2, 1).reshape(b, -1).astype(np.int64)


def main(argv=None):
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(common.TORCH_SEED)
    t0 = time.time()

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def load_epoch(e):
        return common.generate_and_load(args.train_size, common.TRAIN_SEED + e, masks=True, extra=args.plan[e][1])

    def extend_easy(epoch):
        """Repeat the easy stage: insert one more easy epoch after epoch."""
        args.plan.insert(epoch + 1, args.plan[epoch])

    next_train = pool.submit(load_epoch, 0)
    val = common.generate_and_load(args.val_size, common.VAL_SEED)
    classes = val["classes"]
    log(f"held-out split: {len(val['labels'])} clips (seed {common.VAL_SEED}), classes {classes}")

    model = common.make_model(classes)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters, config {common.MODEL_CONFIG}")

    k = len(classes)
    aux = torch.nn.Linear(model.config.hidden_size, 1 + k)
    aux_w = torch.tensor([0.1] + [1.0] * k)
    params = list(model.named_parameters()) + [("aux." + n, p) for n, p in aux.named_parameters()]
    decay = [p for n, p in params if p.ndim >= 2 and "embeddings" not in n]
    no_decay = [p for n, p in params if not (p.ndim >= 2 and "embeddings" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(args.train_size / args.batch)
    warm = WARMUP_STEPS
    decay_steps = args.stages[-1][1] * steps_per_epoch     # the last stage decays (cosine)
    state = {"decay_from": None}                           # set when the last stage starts

    def lr_at(step):
        if step < warm:
            return (step + 1) / warm
        if state["decay_from"] is None:
            return 1.0
        q = min(1.0, (step - state["decay_from"]) / decay_steps)
        return 0.5 * (1 + math.cos(math.pi * q))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    loss_fn = torch.nn.CrossEntropyLoss()

    def predict(x):
        with torch.no_grad():
            return model(pixel_values=torch.from_numpy(x)).logits.numpy()

    history = []
    step = 0
    last_stage = args.stages[-1][0]
    epoch = -1
    while epoch + 1 < len(args.plan):
        epoch += 1
        train = next_train.result()
        if args.plan[epoch][0] == last_stage and state["decay_from"] is None:
            state["decay_from"] = step
        model.train()
        order = np.random.default_rng(epoch).permutation(len(train["labels"]))
        te = time.time()
        running, aux_running, seen, correct = 0.0, 0.0, 0, 0
        for i in range(0, len(order), args.batch):
            idx = np.sort(order[i:i + args.batch])
            x = torch.from_numpy(common.normalise(train["clips"][idx]))
            y = torch.from_numpy(train["labels"][idx])
            tokens = torch.from_numpy(token_labels(train["masks"][idx], train["labels"][idx],
                                                   model.config.patch_size))
            seq = model.timesformer(pixel_values=x).last_hidden_state
            logits = model.classifier(seq[:, 0])      # what TimesformerForVideoClassification does
            aux_loss = torch.nn.functional.cross_entropy(aux(seq[:, 1:]).reshape(-1, 1 + k), tokens.reshape(-1),
                                                         weight=aux_w)
            loss = loss_fn(logits, y) + args.aux_weight * aux_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float((loss - args.aux_weight * aux_loss).detach()) * len(idx)
            aux_running += float(aux_loss.detach()) * len(idx)
            seen += len(idx)
            correct += int((logits.argmax(-1) == y).sum())
            if step % 20 == 0:
                log(f"epoch {epoch} step {step} loss {running / seen:.4f} aux {aux_running / seen:.4f} "
                    f"train acc {correct / seen:.3f} lr {sched.get_last_lr()[0]:.2e}")
        del train
        model.eval()
        acc = common.accuracy(predict, val)
        if (args.plan[epoch][0] == "easy" and not args.quick and correct / seen < EASY_UNTIL
                and sum(1 for n, _ in args.plan[:epoch + 1] if n == "easy") < EASY_MAX
                and not (epoch + 1 < len(args.plan) and args.plan[epoch + 1][0] == "easy")):
            extend_easy(epoch)
        if epoch + 1 < len(args.plan):
            next_train = pool.submit(load_epoch, epoch + 1)
        history.append({"epoch": epoch, "stage": args.plan[epoch][0], "train_loss": running / seen,
                        "aux_loss": aux_running / seen, "train_accuracy": correct / seen,
                        "val_accuracy": acc, "seconds": round(time.time() - te, 1)})
        log(f"epoch {epoch} ({args.plan[epoch][0]}): train loss {running / seen:.4f} acc {correct / seen:.3f}, "
            f"held-out acc {acc:.4f} ({time.time() - te:.0f}s)")
    pool.shutdown()

    wall = time.time() - t0
    acc = history[-1]["val_accuracy"]
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    info = {
        "config": common.MODEL_CONFIG,
        "parameters": n_params,
        "classes": classes,
        "train": {"seeds": [common.TRAIN_SEED + e for e in range(len(args.plan))],
                  "curriculum": [{"stage": name, "epochs": sum(1 for n2, _ in args.plan if n2 == name),
                                  "synthgen_flags": " ".join(flags)} for name, _, flags in args.stages],
                  "easy_until_train_accuracy": EASY_UNTIL,
                  "clips_per_epoch": args.train_size, "epochs": len(args.plan), "batch": args.batch,
                  "lr": args.lr, "weight_decay": args.weight_decay, "warmup_steps": WARMUP_STEPS,
                  "aux_weight": args.aux_weight,
                  "aux": "per-token mask/direction head on the last hidden state, dropped after training",
                  "optimizer": "AdamW, linear warmup, constant, cosine decay over the last stage, grad clip 1.0",
                  "torch_seed": common.TORCH_SEED, "threads": args.threads},
        "held_out": {"seed": common.VAL_SEED, "clips": args.val_size, "accuracy": acc,
                     "synthgen_flags": "(defaults)"},
        "synth": {"frames": 8, "size": 64, "options": json.loads(val["meta"]["staa.synth.options"])},
        "normalisation": {"mean": list(common.MEAN), "std": list(common.STD), "scale": "1/255"},
        "wall_seconds": round(wall, 1),
        "history": history,
        "torch": torch.__version__,
        "quick": bool(args.quick),
    }
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    log(f"saved {args.out}: held-out accuracy {acc:.4f}, wall time {wall:.0f}s")
    if not args.quick and acc < args.min_accuracy:
        log(f"FAILED: held-out accuracy {acc:.4f} < {args.min_accuracy}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
