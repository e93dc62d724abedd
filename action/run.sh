#!/usr/bin/env bash
# Runs trustpub with the action's inputs, read as pypa/gh-action-pypi-publish reads its own.
# action.yml passes every input through `env:` (never interpolated into this script):
#
#   INPUT_COMMAND                   pypi (default) | npm
#   INPUT_USER                      default __token__
#   INPUT_PASSWORD                  set: a token upload (trusted publishing off); for npm, an npm token
#   INPUT_REPOSITORY_URL            `repository-url`; INPUT_REPOSITORY_URL_DEPRECATED is `repository_url`
#   INPUT_PACKAGES_DIR              `packages-dir`;   ..._DEPRECATED is `packages_dir`
#   INPUT_VERIFY_METADATA           `verify-metadata`; ..._DEPRECATED is `verify_metadata`
#   INPUT_SKIP_EXISTING             `skip-existing`;  ..._DEPRECATED is `skip_existing`
#   INPUT_VERBOSE                   `verbose`
#   INPUT_PRINT_HASH                `print-hash`;     ..._DEPRECATED is `print_hash`
#   INPUT_ATTESTATIONS              `attestations`
#   INPUT_REGISTRY, INPUT_TAG, INPUT_ACCESS, INPUT_PROVENANCE   npm
#   INPUT_DRY_RUN                   `dry-run`
#   INPUT_REGISTRY                  npm: the registry URL; exec/exchange: crates-io | rubygems | nuget
#   INPUT_REGISTRY_URL, INPUT_AUDIENCE   exec/exchange: the registry's URL and audience
#   INPUT_RUN                       exec: the command to run (with bash) holding the credential
#   (exec/exchange read INPUT_USER as the registry account, NuGet's policy owner; the PyPI
#   default `__token__` means none)
#   TRUSTPUB_BINARY                 the binary (install.sh's output); default `trustpub` on PATH
#   TRUSTPUB_CA_FILE                extra CA certificates (PEM) to trust, passed as --ca-file: the
#                                   one deliberate way to add a CA (SSL_CERT_FILE/DIR are cleared)
#
# As upstream: the kebab-case input wins over its snake_case alias, and the alias carries the
# default. A boolean is true unless it is `false` (any case). Unset inputs take upstream's
# defaults, so the script also runs outside the action (the tests drive it that way).
#
# The password never goes on the command line: it is handed over in TWINE_PASSWORD (npm:
# NODE_AUTH_TOKEN), and the printed command shows no secret. trustpub's exit code is the step's.
#
# Portable to bash 3.2 (macOS): no ${x,,}, no associative arrays, no mapfile.
set -euo pipefail

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# gh-action-pypi-publish's rule: `[[ ${X,,} != "false" ]]`.
is_true() { [ "$(lower "$1")" != "false" ]; }

# Sets <variable> to the kebab-case input, else its deprecated snake_case alias (with a
# warning when the alias was set to something other than its default, which only a workflow
# can do), else the default. Assigns rather than prints, so the warning reaches stdout.
#   resolve <variable> <kebab-name> <kebab-value> <alias-name> <alias-value> <default>
resolve() {
  local variable="$1" name="$2" value="$3" alias="$4" alias_value="$5" default="$6"
  if [ -z "$value" ] && [ -n "$alias_value" ]; then
    value="$alias_value"
    if [ "$alias_value" != "$default" ]; then
      echo "::warning title=Deprecated input::The input \`$alias\` is deprecated: use \`$name\` instead."
    fi
  fi
  printf -v "$variable" '%s' "${value:-$default}"
}

fail() {
  echo "::error title=trustpub::$*"
  exit 2
}

# Set by `resolve`.
packages_dir="" repository_url="" verify_metadata="" skip_existing="" print_hash=""

binary="${TRUSTPUB_BINARY:-trustpub}"
if [ -n "${TRUSTPUB_BINARY:-}" ] && command -v cygpath >/dev/null 2>&1; then
  binary="$(cygpath -u "$binary")"
fi

command="$(lower "${INPUT_COMMAND:-pypi}")"
user="${INPUT_USER:-__token__}"
password="${INPUT_PASSWORD:-}"
resolve packages_dir packages-dir "${INPUT_PACKAGES_DIR:-}" packages_dir "${INPUT_PACKAGES_DIR_DEPRECATED:-}" dist
verbose="${INPUT_VERBOSE:-true}"
dry_run="${INPUT_DRY_RUN:-false}"

# Ambient credentials must not change what the inputs say (upstream sets TWINE_* from the
# inputs alone): a leftover TWINE_PASSWORD or NODE_AUTH_TOKEN (actions/setup-node sets a
# placeholder one) would silently turn trusted publishing off.
for variable in TWINE_USERNAME TWINE_PASSWORD TWINE_REPOSITORY_URL PYPI_TOKEN NODE_AUTH_TOKEN NPM_TOKEN NPM_CONFIG_REGISTRY; do
  if [ -n "${!variable:-}" ]; then
    echo "Ignoring $variable from the environment: the action's inputs decide the credentials and the index."
  fi
  unset "$variable"
done

# Nothing in the job's environment may reroute or re-root the requests that carry the job's
# tokens, or hand trustpub an ID token of someone else's making: proxies, extra CA bundles and
# planted token variables are cleared (the workflow names a CA deliberately with TRUSTPUB_CA_FILE).
for variable in HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy \
  SSL_CERT_FILE SSL_CERT_DIR NPM_ID_TOKEN SIGSTORE_ID_TOKEN; do
  if [ -n "${!variable:-}" ]; then
    echo "Clearing $variable from the environment: the action's requests go direct, trusting the system's CAs${TRUSTPUB_CA_FILE:+ and TRUSTPUB_CA_FILE}, with the runner's own ID tokens."
  fi
  unset "$variable"
done

args=()
# Arguments after everything else (`-- bash -c RUN` for exec).
tail_args=()
if [ -n "${TRUSTPUB_CA_FILE:-}" ]; then
  args+=(--ca-file "$TRUSTPUB_CA_FILE")
fi
if is_true "$verbose"; then
  args+=(-v)
fi

case "$command" in
  pypi)
    resolve repository_url repository-url "${INPUT_REPOSITORY_URL:-}" repository_url "${INPUT_REPOSITORY_URL_DEPRECATED:-}" https://upload.pypi.org/legacy/
    resolve verify_metadata verify-metadata "${INPUT_VERIFY_METADATA:-}" verify_metadata "${INPUT_VERIFY_METADATA_DEPRECATED:-}" true
    resolve skip_existing skip-existing "${INPUT_SKIP_EXISTING:-}" skip_existing "${INPUT_SKIP_EXISTING_DEPRECATED:-}" false
    resolve print_hash print-hash "${INPUT_PRINT_HASH:-}" print_hash "${INPUT_PRINT_HASH_DEPRECATED:-}" true
    attestations="${INPUT_ATTESTATIONS:-true}"

    args+=(pypi upload --repository-url "$repository_url" --packages-dir "$packages_dir" --user "$user")
    if is_true "$verify_metadata"; then args+=(--verify-metadata true); else args+=(--verify-metadata false); fi
    if is_true "$skip_existing"; then args+=(--skip-existing true); else args+=(--skip-existing false); fi
    # Upstream prints hashes when either print-hash or verbose is on.
    if is_true "$print_hash" || is_true "$verbose"; then args+=(--print-hash true); else args+=(--print-hash false); fi

    # Attestations exist only for trusted publishing to PyPI or TestPyPI. As upstream, asking
    # for them elsewhere is a warning, not an error; when they apply, trustpub's default (on)
    # decides, which also uploads existing `<dist>.publish.attestation` files.
    trusted_publishing=false
    if [ "$user" = "__token__" ] && [ -z "$password" ]; then
      trusted_publishing=true
    fi
    if ! is_true "$attestations"; then
      args+=(--attestations false)
    elif [ "$trusted_publishing" != true ]; then
      echo "::warning title=attestations input ignored::The workflow was run with the 'attestations: true' input, but an explicit password was also set, disabling Trusted Publishing. As a result, the attestations input is ignored."
      args+=(--attestations false)
    elif ! [[ "$repository_url" =~ pypi\.org ]]; then
      echo "::warning title=attestations input ignored::The workflow was run with 'attestations: true' input, but the specified repository URL does not support PEP 740 attestations. As a result, the attestations input is ignored."
      args+=(--attestations false)
    fi
    credential_variable=TWINE_PASSWORD
    ;;
  npm)
    args+=(npm publish)
    # Only a registry the workflow names: otherwise npm's order decides per package (an
    # `@scope:registry` line, publishConfig.registry, NPM_CONFIG_REGISTRY, .npmrc, npmjs).
    if [ -n "${INPUT_REGISTRY:-}" ]; then args+=(--registry "$INPUT_REGISTRY"); fi
    # As upstream documents it, a password input turns trusted publishing off (trustpub alone
    # would try the OIDC exchange first, as npm 11 does).
    if [ -n "$password" ]; then args+=(--no-trusted-publishing); fi
    if [ -n "${INPUT_TAG:-}" ]; then args+=(--tag "$INPUT_TAG"); fi
    if [ -n "${INPUT_ACCESS:-}" ]; then args+=(--access "$(lower "$INPUT_ACCESS")"); fi
    if [ -n "${INPUT_PROVENANCE:-}" ]; then
      if is_true "$INPUT_PROVENANCE"; then args+=(--provenance); else args+=(--no-provenance); fi
    fi
    credential_variable=NODE_AUTH_TOKEN
    ;;
  exec|exchange)
    registry="$(lower "${INPUT_REGISTRY:-}")"
    if [ -z "$registry" ]; then
      fail "command: $command needs the registry input: crates-io, rubygems or nuget"
    fi
    args+=("$command" "$registry")
    if [ -n "${INPUT_REGISTRY_URL:-}" ]; then args+=(--registry-url "$INPUT_REGISTRY_URL"); fi
    if [ -n "${INPUT_AUDIENCE:-}" ]; then args+=(--audience "$INPUT_AUDIENCE"); fi
    if [ "$user" != "__token__" ]; then args+=(--user "$user"); fi
    if [ "$command" = exec ]; then
      if [ -z "${INPUT_RUN:-}" ]; then
        fail "command: exec needs the run input: the command to run with the credential (e.g. cargo publish)"
      fi
      tail_args+=(-- bash -c "$INPUT_RUN")
    else
      # The token becomes the action's `token` output (masked first).
      args+=(--format github-output)
    fi
    if is_true "$dry_run"; then
      fail "dry-run applies to command: pypi and npm; command: $command always exchanges"
    fi
    ;;
  *)
    fail "the command input is \`${INPUT_COMMAND:-}\`: use \`pypi\`, \`npm\`, \`exec\` or \`exchange\`"
    ;;
esac

if is_true "$dry_run"; then
  args+=(--dry-run)
fi
if [ "$command" = npm ]; then
  # `trustpub npm publish` takes the directory holding the `npm pack` tarballs as its argument,
  # after `--`: a directory named `--token=…` stays a path.
  args+=(-- "$packages_dir")
fi

# The command as it runs, quoted for a shell, with no secret in it (the password is not an
# argument).
args+=(${tail_args[@]+"${tail_args[@]}"})
printable="$(printf ' %q' "$binary" "${args[@]}")"
if [ -n "$password" ]; then
  echo "Running:$printable  (with the password input as $credential_variable, not shown)"
  export "$credential_variable=$password"
else
  echo "Running:$printable"
fi
exec "$binary" "${args[@]}"
