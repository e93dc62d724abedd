//! Boolean options as twine, gh-action-pypi-publish and npm users spell them.
//!
//! Every boolean option of every command takes three spellings: the bare flag (which never
//! swallows the next argument, so `--skip-existing dist/` works as in twine),
//! `--flag=true|false`, and the action's `--flag true|false`. A following token is taken as the
//! value only when it is a boolean literal (`true` or `false`, any case); anything else stays an
//! argument of its own.
//!
//! clap cannot express "an optional value, but only if it looks like a boolean", so the command
//! is adjusted once (every boolean option gets an optional `=VALUE` that requires the `=`) and
//! the arguments are rewritten before clap sees them (`--flag true` becomes `--flag=true`).

use std::ffi::OsString;

use clap::builder::ArgAction;
use clap::{Arg, Command};

/// Parses a boolean value: `true`/`false` and the usual synonyms. Like gh-action-pypi-publish,
/// an empty value is true.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" | "" => Ok(true),
        other => Err(format!("`{other}` is not a boolean: use true or false")),
    }
}

/// Whether a separate token is the value of the boolean option before it.
fn is_boolean_literal(token: &str) -> bool {
    token.eq_ignore_ascii_case("true") || token.eq_ignore_ascii_case("false")
}

/// Gives every boolean option of `command` (and of its subcommands) the three spellings.
pub fn with_boolean_spellings(command: Command) -> Command {
    let command = command.mut_args(|arg| {
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            // A plain switch: keep its meaning (absent = false) and let it take a value.
            arg.action(ArgAction::Set)
                .value_parser(parse_bool)
                .num_args(0..=1)
                .require_equals(true)
                .default_value("false")
                .default_missing_value("true")
                .value_name("BOOL")
        } else if takes_optional_value(&arg) {
            let named = arg.get_value_names().is_some();
            let arg = arg.require_equals(true);
            if named { arg } else { arg.value_name("BOOL") }
        } else {
            arg
        }
    });
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, with_boolean_spellings)
    })
}

/// An option whose value is optional (`--attestations[=BOOL]`): the boolean-valued ones.
fn takes_optional_value(arg: &Arg) -> bool {
    arg.get_long().is_some()
        && matches!(arg.get_action(), ArgAction::Set)
        && arg
            .get_num_args()
            .is_some_and(|range| range.min_values() == 0 && range.max_values() == 1)
}

/// The long names (and aliases) of the boolean options of one command.
fn boolean_longs(command: &Command) -> Vec<String> {
    let mut longs = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_require_equals_set() && takes_optional_value(arg) {
            longs.extend(arg.get_long().map(str::to_owned));
            if let Some(aliases) = arg.get_all_aliases() {
                longs.extend(aliases.into_iter().map(str::to_owned));
            }
        }
    }
    longs
}

/// Rewrites `--flag true|false` into `--flag=true|false` for the boolean options of the
/// subcommand being invoked (`command` must have been built, so global options are known
/// everywhere). Everything after `--` is left alone.
pub fn join_boolean_values(command: &Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut current = command;
    let mut longs = boolean_longs(current);
    let mut iter = args.into_iter().peekable();
    // The program name.
    if let Some(program) = iter.next() {
        out.push(program);
    }
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str().map(str::to_owned) else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        if let Some(sub) = current.find_subcommand(&text) {
            current = sub;
            longs = boolean_longs(current);
            out.push(arg);
            continue;
        }
        let is_boolean = text
            .strip_prefix("--")
            .is_some_and(|name| !name.contains('=') && longs.iter().any(|l| l == name));
        let value = iter
            .peek()
            .and_then(|next| next.to_str())
            .filter(|next| is_boolean_literal(next))
            .map(str::to_owned);
        match value {
            Some(value) if is_boolean => {
                iter.next();
                out.push(OsString::from(format!("{text}={value}")));
            }
            _ => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> Command {
        let mut command = with_boolean_spellings(
            Command::new("t")
                .arg(
                    Arg::new("quiet")
                        .long("quiet")
                        .action(ArgAction::SetTrue)
                        .global(true),
                )
                .subcommand(
                    Command::new("up")
                        .arg(
                            Arg::new("skip")
                                .long("skip-existing")
                                .visible_alias("skip_existing")
                                .action(ArgAction::SetTrue),
                        )
                        .arg(Arg::new("repo").long("repository-url"))
                        .arg(Arg::new("paths").num_args(0..)),
                ),
        );
        command.build();
        command
    }

    fn parse(args: &[&str]) -> (bool, bool, Vec<String>) {
        let command = command();
        let args = join_boolean_values(&command, args.iter().map(OsString::from).collect());
        let matches = command.try_get_matches_from(args).unwrap();
        let (_, sub) = matches.subcommand().unwrap();
        let paths = sub
            .get_many::<String>("paths")
            .map(|p| p.cloned().collect())
            .unwrap_or_default();
        (
            *sub.get_one::<bool>("skip").unwrap(),
            *sub.get_one::<bool>("quiet").unwrap(),
            paths,
        )
    }

    #[test]
    fn every_spelling() {
        let dist = vec!["dist/".to_owned()];
        assert_eq!(
            parse(&["t", "up", "--skip-existing", "dist/"]),
            (true, false, dist.clone())
        );
        assert_eq!(
            parse(&["t", "up", "--skip-existing=false", "dist/"]),
            (false, false, dist.clone())
        );
        assert_eq!(
            parse(&["t", "up", "--skip-existing", "False", "dist/"]),
            (false, false, dist.clone())
        );
        assert_eq!(
            parse(&["t", "up", "--skip_existing", "true", "dist/"]),
            (true, false, dist.clone())
        );
        assert_eq!(
            parse(&["t", "up", "dist/", "--skip-existing"]),
            (true, false, dist.clone())
        );
        assert_eq!(parse(&["t", "up", "dist/"]), (false, false, dist.clone()));
        assert_eq!(
            parse(&["t", "up", "--quiet", "true", "dist/"]),
            (false, true, dist.clone())
        );
        // A value-taking option keeps its value even when it reads `true`.
        assert_eq!(
            parse(&[
                "t",
                "up",
                "--repository-url",
                "true",
                "--skip-existing",
                "--",
                "true"
            ]),
            (true, false, vec!["true".to_owned()])
        );
    }

    /// Every boolean option of every trustpub command, in every position: bare before a path,
    /// `--flag=true|false`, `--flag true|false`.
    #[test]
    fn every_boolean_option_of_every_command() {
        use clap::CommandFactory;
        let mut root = with_boolean_spellings(crate::cli::Cli::command());
        root.build();
        let mut leaves = Vec::new();
        collect_leaves(&root, vec![], &mut leaves);
        let mut checked = 0;
        for path in &leaves {
            let mut command = &root;
            for name in path {
                command = command.find_subcommand(name).unwrap();
            }
            // Dummy values for what the command requires.
            let mut required = Vec::new();
            let mut positional = None;
            // A path, or the first allowed value of a positional that takes a fixed set
            // (`trustpub init pypi`): what must survive a bare boolean flag before it.
            let mut value = "dist/".to_owned();
            // A command after `--` (`trustpub exec REGISTRY -- CMD`) goes last.
            let mut trailing = Vec::new();
            for arg in command.get_arguments() {
                if arg.is_positional() && arg.is_last_set() {
                    if arg.is_required_set() {
                        trailing = vec!["--".to_owned(), "true".to_owned()];
                    }
                } else if arg.is_positional() && positional.is_none() {
                    positional = Some(arg.get_id().to_string());
                    if let Some(first) = arg.get_possible_values().first() {
                        value = first.get_name().to_owned();
                    } else if arg.get_id() == "registry" {
                        // The broker's registry name (parsed, not a fixed value list).
                        value = "crates-io".to_owned();
                    }
                    if arg.is_required_set() {
                        required.push(value.clone());
                    }
                } else if arg.is_required_set() {
                    required.push(format!("--{}", arg.get_long().unwrap()));
                    required.push("x".to_owned());
                }
            }
            for arg in command.get_arguments() {
                if !(arg.is_require_equals_set() && takes_optional_value(arg)) {
                    continue;
                }
                let long = arg.get_long().unwrap();
                let id = arg.get_id().to_string();
                for (spelling, expected) in [
                    (vec![format!("--{long}")], "true"),
                    (vec![format!("--{long}=true")], "true"),
                    (vec![format!("--{long}=false")], "false"),
                    (vec![format!("--{long}"), "true".to_owned()], "true"),
                    (vec![format!("--{long}"), "FALSE".to_owned()], "false"),
                ] {
                    let mut args = vec!["trustpub".to_owned()];
                    args.extend(path.iter().cloned());
                    args.extend(required.iter().cloned());
                    args.extend(spelling.iter().cloned());
                    if positional.is_some() && !required.contains(&value) {
                        args.push(value.clone());
                    }
                    args.extend(trailing.iter().cloned());
                    let joined =
                        join_boolean_values(&root, args.iter().map(OsString::from).collect());
                    let matches = root
                        .clone()
                        .try_get_matches_from(joined)
                        .unwrap_or_else(|err| panic!("{args:?}: {err}"));
                    let mut leaf = &matches;
                    for name in path {
                        leaf = leaf.subcommand_matches(name).unwrap();
                    }
                    let raw: Vec<String> = leaf
                        .get_raw(&id)
                        .unwrap()
                        .map(|v| v.to_string_lossy().to_ascii_lowercase())
                        .collect();
                    assert_eq!(raw, [expected], "{args:?}");
                    if let Some(positional) = &positional {
                        let paths: Vec<String> = leaf
                            .get_raw(positional)
                            .unwrap()
                            .map(|v| v.to_string_lossy().into_owned())
                            .collect();
                        assert_eq!(paths, [value.as_str()], "{args:?}: the path stays a path");
                    }
                    checked += 1;
                }
            }
        }
        // pypi upload (7 + the globals), npm publish, token, demo, doctor: dozens of cases.
        assert!(checked > 60, "only {checked} cases");
    }

    fn collect_leaves(command: &Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&Command> = command
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() && !path.is_empty() {
            out.push(path);
            return;
        }
        for sub in subs {
            let mut next = path.clone();
            next.push(sub.get_name().to_owned());
            collect_leaves(sub, next, out);
        }
    }

    #[test]
    fn a_non_boolean_after_equals_is_an_error() {
        let command = command();
        let args = join_boolean_values(
            &command,
            ["t", "up", "--skip-existing=maybe"]
                .iter()
                .map(OsString::from)
                .collect(),
        );
        let err = command.try_get_matches_from(args).unwrap_err().to_string();
        assert!(err.contains("not a boolean"), "{err}");
    }
}
