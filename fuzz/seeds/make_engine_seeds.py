#!/usr/bin/env python3
"""Writes the engine target's seeds: random bytes of 2 to 8 KiB, which the
target's hand-written decoder turns into histories of hundreds of
operations (libFuzzer alone grows inputs too slowly to get there).
Deterministic: rerunning it rewrites the same files.
    python3 fuzz/seeds/make_engine_seeds.py
"""
import os
import random

directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine")
os.makedirs(directory, exist_ok=True)
rng = random.Random(20240601)
for index in range(12):
    size = rng.randint(2048, 8192)
    data = bytes(rng.getrandbits(8) for _ in range(size))
    with open(os.path.join(directory, f"random-{index:02}-{size}"), "wb") as file:
        file.write(data)
