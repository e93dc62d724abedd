#!/usr/bin/env python3
"""Signing benchmark: trustpub's whole run (PEP 740 signing and upload) vs sigstore-python
signing the same dists with a cached signer (what gh-action-pypi-publish does).

50 small wheels, against the testbed with a far-away Sigstore: every Fulcio and Rekor request
is held 300 ms, every PyPI upload 100 ms (`testbed serve --fulcio-latency-ms 300
--rekor-latency-ms 300 --pypi-upload-latency-ms 100`).

  trustpub:        `trustpub pypi upload --attestations true ...`: mint, one signing session
                   (one key, one Fulcio certificate, a Rekor entry per dist, in parallel),
                   verify every bundle, upload, burn.
  sigstore-python: `Attestation.sign(signer, dist)` for each dist inside one
                   `SigningContext.signer(identity, cache=True)`, as gh-action-pypi-publish's
                   attestations step does; signing only, nothing uploaded.

Target (issue #12): trustpub's whole run at most 0.3x sigstore-python's signing alone, with
exactly one certificate for the run. A second trustpub scenario gives Fulcio certificates a
3-second lifetime, so the certificate runs out mid-run: a new one is fetched and nothing fails.

Usage (from the repository root, after `bash .ci/setup-tools`):

    python3 bench/pypi_signing.py              # builds the release binaries first
    python3 bench/pypi_signing.py --no-build --repeat 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pypi_upload import ROOT, TARGET, VENV_BIN, Testbed, build, measure, write_wheel  # noqa: E402

LATENCY = ("--fulcio-latency-ms", "300", "--rekor-latency-ms", "300", "--pypi-upload-latency-ms", "100")

# Runs in the tools venv: sign every dist with one cached sigstore-python signer.
SIGSTORE_PYTHON = r"""
import json, sys, time
from pathlib import Path
from pypi_attestations import Attestation, Distribution
from sigstore.models import ClientTrustConfig
from sigstore.oidc import IdentityToken
from sigstore.sign import SigningContext

trust_config, token, *dists = sys.argv[1:]
config = ClientTrustConfig.from_json(Path(trust_config).read_text())
context = SigningContext.from_trust_config(config)
started = time.perf_counter()
with context.signer(IdentityToken(token), cache=True) as signer:
    for path in dists:
        Attestation.sign(signer, Distribution.from_file(Path(path)))
print(json.dumps({"signing_seconds": time.perf_counter() - started}))
"""


def sigstore_token(testbed: Testbed) -> str:
    """A `sigstore`-audience ID token from the testbed's issuer."""
    import ssl
    import urllib.request

    env = testbed.description["github_env"]
    context = ssl.create_default_context(cafile=testbed.description["ca_file"])
    request = urllib.request.Request(
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=sigstore",
        headers={"Authorization": "Bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
    )
    return json.load(urllib.request.urlopen(request, context=context))["value"]


def certificates(state_file: Path) -> int:
    return len(json.loads(state_file.read_text())["certificates_issued"])


def trustpub_run(workdir: Path, wheels: list, extra: tuple) -> tuple:
    """One trustpub run on a fresh testbed: (wall seconds, certificates issued)."""
    state = workdir / "state.json"
    state.unlink(missing_ok=True)
    for attestation in workdir.glob("dist/*.publish.attestation"):
        attestation.unlink()
    testbed = Testbed(workdir, 100 << 20, (*LATENCY, "--state-file", str(state), *extra))
    try:
        d = testbed.description
        command = [
            str(TARGET / "trustpub"), "pypi", "upload", "--repository-url", d["pypi_upload_url"],
            "--attestations", "true", "--concurrency", "8",
            "--fulcio-url", d["fulcio_url"], "--rekor-url", d["rekor_url"],
            "--trusted-root", d["sigstore_trusted_root"], *map(str, wheels),
        ]
        wall, _ = measure(command, testbed.env(), workdir)
    finally:
        testbed.stop()
    return wall, certificates(state)


def sigstore_python_run(workdir: Path, wheels: list) -> float:
    """sigstore-python's signing time for the same wheels (nothing uploaded)."""
    testbed = Testbed(workdir, 100 << 20, LATENCY)
    try:
        d = testbed.description
        env = dict(os.environ, REQUESTS_CA_BUNDLE=d["ca_file"], SSL_CERT_FILE=d["ca_file"])
        result = subprocess.run(
            [str(VENV_BIN / "python"), "-c", SIGSTORE_PYTHON, d["sigstore_trust_config"],
             sigstore_token(testbed), *map(str, wheels)],
            env=env, cwd=workdir, capture_output=True, text=True,
        )
    finally:
        testbed.stop()
    if result.returncode != 0:
        raise SystemExit(f"sigstore-python failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["signing_seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per scenario (the median counts)")
    args = parser.parse_args()
    if not args.no_build:
        build()
    with tempfile.TemporaryDirectory(prefix="trustpub-sign-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "dist").mkdir()
        wheels = [write_wheel(workdir / "dist", "bench-small", f"1.0.{i}", 16 * 1024) for i in range(50)]

        python = statistics.median(sigstore_python_run(workdir, wheels) for _ in range(args.repeat))
        runs = [trustpub_run(workdir, wheels, ()) for _ in range(args.repeat)]
        trustpub = statistics.median(wall for wall, _ in runs)
        renewed = [trustpub_run(workdir, wheels, ("--fulcio-certificate-lifetime-s", "3")) for _ in range(args.repeat)]

        print("\n## 50 small wheels, Fulcio/Rekor 300 ms per request, PyPI 100 ms per upload")
        print(f"sigstore-python, cached signer, signing only: {python:6.2f} s")
        print(f"trustpub, sign + verify + upload:             {trustpub:6.2f} s  ({trustpub / python:.2f}x), certificates per run: {[c for _, c in runs]}")
        renewed_wall = statistics.median(wall for wall, _ in renewed)
        print(f"trustpub, 3 s certificates (renewed mid-run):  {renewed_wall:6.2f} s, certificates per run: {[c for _, c in renewed]}")
        ok = trustpub <= 0.3 * python and all(c == 1 for _, c in runs) and all(c >= 1 for _, c in renewed)
        print(f"  [{'PASS' if trustpub <= 0.3 * python else 'FAIL'}] trustpub's whole run <= 0.3x sigstore-python's signing")
        print(f"  [{'PASS' if all(c == 1 for _, c in runs) else 'FAIL'}] exactly one certificate per run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
