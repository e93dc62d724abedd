//! The whole flow on a real dist directory: collect, read, validate.

use super::fixtures::{metadata, write_sdist, write_wheel};
use crate::dist::{Distribution, Problem, ValidateOptions, collect, validate};

#[test]
fn a_dist_directory_with_good_bad_and_stray_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = metadata(
        "2.4",
        "friendly-bard",
        "2.0",
        "Description-Content-Type: text/markdown\n\n# Bard\n",
    );
    write_wheel(d, "friendly_bard-2.0-py3-none-any.whl", &text);
    write_wheel(d, "friendly_bard-2.0-cp312-cp312-linux_x86_64.whl", &text);
    write_sdist(d, "friendly_bard-2.0.tar.gz", &text);
    fs_err::write(
        d.join("friendly_bard-2.0.tar.gz.publish.attestation"),
        b"{}",
    )
    .unwrap();
    fs_err::write(d.join("friendly_bard-2.0.tar.gz.sigstore.json"), b"{}").unwrap();
    fs_err::write(d.join("broken-1.0-py3-none-any.whl"), b"<html>502</html>").unwrap();

    let found = collect(&[d.to_path_buf()]).unwrap();
    assert_eq!(found.dists.len(), 4);
    assert_eq!(
        found.attestations.keys().collect::<Vec<_>>(),
        ["friendly_bard-2.0.tar.gz"]
    );
    assert_eq!(found.ignored.len(), 1);

    let mut problems = Vec::new();
    let mut dists = Vec::new();
    for path in &found.dists {
        match Distribution::read(path) {
            Ok(dist) => dists.push(dist),
            Err(error) => problems.push(Problem::from_read_error(&error)),
        }
    }
    assert_eq!(dists.len(), 3);
    assert!(dists[0].is_wheel() && dists[1].is_wheel() && !dists[2].is_wheel());
    problems.extend(validate(&dists, &ValidateOptions::default()));
    let report: String = problems
        .iter()
        .map(|p| {
            format!(
                "{}\n",
                p.to_string().replace(&d.display().to_string(), "<dir>")
            )
        })
        .collect();
    insta::assert_snapshot!(report, @r#"
        error: broken-1.0-py3-none-any.whl: is not a zip archive (a wheel), its content looks like an HTML page (often an error page saved in place of the real download); build the distribution again or download it again
        error: friendly_bard-2.0-cp312-cp312-linux_x86_64.whl: filename: Binary wheel 'friendly_bard-2.0-cp312-cp312-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'; PyPI accepts only portable Linux wheels: repair this one with auditwheel, or build it with cibuildwheel or maturin for a manylinux or musllinux target
        "#);
    assert_eq!(problems.iter().filter(|p| p.is_error()).count(), 2);
}
