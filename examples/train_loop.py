"""A tiny CPU training loop over a built mixture: streaming, train-time transforms, data-state resume.

    hf-mixture build configs/demo/s2-256.yaml --out out/mixture
    python examples/train_loop.py out/mixture --steps 6 --checkpoint /tmp/ckpt.pt   # stops after 6 steps
    python examples/train_loop.py out/mixture --steps 12 --checkpoint /tmp/ckpt.pt --resume

The second run continues at step 7 with exactly the batches an uninterrupted 12-step run sees
(the data state is saved with torchdata's StatefulDataLoader). Needs the `train` extra:
`pip install -e ".[train]"`. Each step prints `step N epoch E loss L ids a,b,c`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import torch
    from torchdata.stateful_dataloader import StatefulDataLoader
except ImportError as err:  # pragma: no cover - depends on the environment
    sys.exit(f"this example needs torch and torchdata: pip install -e '.[train]' ({err})")

from hf_mixture.streaming import TrainTransform, load_mixture


class ToyModel(torch.nn.Module):
    """Predicts a target's aesthetic score from its pixels, conditioned on the prompt length."""

    def __init__(self, size: int):
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(4)
        self.head = torch.nn.Linear(3 * 4 * 4 + 1, 1)

    def forward(self, images: torch.Tensor, prompt_chars: torch.Tensor) -> torch.Tensor:
        features = self.pool(images).flatten(1)
        return self.head(torch.cat([features, prompt_chars[:, None] / 1000.0], dim=1)).squeeze(1)


def collate(rows: list[dict]) -> dict:
    """Rows (transformed: `image_gen` holds size x size RGB images) -> tensors."""
    images = np.stack([np.asarray(row["image_gen"][0], dtype=np.float32) / 255.0 for row in rows])
    return {
        "ids": [row["id"] for row in rows],
        "images": torch.from_numpy(images).permute(0, 3, 1, 2),
        "prompt_chars": torch.tensor([float(len(row["conversations"][0]["value"])) for row in rows]),
        "score": torch.tensor([row["gen_score"] if row["gen_score"] is not None else 5.0 for row in rows]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mixture", help="a built mixture folder or a Hub repo id")
    parser.add_argument("--stage", default="s2-256")
    parser.add_argument("--steps", type=int, default=12, help="stop after this many optimizer steps in total")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=64, help="generation target size after crop/pad")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", type=Path, help="save model + data state here at the end")
    parser.add_argument("--resume", action="store_true", help="start from --checkpoint")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    model = ToyModel(args.size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    stream = load_mixture(
        args.mixture,
        args.stage,
        num_workers=args.workers,
        batch_size=args.batch_size,
        seed=args.seed,
        shuffle_buffer=8,
        transform=TrainTransform(size=args.size),
    )
    loader = StatefulDataLoader(
        stream, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate
    )
    step, epoch = 0, 0
    if args.resume:
        checkpoint = torch.load(args.checkpoint, weights_only=False)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        step, epoch = checkpoint["step"], checkpoint["epoch"]
        stream.set_epoch(epoch)
        loader.load_state_dict(checkpoint["loader"])

    while step < args.steps:
        for batch in loader:
            loss = torch.nn.functional.mse_loss(model(batch["images"], batch["prompt_chars"]), batch["score"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            print(
                f"step {step} epoch {epoch} loss {loss.item():.4f} ids {','.join(batch['ids'])}", flush=True
            )
            if step >= args.steps:
                break
        else:  # the epoch ran out: next epoch, new shard order and new random crops
            epoch += 1
            stream.set_epoch(epoch)

    if args.checkpoint:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "loader": loader.state_dict(),
                "step": step,
                "epoch": epoch,
            },
            args.checkpoint,
        )
        print(f"saved {args.checkpoint} at step {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
