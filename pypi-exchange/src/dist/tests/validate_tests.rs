//! `validate` on hand-made `Distribution`s: every rule and its message.

use std::path::PathBuf;

use super::fixtures::metadata;
use crate::dist::{
    ArchiveIssue, CoreMetadata, DistKind, Distribution, Problem, Severity, ValidateOptions,
    WheelFilename, validate,
};

fn dist(filename: &str, metadata_text: &str) -> Distribution {
    let kind = if filename.ends_with(".whl") {
        DistKind::Wheel(Box::new(WheelFilename::parse(filename).unwrap()))
    } else {
        DistKind::Sdist
    };
    Distribution {
        path: PathBuf::from("dist").join(filename),
        filename: filename.to_owned(),
        kind,
        metadata: CoreMetadata::parse(metadata_text.as_bytes()).unwrap(),
        metadata_member: String::new(),
        size: 1234,
        sha256: "0".repeat(64),
        blake2_256: "0".repeat(64),
        archive_issues: Vec::new(),
    }
}

fn report(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{p}\n")).collect()
}

fn check(dists: &[Distribution]) -> String {
    report(&validate(dists, &ValidateOptions::default()))
}

const MARKDOWN: &str = "Description-Content-Type: text/markdown\n\n# Hi\n";

#[test]
fn a_clean_release_has_no_problems() {
    let text = metadata("2.4", "Friendly.Bard", "1.0", MARKDOWN);
    let dists = [
        dist(
            "friendly_bard-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            &text,
        ),
        dist("friendly_bard-1.0-py3-none-any.whl", &text),
        dist("friendly_bard-1.0.tar.gz", &text),
    ];
    assert_eq!(check(&dists), "");
}

#[test]
fn filename_versions_compare_as_pep_440() {
    let text = metadata("2.1", "x", "1.0.0", MARKDOWN);
    assert_eq!(check(&[dist("x-1.0-py3-none-any.whl", &text)]), "");
    // An sdist name must spell the normalized version exactly.
    insta::assert_snapshot!(check(&[dist("x-1.0.tar.gz", &text)]), @"error: x-1.0.tar.gz: filename: Filename 'x-1.0.tar.gz' is invalid, should be 'x-1.0.0.tar.gz' (PEP 625); build the sdist again with a current build backend");
    let text = metadata("2.1", "x", "1.0-RC1", MARKDOWN);
    assert_eq!(check(&[dist("x-1.0rc1.tar.gz", &text)]), "");
}

#[test]
fn every_problem_in_every_file_is_reported_at_once() {
    let bad_wheel = metadata(
        "2.1",
        "Friendly.Bard",
        "1.1",
        "License-Expression: MIT\nLicense: MIT License\nImport-Name: bard\n\
         Project-URL: A label that is far too long for PyPI, https://example.org\n\
         Description-Content-Type: text/html\n\nbody\n",
    );
    let mut wheel = dist("Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl", &bad_wheel);
    wheel.size = 150 * 1024 * 1024;
    wheel.archive_issues = vec![
        ArchiveIssue::DistInfoMismatch {
            expected: "Friendly_Bard-1.0.dist-info/METADATA".into(),
            found: "friendly_bard-1.1.dist-info/METADATA".into(),
        },
        ArchiveIssue::MissingMember {
            member: "friendly_bard-1.1.dist-info/RECORD".into(),
        },
        ArchiveIssue::UnsupportedCompression {
            member: "data.bin".into(),
            method: "Bzip2".into(),
        },
        ArchiveIssue::DuplicateMembers,
    ];
    let summary = "s".repeat(513);
    let bad_sdist = metadata(
        "1.0",
        "Friendly.Bard",
        "1.1+local",
        &format!("Summary: {summary}\nClassifier: A :: B\nLicense-File: LICENSE\n"),
    );
    let mut sdist = dist("Friendly.Bard-1.1.zip.tar.gz", &bad_sdist);
    sdist.archive_issues = vec![ArchiveIssue::MissingLicenseFile {
        license_file: "LICENSE".into(),
        expected_member: "Friendly.Bard-1.1/LICENSE".into(),
    }];
    let nameless = dist("y-1.0.tar.gz", "Metadata-Version: 2.1\nVersion: one\n");
    let bad_name = dist(
        "z-1.0.tar.gz",
        &metadata(
            "2.1",
            "-z-",
            "1.0",
            "Description-Content-Type: text/markdown; charset=latin-1; variant=Original\n\nx\n",
        ),
    );
    let problems = validate(
        &[wheel, sdist, nameless, bad_name],
        &ValidateOptions::default(),
    );
    insta::assert_snapshot!(report(&problems), @r#"
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: License-Expression: License-Expression was introduced in Metadata-Version 2.4 but this file declares 2.1, which PyPI rejects; build again with a current build backend, which declares a matching version
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: Import-Name: Import-Name was introduced in Metadata-Version 2.5 but this file declares 2.1, which PyPI rejects; build again with a current build backend, which declares a matching version
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: License-Expression: License and License-Expression are mutually exclusive and PyPI rejects both; keep the SPDX expression (`license = "MIT"` in pyproject.toml) and drop the License text
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: Project-URL: the label "A label that is far too long for PyPI" is 37 characters long and PyPI allows at most 32; shorten that key under [project.urls]
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: Description-Content-Type: "text/html" is not a type PyPI accepts: use text/markdown, text/x-rst or text/plain (a `readme` ending in .md, .rst or .txt in pyproject.toml sets it)
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: filename: Filename 'Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl' should contain the normalized project name 'friendly_bard', not 'Friendly_Bard'; build the wheel again with a current build backend
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: filename: Version in filename should be '1.1' not '1.0'; the metadata says 1.1, build the wheel again so that its name and metadata agree
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: filename: Binary wheel 'Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'; PyPI accepts only portable Linux wheels: repair this one with auditwheel, or build it with cibuildwheel or maturin for a manylinux or musllinux target
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: archive: PyPI reads 'Friendly_Bard-1.0.dist-info/METADATA' (named after the filename) but the metadata is at 'friendly_bard-1.1.dist-info/METADATA'; build the wheel again so its .dist-info directory matches its filename
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: archive: 'friendly_bard-1.1.dist-info/RECORD' is missing and PyPI rejects wheels without it; build the wheel again with a standard build backend
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: archive: 'data.bin' is compressed with Bzip2; PyPI accepts only stored and deflate members, build the wheel again with a standard tool
        error: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: archive: the zip archive has several members with the same name, which PyPI rejects; build the wheel again
        warning: Friendly_Bard-1.0-cp312-cp312-linux_x86_64.whl: size: the file is 150.0 MiB, over PyPI's default limit of 100 MiB per file; unless project 'Friendly.Bard' already has a higher limit, PyPI will answer 'File too large': request a limit increase (https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase) before publishing
        error: Friendly.Bard-1.1.zip.tar.gz: Version: "1.1+local" has a local version label; PyPI does not accept local versions, build without it (for setuptools-scm: local_scheme = "no-local-version")
        error: Friendly.Bard-1.1.zip.tar.gz: Classifier: Classifier was introduced in Metadata-Version 1.1 but this file declares 1.0, which PyPI rejects; build again with a current build backend, which declares a matching version
        note: Friendly.Bard-1.1.zip.tar.gz: License-File: License-File needs Metadata-Version 2.4 but this file declares 1.0, so it is not sent to PyPI (as twine does); build with a backend that writes Metadata 2.4 to have license files recorded
        error: Friendly.Bard-1.1.zip.tar.gz: Summary: the summary is 513 characters long and PyPI allows at most 512; shorten `description` in pyproject.toml
        warning: Friendly.Bard-1.1.zip.tar.gz: Description: the description is empty, so PyPI will show no project description; set `readme` in pyproject.toml
        error: Friendly.Bard-1.1.zip.tar.gz: License-File: 'LICENSE' is not in the sdist at 'Friendly.Bard-1.1/LICENSE', where PyPI requires it; make the build backend include the license file
        error: y-1.0.tar.gz: Name: the metadata has no Name, which PyPI requires; set `name` under [project] in pyproject.toml and build again
        error: y-1.0.tar.gz: Version: 'one' is not a valid PEP 440 version: expected version to start with a number, but no leading ASCII digits were found; fix the version and build again
        warning: y-1.0.tar.gz: Description: the description is empty, so PyPI will show no project description; set `readme` in pyproject.toml
        error: z-1.0.tar.gz: Name: "-z-" is not a valid project name: PyPI allows ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit; fix `name` in pyproject.toml and build again
        error: z-1.0.tar.gz: Description-Content-Type: charset "latin-1" is not accepted: PyPI takes only UTF-8 descriptions, convert the README to UTF-8 and declare charset=UTF-8
        "#);
}

#[test]
fn size_over_the_default_limit_is_a_warning() {
    let mut big = dist(
        "x-1.0-py3-none-any.whl",
        &metadata("2.1", "x", "1.0", MARKDOWN),
    );
    big.size = 100 * 1024 * 1024 + 1;
    let problems = validate(&[big], &ValidateOptions::default());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].severity, Severity::Warning);
    insta::assert_snapshot!(report(&problems), @"warning: x-1.0-py3-none-any.whl: size: the file is 100.0 MiB, over PyPI's default limit of 100 MiB per file; unless project 'x' already has a higher limit, PyPI will answer 'File too large': request a limit increase (https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase) before publishing");
}

#[test]
fn releases_projects_and_duplicates_across_files() {
    let a1 = metadata("2.1", "a", "1.0", MARKDOWN);
    let a2 = metadata("2.1", "A", "2.0", MARKDOWN);
    let b = metadata("2.1", "b", "1.0", MARKDOWN);
    let mut again = dist("a-1.0-py3-none-any.whl", &a1);
    again.path = PathBuf::from("other/a-1.0-py3-none-any.whl");
    let dists = [
        dist("a-1.0-py3-none-any.whl", &a1),
        again,
        dist("a-1.0.tar.gz", &a1),
        dist("a-1.0.0.tar.gz", &metadata("2.1", "a", "1.0.0", MARKDOWN)),
        dist("a-2.0.tar.gz", &a2),
        dist("b-1.0.tar.gz", &b),
    ];
    insta::assert_snapshot!(check(&dists), @r#"
        error: a-1.0-py3-none-any.whl: filename: 2 files have this name (dist/a-1.0-py3-none-any.whl, other/a-1.0-py3-none-any.whl); PyPI takes a file name once, keep only one
        error: a-1.0.0.tar.gz: filename: Only one sdist may be uploaded per release, and 'a-1.0.tar.gz' is already an sdist of a 1.0; keep only one
        warning: this upload holds several versions of one project: a 1.0 (4 files), A 2.0 (1 file); files left over from an earlier build are the usual cause, clean the dist directory before building if that is not intended
        note: this upload holds files of 2 projects: a 1.0 (4 files), A 2.0 (1 file), b 1.0 (1 file); that is allowed, check that it is intended
        "#);
}

#[test]
fn description_checks_follow_verify_metadata() {
    let missing_type = dist(
        "x-1.0.tar.gz",
        &metadata("2.1", "x", "1.0", "\nSome *text*\n"),
    );
    let rst = dist(
        "y-1.0.tar.gz",
        &metadata(
            "2.1",
            "y",
            "1.0",
            "Description-Content-Type: text/x-rst\n\nTitle\n=====\n",
        ),
    );
    let empty = dist(
        "z-1.0.tar.gz",
        &metadata("2.1", "z", "1.0", "Description: UNKNOWN\n"),
    );
    let plain = dist(
        "p-1.0.tar.gz",
        &metadata(
            "2.1",
            "p",
            "1.0",
            "Description-Content-Type: text/plain\n\ntext\n",
        ),
    );
    let dists = [missing_type, rst, empty, plain];
    let off = validate(
        &dists,
        &ValidateOptions {
            verify_metadata: false,
        },
    );
    assert!(
        off.iter().all(|p| p.file.is_none()),
        "only the several-projects note remains: {off:?}"
    );
    insta::assert_snapshot!(check(&dists), @r#"
        warning: x-1.0.tar.gz: Description-Content-Type: not set, so PyPI renders the description as reStructuredText and rejects the upload if that fails; trustpub does not check reStructuredText rendering. If the description is Markdown, declare it (a `readme` ending in .md in pyproject.toml does)
        note: y-1.0.tar.gz: Description: the description is reStructuredText; trustpub does not check that it renders, and PyPI rejects descriptions that fail to render: run `twine check` on the file if in doubt
        warning: z-1.0.tar.gz: Description: the description is empty, so PyPI will show no project description; set `readme` in pyproject.toml
        note: this upload holds files of 4 projects: p 1.0 (1 file), x 1.0 (1 file), y 1.0 (1 file), z 1.0 (1 file); that is allowed, check that it is intended
        "#);
}

#[test]
fn problems_serialize_for_machine_output() {
    let problem = Problem::new(Severity::Warning, Some("x.whl"), Some("size"), "big");
    assert_eq!(
        serde_json::to_string(&problem).unwrap(),
        r#"{"severity":"warning","file":"x.whl","field":"size","message":"big"}"#
    );
    assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Note);
}

#[test]
fn description_content_type_parameters() {
    let with_type = |content_type: &str| {
        let extra = format!("Description-Content-Type: {content_type}\n\nbody\n");
        check(&[dist("x-1.0.tar.gz", &metadata("2.1", "x", "1.0", &extra))])
    };
    for ok in [
        "text/markdown",
        "text/markdown; charset=utf-8; variant=gfm",
        "Text/Markdown; charset=\"UTF-8\"; variant=CommonMark",
        "text/plain; charset=UTF-8",
    ] {
        assert_eq!(with_type(ok), "", "{ok}");
    }
    insta::assert_snapshot!(with_type("text/markdown; variant=Original"), @r#"error: x-1.0.tar.gz: Description-Content-Type: Markdown variant "Original" is not accepted: use variant=GFM or variant=CommonMark"#);
    insta::assert_snapshot!(with_type("markdown"), @r#"error: x-1.0.tar.gz: Description-Content-Type: "markdown" is not a type PyPI accepts: use text/markdown, text/x-rst or text/plain (a `readme` ending in .md, .rst or .txt in pyproject.toml sets it)"#);
}
