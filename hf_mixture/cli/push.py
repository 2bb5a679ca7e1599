"""Push a built folder (all stages, or one with --stage) to a Hub dataset repo.

The token comes from HF_TOKEN or your saved login (`hf auth login`); it is never printed.
"""

from __future__ import annotations

import argparse

from huggingface_hub import get_token

from hf_mixture.export.push import plan_push, push
from hf_mixture.export.remote_out import local_copy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="built folder (what `hf-mixture build --out` wrote)")
    parser.add_argument("repo_id", help="dataset repo on the Hub, `org/name` (created if missing)")
    parser.add_argument("--stage", help="push only this stage (other stages on the Hub are kept)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--revision", help="branch to push to (default: main)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be uploaded and deleted; no Hub call"
    )


def run(args: argparse.Namespace) -> int:
    with local_copy(args.out, [args.stage] if args.stage else None) as folder:  # s3://... too
        return _push(args, folder)


def _push(args: argparse.Namespace, folder) -> int:
    plan = plan_push(
        folder,
        args.repo_id,
        stage=args.stage,
        revision=args.revision,
        private=args.private,
        create_pr=args.create_pr,
    )
    print(plan.describe(folder))
    if args.dry_run:
        print(token_status())
        print("dry run: nothing was sent to the Hub")
        return 0
    info = push(plan, folder)
    print(f"pushed: {getattr(info, 'pr_url', None) or getattr(info, 'commit_url', info)}")
    return 0


def token_status() -> str:
    """Whether a Hub token is available (HF_TOKEN or a saved login); never the token itself."""
    if get_token() is None:
        return "Hub login: no token found; a real push needs HF_TOKEN or `hf auth login`"
    return "Hub login: a token is available (HF_TOKEN or saved login); it is not shown"
