"""One process, many library calls (a notebook): the decode pool outlives the thread that made it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from test_streaming_reweight import write_stage

from hf_mixture.media.embed import decode_pool

REPO = Path(__file__).resolve().parent.parent


def test_decode_pool_made_by_a_thread_that_ended_still_decodes():
    made = []
    maker = threading.Thread(target=lambda: made.append(decode_pool(2)))
    maker.start()
    maker.join()
    assert made[0].submit(os.getpid).result(timeout=30) != os.getpid()


def test_threads_asking_at_once_share_one_pool():
    code = textwrap.dedent("""
        import threading
        from hf_mixture.media.embed import decode_pool
        start, pools = threading.Barrier(6), []
        def ask():
            start.wait()
            pools.append(decode_pool(2))
        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(len({id(pool) for pool in pools}))
    """)
    assert run_python(code).split()[-1] == "1"


def run_python(code: str) -> str:
    """The stdout of `code` run by a new Python process with this checkout on its path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.timeout(180)
def test_stream_twice_then_build_in_one_process(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100})
    code = textwrap.dedent(f"""
        from hf_mixture.build import build_stage
        from hf_mixture.streaming import stream_stage
        for _ in range(2):
            rows = list(stream_stage({str(yaml)!r}))
            assert len(rows) >= 24 and rows[0]["image_gen"], len(rows)
        result = build_stage({str(yaml)!r}, {str(tmp_path / "out")!r}, echo=lambda *_: None)
        print(result.written.num_examples)
    """)
    assert int(run_python(code).split()[-1]) >= 24
