"""Failures that are the user's to fix end in exit 2 with a message naming what, where and how; never
exit 1 or a traceback (hf_mixture/failures.py, cli/main.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import cli_env, run_cli, small_t2i_stage

from hf_mixture.cli.main import SUBCOMMANDS

pytest_plugins = ["publish_fixtures"]

NO_AWS = {  # credentials nowhere: not in the environment, no config files
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_PROFILE": "",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _user_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return done.stderr


def test_push_without_network_says_the_hub_is_unreachable_and_hides_the_token(demo_folder):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    token = "hf_" + "Zq7" * 10
    done = run_cli(
        "push", str(demo_folder), "nobody-org/mix", "--stage", "s1-gnd",
        env={"HF_ENDPOINT": endpoint, "HF_TOKEN": token, "HF_HUB_OFFLINE": "0"},
    )  # fmt: skip
    err = _user_error(done)
    assert f"could not reach the Hub ({endpoint})" in err and "HF_ENDPOINT" in err
    assert token not in done.stdout + err


def test_build_to_a_missing_bucket_fails_before_building(s3_env, tmp_path):
    config = small_t2i_stage(tmp_path, "a", 2)
    done = run_cli("build", str(config), "--out", "s3://no-such-bucket-x/prefix")
    err = _user_error(done)
    assert "--out s3://no-such-bucket-x/prefix" in err and "bucket" in err
    assert "rows" not in done.stdout  # nothing was built


def test_build_to_s3_without_credentials_fails_before_building(s3_env, tmp_path):
    bucket = s3_env.make_bucket()
    config = small_t2i_stage(tmp_path, "a", 2)
    done = run_cli("build", str(config), "--out", f"s3://{bucket}/prefix", env=NO_AWS)
    err = _user_error(done)
    assert f"--out s3://{bucket}/prefix" in err and "credentials" in err
    assert "rows" not in done.stdout


@pytest.mark.parametrize("command", [["validate"], ["preview", "--stage", "a", "--to", "p.html"]])
def test_reading_an_s3_folder_without_credentials_names_the_folder(s3_env, command, tmp_path):
    url = f"s3://{s3_env.make_bucket()}/mixture"
    done = run_cli(
        command[0], url, *[str(tmp_path / a) if a == "p.html" else a for a in command[1:]], env=NO_AWS
    )
    err = _user_error(done)
    assert url in err and "credentials" in err


def test_out_that_is_a_file_says_what_and_how(tmp_path):
    config = small_t2i_stage(tmp_path, "a", 2)
    (tmp_path / "taken").write_text("x")
    err = _user_error(run_cli("build", str(config), "--out", str(tmp_path / "taken")))
    assert str(tmp_path / "taken") in err and "not a folder" in err and "choose another path" in err


@pytest.mark.skipif(
    not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs (refuses mkdir, even to root)"
)
def test_out_where_writing_is_refused_says_what_and_how(tmp_path):
    config = small_t2i_stage(tmp_path, "a", 2)
    err = _user_error(run_cli("build", str(config), "--out", "/sys/hf-mixture-out"))
    assert "/sys/hf-mixture-out" in err and "not permitted" in err and "choose a path you can write to" in err


def test_validate_of_a_missing_folder_exits_2_with_how_to_build_it(tmp_path):
    err = _user_error(run_cli("validate", str(tmp_path / "nonexist")))
    assert "does not exist" in err and "hf-mixture build" in err


def test_validate_of_dot_inside_a_built_folder_passes(demo_folder):
    command = [sys.executable, "-m", "hf_mixture.cli.main", "validate", "."]
    done = subprocess.run(
        command, cwd=demo_folder, capture_output=True, text=True, env=cli_env(), timeout=300
    )
    assert done.returncode == 0 and "verdict: PASS" in done.stdout, done.stdout + done.stderr


def test_validate_of_a_folder_failing_a_check_exits_2(demo_copy):
    (demo_copy / "s1-gnd" / "stage.yaml").unlink()
    (demo_copy / "loader.py").write_text("# a dataset script the Hub refuses\n")
    done = run_cli("validate", str(demo_copy))
    assert done.returncode == 2 and "verdict: FAIL" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("delay", [0.5, 0.8, 1.5])  # during the imports, setup, the build
def test_sigterm_at_any_moment_exits_130(tmp_path, delay):
    config = small_t2i_stage(tmp_path, "a", 2)
    command = [
        sys.executable,
        "-m",
        "hf_mixture.cli.main",
        "build",
        str(config),
        "--out",
        str(tmp_path / "o"),
    ]
    process = subprocess.Popen(
        command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode in (0, 130), (process.returncode, err)  # 0: it finished before the signal
    assert "Traceback" not in err


def _bad_arguments(folder, tmp_path) -> list[list[str]]:
    missing = str(tmp_path / "missing")
    config = str(small_t2i_stage(tmp_path, "a", 2))
    return [
        ["build", missing, "--out", str(tmp_path / "o")],
        ["check", missing],
        ["plan", missing],
        ["plan", config, "--probe-rows", "-1"],
        ["functions", "--nonsense"],
        ["validate", missing],
        ["push", missing, "org/mix", "--dry-run"],
        ["push", str(folder), "org/mix", "--stage", "no-such-stage", "--dry-run"],
        ["push", str(folder), "org/mix", "--stage", "s1-gnd"],  # the Hub at a closed port
        ["export", "llava", missing, "--stage", "a", "--to", str(tmp_path / "x")],
        ["export", "llava", str(folder), "--stage", "no-such-stage", "--to", str(tmp_path / "x")],
        ["export", "llamafactory", str(folder), "--stage", "no-such-stage", "--to", str(tmp_path / "y")],
        ["preview", missing, "--stage", "a", "--to", str(tmp_path / "p.html")],
        ["preview", str(folder), "--stage", "no-such-stage", "--to", str(tmp_path / "p.html")],
        ["build", config, "--out", f"http://127.0.0.1:{_closed_port()}/out"],
    ]


def test_every_subcommand_with_bad_arguments_exits_0_or_2_without_traceback(demo_folder, tmp_path):
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_TOKEN": "hf_" + "x" * 20}
    runs = _bad_arguments(demo_folder, tmp_path)
    assert {r[0] for r in runs} == set(SUBCOMMANDS)
    for args in runs:
        done = run_cli(*args, env=env)
        assert done.returncode in (0, 2), (args, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
