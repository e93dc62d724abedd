"""trustpub's Sigstore output, checked by the Python verifiers PyPI's ecosystem uses.

Usage: python python_verifiers.py CASES.json RESULTS.json

CASES.json is written by `publisher-cli/tests/sigstore_peers.rs`: {"cases": [case, ...]}, where
a case names an artifact, its attestation or bundle, the trust root and the identity to expect.
For every case this writes, per verifier, {"ok": bool, "detail": str} to RESULTS.json. It
decides nothing: the Rust test holds what each case must give.

PEP 740 cases ("kind": "pypi"):
- pypi-attestations: `Attestation.verify` with the GitHub trusted-publisher policy (repository
  and workflow), as PyPI does on upload, against the case's `trusted_root.json`.
- sigstore-cli: the attestation converted by pypi-attestations (`to_bundle()`) to a Sigstore
  bundle, written to the case's "bundle" path (sigstore-js reads it from there), then
  `sigstore --trust-config T verify identity --offline --bundle B --cert-identity SAN
  --cert-oidc-issuer ISS ARTIFACT`: sigstore-python's own command line, run in this process
  (its `main`, exactly what the `sigstore` executable calls) so that a dozen cases cost one
  interpreter start.

npm cases ("kind": "npm"):
- sigstore-python: `Verifier.verify_dsse` with an identity policy on the provenance bundle,
  then the statement's single subject against the tarball (sha512 and the package URL), as npm
  binds a provenance bundle to its tarball.

Only the verifiers' own verification errors count as a refusal; anything else (a missing file,
a changed API) stops this script with a traceback, so a negative case cannot pass by accident.
"""

import contextlib
import hashlib
import io
import json
import logging
import sys
from pathlib import Path

import sigstore.errors
from pypi_attestations import Attestation, AttestationError, Distribution, GitHubPublisher
from sigstore._cli import main as sigstore_main
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy

IN_TOTO = "application/vnd.in-toto+json"


def result(ok, detail):
    return {"ok": ok, "detail": detail}


def use_trusted_root(path):
    """`Attestation.verify` only knows Sigstore's production and staging instances: point
    "production" at this trust root."""
    root = TrustedRoot.from_file(path)
    Verifier.production = classmethod(lambda cls, offline=False: cls(trusted_root=root))


def pypi_attestations(case):
    attestation = Attestation.model_validate_json(Path(case["attestation"]).read_bytes())
    dist = Distribution.from_file(Path(case["artifact"]))
    publisher = GitHubPublisher(repository=case["repository"], workflow=case["workflow"])
    use_trusted_root(case["trusted_root"])
    try:
        predicate_type, _ = attestation.verify(publisher, dist, offline=True)
    except AttestationError as err:
        return result(False, f"{type(err).__name__}: {err}")
    return result(True, predicate_type)


class Recorded(logging.Handler):
    """Keeps what sigstore logs at error level: the CLI's reason for a failure."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def sigstore_cli(case):
    attestation = Attestation.model_validate_json(Path(case["attestation"]).read_bytes())
    bundle = Path(case["bundle"])
    bundle.write_text(attestation.to_bundle().to_json())
    argv = [
        "--trust-config", case["trust_config"],
        "verify", "identity", "--offline",
        "--bundle", str(bundle),
        "--cert-identity", case["san"],
        "--cert-oidc-issuer", case["issuer"],
        case["artifact"],
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    recorded = Recorded()
    sigstore_logger = logging.getLogger("sigstore")
    sigstore_logger.addHandler(recorded)
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            sigstore_main(argv)
        except SystemExit as stop:
            code = stop.code
        finally:
            sigstore_logger.removeHandler(recorded)
    said = stderr.getvalue().strip()
    if code not in (0, None, 1):
        raise RuntimeError(f"sigstore {' '.join(argv)} refused its arguments ({code}): {said}")
    if code in (0, None):
        # `OK: <file>` on stderr, the verified statement on stdout.
        return result(True, said)
    return result(False, " / ".join(recorded.messages))


def sigstore_python_npm(case):
    root = TrustedRoot.from_file(case["trusted_root"])
    bundle = Bundle.from_json(Path(case["bundle"]).read_bytes())
    identity = policy.Identity(identity=case["san"], issuer=case["issuer"])
    try:
        payload_type, payload = Verifier(trusted_root=root).verify_dsse(bundle, identity)
    except sigstore.errors.Error as err:
        return result(False, f"{type(err).__name__}: {err}")
    if payload_type != IN_TOTO:
        return result(False, f"payload type {payload_type}, not {IN_TOTO}")
    statement = json.loads(payload)
    subjects = statement.get("subject", [])
    if len(subjects) != 1:
        return result(False, f"{len(subjects)} subjects, npm expects exactly one")
    subject = subjects[0]
    sha512 = hashlib.sha512(Path(case["artifact"]).read_bytes()).hexdigest()
    if subject.get("digest", {}).get("sha512") != sha512:
        return result(False, "the subject's sha512 is not the tarball's")
    name, purl = subject.get("name", ""), case["subject_name"]
    if name != purl and not name.startswith(purl + "?"):
        return result(False, f"the subject {name} is not {purl}")
    return result(True, statement.get("predicateType", ""))


def main():
    cases_path, results_path = sys.argv[1:3]
    cases = json.loads(Path(cases_path).read_text())["cases"]
    results = {}
    for case in cases:
        if case["kind"] == "pypi":
            results[case["name"]] = {
                "pypi-attestations": pypi_attestations(case),
                "sigstore-cli": sigstore_cli(case),
            }
        elif case["kind"] == "npm":
            results[case["name"]] = {"sigstore-python": sigstore_python_npm(case)}
        else:
            raise ValueError(f"unknown case kind {case['kind']!r}")
    Path(results_path).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
