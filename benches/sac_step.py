#!/usr/bin/env python3
"""PyTorch twin of one lam SAC update (lam-rl), used only by `lam bench sac`.

Same networks (ReLU MLPs: actor -> mean and log std, twin Q critics with EMA
targets), the same update (critic TD loss, actor loss, temperature loss,
target lerp) with torch.optim.Adam; prints JSON: updates/s and parameter count.

usage: sac_step.py --obs 17 --actions 6 --hidden 256 --layers 2 --batch 256 \
                   --updates 200 --warmup 20 --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(d_in, hidden, layers, d_out):
    dims = [d_in] + [hidden] * layers
    mods = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    mods.append(nn.Linear(dims[-1], d_out))
    return nn.Sequential(*mods)


def main():
    p = argparse.ArgumentParser()
    for name in ("obs", "actions", "hidden", "layers", "batch", "updates", "warmup", "threads"):
        p.add_argument("--" + name, type=int, required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    A = a.actions
    actor = mlp(a.obs, a.hidden, a.layers, 2 * A)
    q1, q2 = mlp(a.obs + A, a.hidden, a.layers, 1), mlp(a.obs + A, a.hidden, a.layers, 1)
    q1_t, q2_t = mlp(a.obs + A, a.hidden, a.layers, 1), mlp(a.obs + A, a.hidden, a.layers, 1)
    q1_t.load_state_dict(q1.state_dict())
    q2_t.load_state_dict(q2.state_dict())
    for p_ in list(q1_t.parameters()) + list(q2_t.parameters()):
        p_.requires_grad_(False)
    log_alpha = torch.zeros((), requires_grad=True)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=3e-4)
    critic_params = list(q1.parameters()) + list(q2.parameters())
    critic_opt = torch.optim.Adam(critic_params, lr=3e-4)
    alpha_opt = torch.optim.Adam([log_alpha], lr=3e-4)
    n = a.batch
    obs, act = torch.randn(n, a.obs), torch.rand(n, A) * 2 - 1
    rew, nxt, term = torch.randn(n, 1), torch.randn(n, a.obs), torch.zeros(n, 1)

    def sample(s):
        out = actor(s)
        mean, log_std = out[:, :A], out[:, A:].clamp(-5, 2)
        eps = torch.randn_like(mean)
        u = mean + log_std.exp() * eps
        gauss = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(1, keepdim=True)
        squash = (2 * (F.softplus(-2 * u) + u - math.log(2))).sum(1, keepdim=True)
        return torch.tanh(u), gauss + squash

    def update():
        alpha = log_alpha.exp().detach()
        with torch.no_grad():
            na, nlp = sample(nxt)
            x = torch.cat([nxt, na], 1)
            y = rew + 0.99 * (1 - term) * (torch.minimum(q1_t(x), q2_t(x)) - alpha * nlp)
        x = torch.cat([obs, act], 1)
        critic_loss = F.mse_loss(q1(x), y) + F.mse_loss(q2(x), y)
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        pa, lp = sample(obs)
        x = torch.cat([obs, pa], 1)
        actor_loss = (alpha * lp - torch.minimum(q1(x), q2(x))).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        alpha_loss = -(log_alpha * (lp.detach() - A)).mean()
        alpha_opt.zero_grad()
        alpha_loss.backward()
        alpha_opt.step()
        with torch.no_grad():
            for t, o in zip(list(q1_t.parameters()) + list(q2_t.parameters()), critic_params):
                t.lerp_(o, 0.005)
        critic_loss.item()
        actor_loss.item()

    for _ in range(a.warmup):
        update()
    start = time.perf_counter()
    for _ in range(a.updates):
        update()
    rate = a.updates / (time.perf_counter() - start)
    params = sum(p_.numel() for p_ in list(actor.parameters()) + critic_params) + 1
    print(json.dumps({"torch": torch.__version__, "updates_per_s": rate, "parameters": params}))


if __name__ == "__main__":
    main()
