#!/usr/bin/env python3
"""Monorepo benchmark: 30 scoped packages, a loop of `npm publish` vs one `trustpub npm publish`.

Both publish with OIDC trusted publishing through the testbed's npm front (its simulated GitHub
issuer and npm registry, on 127.0.0.1), which forwards every accepted publish to a real
verdaccio, as `publisher-cli/tests/cli/npm_peers.rs` does. Same run, same testbed, same packages:
npm publishes version 1.0.0 of each, trustpub 1.0.1 (npm 11 exchanges one ID token per
package; so does trustpub, several packages at once).

Target (issue #15): trustpub's wall time at most 0.1x the npm loop's.

Usage (from the repository root, after `bash .ci/setup-tools`):

    python3 bench/npm_monorepo.py                 # release build, 30 packages
    python3 bench/npm_monorepo.py --no-build --target-dir /path/to/target --profile debug
    python3 bench/npm_monorepo.py --packages 10 --concurrency 8
"""

import argparse
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = Path(os.environ.get("TRUSTPUB_NODE_MODULES", ROOT / ".ci" / "node" / "node_modules"))


def build() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "-p", "trustpub", "-p", "trustpub-testbed"],
        cwd=ROOT,
        check=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_tarball(directory: Path, name: str, version: str) -> Path:
    """An `npm pack`-shaped tarball (package/package.json, index.js, README.md)."""
    path = directory / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    manifest = json.dumps({
        "name": name,
        "version": version,
        "description": "trustpub monorepo benchmark",
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": "git+https://github.com/octo-org/octo-repo.git"},
        "publishConfig": {"access": "public"},
    }, indent=2).encode()
    with tarfile.open(path, "w:gz") as tar:
        for member, data in (
            ("package/package.json", manifest),
            ("package/index.js", f"module.exports = {json.dumps(name)};\n".encode()),
            ("package/README.md", f"# {name}\n".encode()),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 499162500
            tar.addfile(info, io.BytesIO(data))
    return path


def wait_for(url: str, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            if time.time() > deadline or process.poll() is not None:
                raise SystemExit(f"{what} did not start; see {log}")
            time.sleep(0.2)


class Verdaccio:
    def __init__(self, workdir: Path):
        root = workdir / "verdaccio"
        root.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        (root / "config.yaml").write_text(
            f"storage: {root / 'storage'}\nlisten: 127.0.0.1:{self.port}\n"
            f"auth:\n  htpasswd:\n    file: {root / 'htpasswd'}\n    max_users: 10\n"
            "packages:\n  '@*/*': { access: $all, publish: $authenticated, unpublish: $authenticated }\n"
            "  '**': { access: $all, publish: $authenticated, unpublish: $authenticated }\n"
            "max_body_size: 100mb\nlog: { type: stdout, format: pretty, level: warn }\n"
            # JWT API tokens: verdaccio's legacy tokens re-check the htpasswd bcrypt hash on
            # every request, synchronously, which serialises all publishes behind it.
            "security:\n  api:\n    jwt:\n      sign:\n        expiresIn: 1d\n"
        )
        self.log = workdir / "verdaccio.log"
        self.process = subprocess.Popen(
            [str(NODE_MODULES / ".bin" / "verdaccio"), "--config", str(root / "config.yaml")],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
        )
        wait_for(self.url + "-/ping", self.process, self.log, "verdaccio")
        request = urllib.request.Request(
            self.url + "-/user/org.couchdb.user:bench",
            data=json.dumps({"name": "bench", "password": "bench-password-1", "email": "b@example.com"}).encode(),
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        self.token = json.load(urllib.request.urlopen(request))["token"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Testbed:
    """`testbed serve` with npm publishers for every package, forwarding to verdaccio."""

    def __init__(self, binary: Path, workdir: Path, packages: list, verdaccio: Verdaccio):
        self.describe = workdir / "testbed.json"
        self.log = workdir / "testbed.log"
        command = [str(binary), "serve", "--describe-to", str(self.describe),
                   "--npm-forward", verdaccio.url, "--npm-forward-token", verdaccio.token]
        for name in packages:
            command += ["--npm-publisher", f"{name}=octo-org/octo-repo/release.yml"]
        self.process = subprocess.Popen(command, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not self.describe.exists() or not self.describe.read_text().strip():
            if time.time() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the testbed did not start; see {self.log}")
            time.sleep(0.1)
        time.sleep(0.2)
        self.description = json.loads(self.describe.read_text())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def timed(commands: list, env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    for command in commands:
        result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{command[:3]} failed ({result.returncode}):\n{result.stdout[-4000:]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4, help="trustpub --concurrency (default: its default)")
    parser.add_argument("--no-build", action="store_true", help="use existing binaries")
    parser.add_argument("--target-dir", type=Path, default=ROOT / "target")
    parser.add_argument("--profile", default="release", help="release or debug")
    parser.add_argument("--skip-npm", action="store_true", help="time trustpub only (for tuning)")
    args = parser.parse_args()
    if not args.no_build:
        build()
    binaries = args.target_dir / args.profile
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("npm (11.5.1 or later) is needed on PATH")
    npm_version = subprocess.run([npm, "--version"], capture_output=True, text=True).stdout.strip()
    names = [f"@bench/pkg{i:02d}" for i in range(args.packages)]
    with tempfile.TemporaryDirectory(prefix="trustpub-npm-bench-") as tmp:
        workdir = Path(tmp)
        npm_dir, tp_dir = workdir / "npm", workdir / "trustpub"
        npm_dir.mkdir()
        tp_dir.mkdir()
        npm_tarballs = [write_tarball(npm_dir, n, "1.0.0") for n in names]
        [write_tarball(tp_dir, n, "1.0.1") for n in names]
        verdaccio = Verdaccio(workdir)
        testbed = None
        try:
            testbed = Testbed(binaries / "testbed", workdir, names, verdaccio)
            registry = testbed.description["npm_registry_url"]
            env = dict(os.environ)
            env.update(testbed.description["github_env"])
            (workdir / "empty.npmrc").write_text("")
            env["npm_config_cache"] = str(workdir / "npm-cache")
            env["npm_config_userconfig"] = str(workdir / "empty.npmrc")
            env["npm_config_update_notifier"] = "false"
            env["HOME"] = str(workdir)
            npm_loop = [[npm, "publish", "--provenance=false", "--registry", registry, str(t)] for t in npm_tarballs]
            npm_seconds = float("nan") if args.skip_npm else timed(npm_loop, env, workdir)
            trustpub = [[str(binaries / "trustpub"), "npm", "publish", "--no-provenance",
                         "--concurrency", str(args.concurrency), "--registry", registry, str(tp_dir)]]
            trustpub_seconds = timed(trustpub, env, workdir)
            for name in names:
                packument = json.load(urllib.request.urlopen(verdaccio.url + name.replace("/", "%2f")))
                missing = ({"1.0.1"} if args.skip_npm else {"1.0.0", "1.0.1"}) - set(packument["versions"])
                if missing:
                    raise SystemExit(f"verdaccio lacks {name} {sorted(missing)}")
        finally:
            if testbed:
                testbed.stop()
            verdaccio.stop()
    ratio = trustpub_seconds / npm_seconds
    print(f"## {args.packages} scoped packages, OIDC through the testbed's npm front into verdaccio")
    print(f"npm {npm_version}, trustpub {args.profile} build, --concurrency {args.concurrency}")
    print("| tool | wall (s) |\n|---|---|")
    print(f"| npm publish, one per package | {npm_seconds:.2f} |")
    print(f"| trustpub npm publish DIR | {trustpub_seconds:.2f} |")
    ok = ratio <= 0.1
    print(f"Target: trustpub at most 0.1x the npm loop: **{ratio:.3f}x, {'pass' if ok else 'FAIL'}**")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
