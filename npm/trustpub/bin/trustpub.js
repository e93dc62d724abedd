#!/usr/bin/env node
// The `trustpub` command for npm users (`npx trustpub`): runs the native binary from the
// platform package npm installed as an optional dependency (@trustpub/cli-<os>-<cpu>[-musl]).
// No postinstall script and no download: npm picks the one platform package whose `os`, `cpu`
// (and `libc`) match, as esbuild and biome ship their binaries.
"use strict";

const { spawnSync } = require("node:child_process");
const path = require("node:path");

// Which platform package serves this machine.
function platformPackage() {
  const { platform, arch } = process;
  if (platform === "linux" && arch === "x64") {
    return isMusl() ? "@trustpub/cli-linux-x64-musl" : "@trustpub/cli-linux-x64";
  }
  if (platform === "linux" && arch === "arm64") return "@trustpub/cli-linux-arm64";
  if (platform === "darwin" && arch === "x64") return "@trustpub/cli-darwin-x64";
  if (platform === "darwin" && arch === "arm64") return "@trustpub/cli-darwin-arm64";
  // Windows on Arm runs the x64 build under emulation.
  if (platform === "win32" && (arch === "x64" || arch === "arm64")) return "@trustpub/cli-win32-x64";
  return null;
}

// glibc reports its version in the process report; musl (Alpine) does not.
function isMusl() {
  try {
    const report = process.report && process.report.getReport();
    const header = report && (typeof report === "string" ? JSON.parse(report) : report).header;
    return !(header && header.glibcVersionRuntime);
  } catch {
    return false;
  }
}

function fail(message) {
  process.stderr.write(`trustpub: ${message}\n`);
  process.exit(1);
}

const name = platformPackage();
if (name === null) {
  fail(
    `no prebuilt binary for ${process.platform}/${process.arch}. ` +
      "Install from source with `cargo install trustpub`, or use the PyPI wheel (`pipx run trustpub`).",
  );
}

let manifestPath;
try {
  manifestPath = require.resolve(`${name}/package.json`);
} catch {
  fail(
    `the platform package ${name} is not installed. It is an optional dependency of trustpub: ` +
      "reinstall without --omit=optional / --no-optional (and with the same lockfile on every platform), " +
      `or add ${name} explicitly.`,
  );
}
const manifest = require(manifestPath);
const binary = path.join(path.dirname(manifestPath), manifest.trustpub.binary);

const result = spawnSync(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true });
if (result.error) {
  fail(`cannot run ${binary}: ${result.error.message}`);
}
if (result.signal) {
  // Die the way the binary died, so the caller sees the same signal.
  process.kill(process.pid, result.signal);
}
process.exit(result.status === null ? 1 : result.status);
