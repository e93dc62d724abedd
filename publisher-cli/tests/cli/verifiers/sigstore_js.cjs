'use strict';
// trustpub's Sigstore output, checked by sigstore-js (`@sigstore/verify`, what the npm CLI
// verifies provenance with).
//
// Usage: NODE_PATH=<node_modules> node sigstore_js.cjs CASES.json RESULTS.json
//
// CASES.json is written by `publisher-cli/tests/sigstore_peers.rs` (see python_verifiers.py;
// for PEP 740 cases the "bundle" is the one pypi-attestations converted the attestation to).
// For every case this writes {"<case>": {"sigstore-js": {"ok": bool, "detail": str}}} to
// RESULTS.json; the Rust test holds what each case must give.
//
// `Verifier.verify` checks the certificate chain, SCT, transparency log entry (inclusion proof,
// checkpoint, SET), the DSSE signature and the identity policy (SAN and issuer). A DSSE
// signature covers the in-toto statement, not the artifact, so, as npm and PyPI do, the
// artifact is then bound through the statement's single subject: sha256 and file name for a
// Python dist, sha512 and package URL for an npm tarball. Only sigstore-js's own verification
// errors count as a refusal; anything else throws, so a negative case cannot pass by accident.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const {
  PolicyError,
  VerificationError,
  Verifier,
  toSignedEntity,
  toTrustMaterial,
} = require('@sigstore/verify');

const IN_TOTO = 'application/vnd.in-toto+json';

function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function verify(testCase) {
  const trust = toTrustMaterial(TrustedRoot.fromJSON(readJSON(testCase.trusted_root)));
  const bundle = bundleFromJSON(readJSON(testCase.bundle));
  const artifact = fs.readFileSync(testCase.artifact);
  try {
    new Verifier(trust).verify(toSignedEntity(bundle, artifact), {
      subjectAlternativeName: testCase.san,
      extensions: { issuer: testCase.issuer },
    });
  } catch (err) {
    if (err instanceof VerificationError || err instanceof PolicyError) {
      return { ok: false, detail: `${err.name} ${err.code}: ${err.message}` };
    }
    throw err;
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    return { ok: false, detail: `a ${bundle.content.$case} bundle, not DSSE` };
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO) {
    return { ok: false, detail: `payload type ${envelope.payloadType}, not ${IN_TOTO}` };
  }
  const statement = JSON.parse(envelope.payload.toString('utf8'));
  const subjects = statement.subject || [];
  if (subjects.length !== 1) {
    return { ok: false, detail: `${subjects.length} subjects, expected exactly one` };
  }
  const [subject] = subjects;
  const digest = subject.digest || {};
  if (testCase.kind === 'pypi') {
    const sha256 = crypto.createHash('sha256').update(artifact).digest('hex');
    if (digest.sha256 !== sha256) {
      return { ok: false, detail: "the subject's sha256 is not the dist's" };
    }
    if (subject.name !== path.basename(testCase.artifact)) {
      return { ok: false, detail: `the subject ${subject.name} is not the dist's file name` };
    }
  } else {
    const sha512 = crypto.createHash('sha512').update(artifact).digest('hex');
    if (digest.sha512 !== sha512) {
      return { ok: false, detail: "the subject's sha512 is not the tarball's" };
    }
    const purl = testCase.subject_name;
    if (subject.name !== purl && !subject.name.startsWith(`${purl}?`)) {
      return { ok: false, detail: `the subject ${subject.name} is not ${purl}` };
    }
  }
  return { ok: true, detail: statement.predicateType };
}

const [casesPath, resultsPath] = process.argv.slice(2);
const results = {};
for (const testCase of readJSON(casesPath).cases) {
  results[testCase.name] = { 'sigstore-js': verify(testCase) };
}
fs.writeFileSync(resultsPath, JSON.stringify(results, null, 2));
