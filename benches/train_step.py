#!/usr/bin/env python3
"""PyTorch twin of one `lam` training step, used only by `lam bench train`.

It builds the same model as lam-models for a resolved run config (the JSON
form of `RunConfig`, read from stdin), runs the same step on synthetic
batches (augmentation, Adam with the warm-up/decay schedule, gradient-norm
clipping, LAOM's EMA target, the two linear probes with their own Adam) and
prints one JSON object: parameter count and samples/s in f32 and bf16
autocast. The parameter count lets the caller check both sides built the
same network.

usage: train_step.py --image 64 --actions 6 --states 17 --batch 64 \
                     --steps 10 --warmup 2 --threads 2 < config.json
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OBS = 9  # channels of a 3-frame RGB stack


def ortho(layer):
    nn.init.orthogonal_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ortho(nn.Conv2d(c, c, 3, padding=1))
        self.conv2 = ortho(nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.conv2(F.relu6(self.conv1(F.relu6(x))))


class Encoder(nn.Module):
    def __init__(self, c_in, image, depth, scale, num_res):
        super().__init__()
        widths = [16, 32, 32] if depth == "shallow" else [16, 32, 64, 128, 256]
        layers, side = [], image
        for w in widths:
            layers.append(ortho(nn.Conv2d(c_in, w * scale, 3, stride=2, padding=1)))
            layers += [Residual(w * scale) for _ in range(num_res)]
            c_in, side = w * scale, (side + 1) // 2
        self.net = nn.Sequential(*layers)
        self.shape = (c_in, side, side)
        self.dim = c_in * side * side

    def forward(self, x):
        return self.net(x)


class MlpBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.up, self.down = ortho(nn.Linear(d, 4 * d)), ortho(nn.Linear(4 * d, d))
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.down(F.relu6(self.up(x))))


class Head(nn.Module):
    """MLP whose every block is re-conditioned on `cond`."""

    def __init__(self, d_in, d_cond, width, blocks, d_out):
        super().__init__()
        self.inp = ortho(nn.Linear(d_in, width))
        self.mixes = nn.ModuleList(ortho(nn.Linear(width + d_cond, width)) for _ in range(blocks))
        self.blocks = nn.ModuleList(MlpBlock(width) for _ in range(blocks))
        self.out = ortho(nn.Linear(width, d_out))

    def forward(self, x, cond):
        h = self.inp(x)
        for mix, block in zip(self.mixes, self.blocks):
            h = block(mix(torch.cat([h, cond], 1)))
        return self.out(h)


def fsq(z, levels):
    half = torch.tensor([(l - 1) / 2 for l in levels])
    off = torch.tensor([0.5 if l % 2 == 0 else 0.0 for l in levels])
    b = torch.tanh(z) * half - off
    return (b + (torch.round(b) - b).detach() + off) / half


class Laom(nn.Module):
    def __init__(self, m, image, actions, supervised):
        super().__init__()
        self.encoder = Encoder(OBS, image, m["depth"], m["encoder_scale"], m["num_res"])
        e, w, k, z = self.encoder.dim, m["head_width"], m["head_blocks"], m["latent_dim"]
        self.idm = Head(2 * e, 2 * e, w, k, z)
        self.fdm = Head(e, z, w, k, e)
        self.action_head = ortho(nn.Linear(z, actions)) if supervised else None
        self.target = Encoder(OBS, image, m["depth"], m["encoder_scale"], m["num_res"])
        self.target.load_state_dict(self.encoder.state_dict())
        self.target.requires_grad_(False)
        self.tau = m["tau"]

    def embed(self, x):
        return self.encoder(x).flatten(1)

    def latent(self, obs, future):
        n = obs.shape[0]
        e = self.embed(torch.cat([obs, future]))
        pair = torch.cat([e[:n], e[n:]], 1)
        return e[:n], self.idm(pair, pair)

    def loss(self, obs, nxt, future, actions):
        e_t, z = self.latent(obs, future)
        pred = self.fdm(e_t.detach(), z)
        with torch.no_grad():
            target = self.target(nxt).flatten(1)
        return F.mse_loss(pred.float(), target.float()), z, e_t

    def action_loss(self, obs, future, actions):
        return F.mse_loss(self.action_head(self.latent(obs, future)[1]).float(), actions)

    @torch.no_grad()
    def update_target(self):
        for t, p in zip(self.target.parameters(), self.encoder.parameters()):
            t.mul_(1 - self.tau).add_(p, alpha=self.tau)


class Lapo(nn.Module):
    def __init__(self, m, image):
        super().__init__()
        self.levels = m["fsq_levels"]
        z = len(self.levels) if self.levels else m["latent_dim"]
        args = (image, m["depth"], m["encoder_scale"], m["num_res"])
        self.idm_encoder = Encoder(2 * OBS, *args)
        self.idm_head = ortho(nn.Linear(self.idm_encoder.dim, z))
        self.fdm_encoder = Encoder(OBS, *args)
        self.latent_proj = ortho(nn.Linear(z, self.fdm_encoder.dim))
        base = [16, 32, 32] if m["depth"] == "shallow" else [16, 32, 64, 128, 256]
        widths = [w * m["encoder_scale"] for w in reversed(base)]
        c_in, stages = 2 * self.fdm_encoder.shape[0], []
        for i, w in enumerate(widths):
            out = widths[i + 1] if i + 1 < len(widths) else w
            stages.append(nn.ConvTranspose2d(c_in, out, 2, stride=2))
            stages += [Residual(out) for _ in range(m["num_res"])]
            c_in = out
        self.decoder = nn.Sequential(*stages)
        self.out_conv = nn.Conv2d(c_in, OBS, 1)

    def embed(self, x):
        return self.fdm_encoder(x).flatten(1)

    def latent(self, obs, future):
        z = self.idm_head(F.gelu(self.idm_encoder(torch.cat([obs, future], 1)).flatten(1)))
        return None, (fsq(z, self.levels) if self.levels else z)

    def loss(self, obs, nxt, future, actions):
        _, z = self.latent(obs, future)
        c, h, w = self.fdm_encoder.shape
        e = self.fdm_encoder(obs)
        x = torch.cat([e, self.latent_proj(z).view(-1, c, h, w)], 1)
        pred = torch.tanh(self.out_conv(self.decoder(x)))
        return F.mse_loss(pred.float(), nxt), z, e.flatten(1)


class Idm(nn.Module):
    def __init__(self, m, image, actions):
        super().__init__()
        self.encoder = Encoder(OBS, image, m["depth"], m["encoder_scale"], m["num_res"])
        e = self.encoder.dim
        self.head = Head(2 * e, 2 * e, m["head_width"], m["head_blocks"], actions)

    def embed(self, x):
        return self.encoder(x).flatten(1)

    def loss(self, obs, nxt, future, actions):
        n = obs.shape[0]
        e = self.embed(torch.cat([obs, nxt]))
        pair = torch.cat([e[:n], e[n:]], 1)
        return F.mse_loss(self.head(pair, pair).float(), actions), None, e[:n]


class Bc(nn.Module):
    def __init__(self, m, image, actions):
        super().__init__()
        self.encoder = Encoder(OBS, image, m["depth"], m["encoder_scale"], m["num_res"])
        self.output = ortho(nn.Linear(self.encoder.shape[0], actions))

    def embed(self, x):
        return self.encoder(x).mean((2, 3))

    def loss(self, obs, nxt, future, actions):
        e = self.embed(obs)
        return F.mse_loss(self.output(F.relu6(e)).float(), actions), None, e


def augment(x, gen):
    """One random projective map per sample (shift / rotation / perspective
    mixes), bilinear grid sampling with zeros outside."""
    b, _, h, w = x.shape
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.pi / 2
    theta = torch.zeros(b, 3, 3)
    theta[:, 0, 0], theta[:, 0, 1] = angle.cos(), -angle.sin()
    theta[:, 1, 0], theta[:, 1, 1] = angle.sin(), angle.cos()
    theta[:, :2, 2] = (torch.rand(b, 2, generator=gen) * 2 - 1) * 0.125
    theta[:, 2, :2] = (torch.rand(b, 2, generator=gen) * 2 - 1) * 0.05
    theta[:, 2, 2] = 1
    xs = (torch.arange(w) + 0.5) * (2 / w) - 1
    ys = (torch.arange(h) + 0.5) * (2 / h) - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    base = torch.stack([gx, gy, torch.ones_like(gx)]).view(3, h * w)
    mapped = theta @ base
    grid = (mapped[:, :2] / mapped[:, 2:]).permute(0, 2, 1).reshape(b, h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def lr_at(step, warmup, total, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, 1 - (step - warmup) / max(1, total - warmup))


def run(cfg, a, bf16):
    torch.manual_seed(cfg["seed"])
    m, t = cfg["model"], cfg["train"]
    supervised = t["supervision_coef"] > 0
    method = cfg["method"]
    if method == "laom":
        model = Laom(m, a.image, a.actions, supervised)
    elif method == "lapo":
        model = Lapo(m, a.image)
    elif method == "idm":
        model = Idm(m, a.image, a.actions)
    else:
        model = Bc(m, a.image, a.actions)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=t["lr"], eps=1e-8)
    latent = method in ("lapo", "laom")
    with torch.no_grad():
        emb = model.embed(torch.zeros(1, OBS, a.image, a.image)).shape[1]
        z_dim = model.latent(torch.zeros(1, OBS, a.image, a.image), torch.zeros(1, OBS, a.image, a.image))[1].shape[1] if latent else 0
    probes = []
    if latent:
        probes.append(nn.Linear(z_dim, a.actions))
    probes.append(nn.Linear(emb, a.states))
    probe_opts = [torch.optim.Adam(p.parameters(), lr=t["probe_lr"]) for p in probes]

    def frames(n):
        return torch.randint(0, 256, (n, a.image, a.image, OBS), dtype=torch.uint8).permute(0, 3, 1, 2).float() / 127.5 - 1

    n = a.batch
    obs, nxt, fut = frames(n), frames(n), frames(n)
    actions, states = torch.randn(n, a.actions), torch.randn(n, a.states)
    lab_n = t["labeled_batch_size"]
    lab = (frames(lab_n), frames(lab_n), torch.randn(lab_n, a.actions))
    gen = torch.Generator().manual_seed(0)
    clip = t["grad_clip"] if t["grad_clip"] > 0 else float("inf")

    def step(i):
        for g in opt.param_groups:
            g["lr"] = lr_at(i, t["warmup_steps"], t["steps"], t["lr"])
        views = [augment(x, gen) for x in (obs, nxt, fut)] if t["augment"] else [obs, nxt, fut]
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, z, e = model.loss(*views, actions)
            total = loss
            if supervised:
                total = loss + t["supervision_coef"] * model.action_loss(lab[0], lab[1], lab[2])
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, clip).item()
        opt.step()
        if method == "laom":
            model.update_target()
        # Probes: the step's own detached tensors, or (probe_inputs =
        # "clean", augmenting runs) a no-grad pass over the clean batch.
        with torch.no_grad():
            if t["augment"] and t.get("probe_inputs", "step") == "clean":
                z = model.latent(obs, fut)[1] if latent else None
                e = model.embed(obs)
            else:
                z = z.detach() if latent else None
                e = e.detach()
        feats = ([z.float()] if latent else []) + [e.float()]
        targets = ([actions] if latent else []) + [states]
        for p, o, x, y in zip(probes, probe_opts, feats, targets):
            o.zero_grad()
            pl = F.mse_loss(p(x), y)
            pl.backward()
            o.step()
            pl.item()
        loss.item()

    for i in range(a.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(a.steps):
        step(a.warmup + i)
    return n * a.steps / (time.perf_counter() - start), sum(p.numel() for p in params)


def main():
    p = argparse.ArgumentParser()
    for name in ("image", "actions", "states", "batch", "steps", "warmup", "threads"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--bf16", action="store_true", help="also time bf16 autocast")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(sys.stdin)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    out["f32"], out["parameters"] = run(cfg, a, False)
    if a.bf16:
        out["bf16"], _ = run(cfg, a, True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
