"""The ranks of a training job reading a built stage, run as a new process by the streaming tests.

    python tests/stream_job.py FOLDER STAGE --world-size W --workers K --batch-size B
        [--steps N --save STATE.pt] [--resume STATE.pt]

Each rank (one after the other: ranks never talk to each other) reads epoch 0 through its own
StatefulDataLoader (K worker processes) and prints one JSON line with the ids it read; it stops
after N steps, and rank 0 saves `global_state(loader.state_dict())` when --save is given;
--resume loads such a state (saved at any world size) into every rank's stream first.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torchdata.stateful_dataloader import StatefulDataLoader

from hf_mixture.streaming import global_state, load_mixture


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def run_rank(args, rank: int) -> dict:
    stream = load_mixture(
        args.folder,
        args.stage,
        rank=rank,
        world_size=args.world_size,
        num_workers=args.workers,
        batch_size=args.batch_size,
        shuffle_buffer=args.shuffle_buffer,
        decode=False,
    )
    if args.resume:
        stream.load_state_dict(torch.load(args.resume, weights_only=False))
    loader = StatefulDataLoader(stream, batch_size=args.batch_size, num_workers=args.workers, collate_fn=ids)
    seen = []
    for step, batch in enumerate(loader, 1):
        seen += batch
        if step == args.steps:
            break
    if args.save and rank == 0:
        torch.save(global_state(loader.state_dict()), args.save)
    return {"rank": rank, "ids": seen, "len": len(stream)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("stage")
    parser.add_argument("--world-size", type=int, default=1)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--shuffle-buffer", type=int, default=5)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--save")
    parser.add_argument("--resume")
    args = parser.parse_args()
    for rank in range(args.world_size):
        print(json.dumps(run_rank(args, rank)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
