#!/usr/bin/env python
"""Push a built mixture folder to the Hub: same arguments as `hf-mixture push`.

python push_to_hub.py OUT org/mixture [--stage S] [--private] [--revision R] [--create-pr] [--dry-run]
"""

import sys

from hf_mixture.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))
