#!/usr/bin/env python3
"""Upload benchmark: trustpub vs uv vs twine, side by side, on the same target.

Each tool publishes, with OIDC trusted publishing, to a fresh testbed (its simulated GitHub
issuer and PyPI, on 127.0.0.1):

  (a) 50 small wheels of one project;
  (b) one 1 GiB wheel.

Wall time and peak RSS come from GNU time. The targets (issue #3) are checked and printed:
(a) trustpub at least 2x faster than uv; (b) trustpub's peak RSS at or below uv's, and its wall
time at or below twine's.

Usage (from the repository root, after `bash .ci/setup-tools`):

    python3 bench/pypi_upload.py            # both scenarios (needs ~2.5 GiB of free disk)
    python3 bench/pypi_upload.py --small    # scenario (a) only
    python3 bench/pypi_upload.py --large-size-mib 256   # a smaller "large" wheel
"""

import argparse
import json
import ssl
import statistics
import urllib.request
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(os.environ.get("TRUSTPUB_TOOLS_BIN", ROOT / ".ci" / "venv" / "bin"))
TARGET = ROOT / "target" / "release"


def build() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "-p", "trustpub", "-p", "trustpub-testbed"],
        cwd=ROOT,
        check=True,
    )


def write_wheel(directory: Path, name: str, version: str, payload_bytes: int) -> Path:
    module = name.replace("-", "_")
    path = directory / f"{module}-{version}-py3-none-any.whl"
    dist_info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as wheel:
        wheel.writestr(f"{module}/__init__.py", "VALUE = 1\n")
        if payload_bytes:
            with wheel.open(f"{module}/payload.bin", "w", force_zip64=True) as payload:
                left = payload_bytes
                while left:
                    chunk = min(left, 16 << 20)
                    payload.write(os.urandom(chunk))
                    left -= chunk
        wheel.writestr(
            f"{dist_info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: benchmark\n",
        )
        wheel.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist_info}/RECORD", "")
    return path


class Testbed:
    """A `testbed serve` process with publishers for the benchmark projects."""

    def __init__(self, workdir: Path, max_file_size: int, extra_args: tuple = ()):
        self.describe = workdir / "testbed.json"
        self.describe.unlink(missing_ok=True)
        self.log = open(workdir / "testbed.log", "w")
        self.process = subprocess.Popen(
            [
                str(TARGET / "testbed"), "serve",
                "--describe-to", str(self.describe),
                "--pypi-publisher", "bench-small=octo-org/octo-repo/release.yml",
                "--pypi-publisher", "bench-large=octo-org/octo-repo/release.yml",
                "--pypi-max-file-size", str(max_file_size),
                *extra_args,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while not self.describe.exists():
            if time.time() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the testbed did not start; see {self.log.name}")
            time.sleep(0.1)
        self.description = json.loads(self.describe.read_text())

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(self.description["github_env"])
        env["TWINE_NON_INTERACTIVE"] = "1"
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        return env

    def upload_url(self) -> str:
        return self.description["pypi_upload_url"]

    def mint_token(self) -> str:
        """A PyPI token minted by hand: twine does trusted publishing only for pypi.org URLs,
        so it gets the token as its password (its run then excludes the mint)."""
        env = self.description["github_env"]
        context = ssl.create_default_context(cafile=self.description["ca_file"])
        request = urllib.request.Request(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=pypi",
            headers={"Authorization": "Bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
        )
        jwt = json.load(urllib.request.urlopen(request, context=context))["value"]
        mint = urllib.request.Request(
            self.description["pypi_url"] + "_/oidc/mint-token",
            data=json.dumps({"token": jwt}).encode(),
            headers={"Content-Type": "application/json"},
        )
        return json.load(urllib.request.urlopen(mint, context=context))["token"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def measure(command: list, env: dict, cwd: Path) -> tuple:
    """Runs `command` under GNU time; returns (wall seconds, peak RSS MiB)."""
    timing = cwd / "time.out"
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(timing), *command],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stdout[-4000:]}")
    peak_kib = int(timing.read_text().strip().splitlines()[-1])
    return wall, peak_kib / 1024


def tools(url: str, files: list, twine_token: str) -> dict:
    names = [str(f) for f in files]
    return {
        "trustpub": [str(TARGET / "trustpub"), "pypi", "upload", "--repository-url", url, "--concurrency", "8", *names],
        "uv": [str(VENV_BIN / "uv"), "publish", "--trusted-publishing", "always", "--publish-url", url, *names],
        "twine": [str(VENV_BIN / "twine"), "upload", "--disable-progress-bar", "--non-interactive", "-u", "__token__", "-p", twine_token, "--repository-url", url, *names],
    }


def scenario(title: str, files: list, workdir: Path, max_file_size: int, repeat: int) -> dict:
    """Each tool uploads `files` `repeat` times to its own fresh testbed (PyPI answers an
    identical re-upload with 200, so every round does the same work); the median counts."""
    results = {}
    print(f"\n## {title} (median of {repeat})")
    print(f"{'tool':<10} {'wall (s)':>10} {'peak RSS (MiB)':>16}   runs (s)")
    for tool in ("trustpub", "uv", "twine"):
        testbed = Testbed(workdir, max_file_size)
        try:
            token = testbed.mint_token() if tool == "twine" else ""
            command = tools(testbed.upload_url(), files, token)[tool]
            runs = [measure(command, testbed.env(), workdir) for _ in range(repeat)]
        finally:
            testbed.stop()
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        results[tool] = (wall, rss)
        print(f"{tool:<10} {wall:>10.2f} {rss:>16.1f}   {' '.join(f'{r[0]:.2f}' for r in runs)}", flush=True)
    return results


def verdict(label: str, ok: bool) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="scenario (a) only")
    parser.add_argument("--large-size-mib", type=int, default=1024, help="size of the large wheel's payload")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    parser.add_argument("--repeat", type=int, default=7, help="rounds of the small scenario (the large one runs 3)")
    args = parser.parse_args()
    if not args.no_build:
        build()
    ok = True
    with tempfile.TemporaryDirectory(prefix="trustpub-bench-") as tmp:
        workdir = Path(tmp)
        small_dir = workdir / "small"
        small_dir.mkdir()
        small = [write_wheel(small_dir, "bench-small", f"1.0.{i}", 16 * 1024) for i in range(50)]
        results = scenario("(a) 50 small wheels (16 KiB each)", small, workdir, 100 << 20, args.repeat)
        print("Targets:")
        ok &= verdict(
            f"trustpub at least 2x faster than uv ({results['uv'][0] / results['trustpub'][0]:.1f}x)",
            results["trustpub"][0] * 2 <= results["uv"][0],
        )
        if not args.small:
            large_dir = workdir / "large"
            large_dir.mkdir()
            large = [write_wheel(large_dir, "bench-large", "1.0.0", args.large_size_mib << 20)]
            results = scenario(f"(b) one {args.large_size_mib} MiB wheel", large, workdir, 2 << 30, 3)
            print("Targets:")
            ok &= verdict(
                f"trustpub peak RSS at or below uv's ({results['trustpub'][1]:.1f} vs {results['uv'][1]:.1f} MiB)",
                results["trustpub"][1] <= results["uv"][1],
            )
            ok &= verdict(
                f"trustpub wall time at or below twine's ({results['trustpub'][0]:.1f} vs {results['twine'][0]:.1f} s)",
                results["trustpub"][0] <= results["twine"][0],
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
