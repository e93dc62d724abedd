//! Sample artifacts the demo publishes: a small pure-Python wheel and its sdist.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The demo's Python project.
pub const PROJECT: &str = "trustpub-demo";

fn metadata(project: &str, version: &str) -> String {
    format!(
        "Metadata-Version: 2.4\nName: {project}\nVersion: {version}\nSummary: A package published by `trustpub demo`\nLicense-Expression: MIT\nRequires-Python: >=3.8\nDescription-Content-Type: text/markdown\n\n# {project}\n\nPublished with OIDC trusted publishing: no stored secret.\n"
    )
}

/// Writes `<module>-<version>-py3-none-any.whl` and `<module>-<version>.tar.gz` for `project`.
pub fn write_python_dists(
    dir: &Path,
    project: &str,
    version: &str,
) -> std::io::Result<Vec<PathBuf>> {
    fs_err::create_dir_all(dir)?;
    let module = project.replace('-', "_");
    let module = module.as_str();
    let dist_info = format!("{module}-{version}.dist-info");
    let wheel_path = dir.join(format!("{module}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(fs_err::File::create(&wheel_path)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let init = format!("\"\"\"Published by trustpub demo.\"\"\"\n__version__ = \"{version}\"\n");
    let wheel =
        "Wheel-Version: 1.0\nGenerator: trustpub-demo\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let files = [
        (format!("{module}/__init__.py"), init.clone()),
        (format!("{dist_info}/METADATA"), metadata(project, version)),
        (format!("{dist_info}/WHEEL"), wheel.to_owned()),
    ];
    let mut record = String::new();
    for (name, contents) in &files {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(contents.as_bytes())?;
        record.push_str(&format!("{name},,\n"));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    zip.start_file(format!("{dist_info}/RECORD"), options)
        .map_err(std::io::Error::other)?;
    zip.write_all(record.as_bytes())?;
    zip.finish().map_err(std::io::Error::other)?;

    let sdist_path = dir.join(format!("{module}-{version}.tar.gz"));
    let mut tar = tar::Builder::new(GzEncoder::new(
        fs_err::File::create(&sdist_path)?,
        Compression::default(),
    ));
    let top = format!("{module}-{version}");
    let pyproject = format!("[project]\nname = \"{project}\"\nversion = \"{version}\"\n");
    for (name, contents) in [
        (format!("{top}/PKG-INFO"), metadata(project, version)),
        (format!("{top}/pyproject.toml"), pyproject),
        (format!("{top}/src/{module}/__init__.py"), init),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, name, contents.as_bytes())?;
    }
    tar.into_inner()?.finish()?;
    Ok(vec![wheel_path, sdist_path])
}

/// The demo's npm package.
pub const NPM_PACKAGE: &str = "@trustpub/demo";

/// Writes `trustpub-demo-<version>.tgz` as `npm pack` lays it out (`package/…`).
pub fn write_npm_tarball(dir: &Path, repository: &str, version: &str) -> std::io::Result<PathBuf> {
    fs_err::create_dir_all(dir)?;
    let path = dir.join(format!("trustpub-demo-{version}.tgz"));
    let manifest = serde_json::json!({
        "name": NPM_PACKAGE,
        "version": version,
        "description": "A package published by `trustpub demo`",
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": format!("git+https://github.com/{repository}.git")},
        "publishConfig": {"access": "public"}
    });
    let manifest = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
    let mut tar = tar::Builder::new(GzEncoder::new(
        fs_err::File::create(&path)?,
        Compression::default(),
    ));
    for (name, contents) in [
        ("package/package.json", manifest.as_str()),
        (
            "package/index.js",
            "module.exports = 'published with trusted publishing';\n",
        ),
        (
            "package/README.md",
            "# @trustpub/demo\n\nPublished with OIDC trusted publishing: no NPM_TOKEN.\n",
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(499_162_500);
        header.set_cksum();
        tar.append_data(&mut header, name, contents.as_bytes())?;
    }
    tar.into_inner()?.finish()?;
    Ok(path)
}
