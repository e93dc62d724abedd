#!/usr/bin/env node
// Fills one platform package with a built trustpub binary, ready for `npm pack` / `npm publish`:
//
//   node npm/fill-platform.js <rust-target> <path/to/trustpub[.exe]> <out-dir>
//
// Copies npm/platforms/<the package for that target>/ into <out-dir> and the binary into its
// bin/. Refuses a target no package serves, a platform package whose version is not the
// launcher's (npm/trustpub/package.json pins its optionalDependencies to that version), and,
// when the binary runs on this machine, a binary whose `--version` names another version.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

function fail(message) {
  process.stderr.write(`fill-platform: ${message}\n`);
  process.exit(1);
}

const [target, binary, out] = process.argv.slice(2);
if (!target || !binary || !out || process.argv.length !== 5) {
  fail("usage: node npm/fill-platform.js <rust-target> <path/to/trustpub[.exe]> <out-dir>");
}

const here = __dirname;
const launcher = JSON.parse(fs.readFileSync(path.join(here, "trustpub", "package.json"), "utf8"));
const platforms = path.join(here, "platforms");
const found = fs
  .readdirSync(platforms)
  .map((dir) => ({ dir: path.join(platforms, dir), manifest: JSON.parse(fs.readFileSync(path.join(platforms, dir, "package.json"), "utf8")) }))
  .find(({ manifest }) => manifest.trustpub && manifest.trustpub.target === target);
if (!found) {
  fail(`no platform package in ${platforms} serves ${target}: add one (and to the launcher's optionalDependencies)`);
}
const { dir, manifest } = found;
if (manifest.version !== launcher.version) {
  fail(`${manifest.name} is version ${manifest.version}, the launcher ${launcher.version}: give every package in npm/ the workspace version`);
}
if (launcher.optionalDependencies[manifest.name] !== manifest.version) {
  fail(`the launcher's optionalDependencies do not pin ${manifest.name} to ${manifest.version}`);
}
if (!fs.statSync(binary, { throwIfNoEntry: false })?.isFile()) {
  fail(`${binary} is not a file: build trustpub for ${target} first`);
}

const native =
  manifest.os.includes(process.platform) && manifest.cpu.includes(process.arch);
if (native) {
  const run = spawnSync(binary, ["--version"], { encoding: "utf8" });
  const line = (run.stdout || "").trim();
  if (run.status !== 0 || line !== `trustpub ${manifest.version}`) {
    fail(`${binary} --version says \`${line || run.stderr || run.error}\`, not \`trustpub ${manifest.version}\``);
  }
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "bin"), { recursive: true });
for (const file of ["package.json", "README.md"]) {
  fs.copyFileSync(path.join(dir, file), path.join(out, file));
}
const destination = path.join(out, manifest.trustpub.binary);
fs.copyFileSync(binary, destination);
fs.chmodSync(destination, 0o755);
process.stdout.write(`${manifest.name}@${manifest.version}: ${out} (${target}${native ? ", --version checked" : ""})\n`);
