//! Reading a `.gem`: a plain tar holding `metadata.gz` (the gemspec as YAML, gzipped), `data.tar.gz` and
//! `checksums.yaml.gz`. Only the top-level `name`, `version` (`!ruby/object:Gem::Version` with a nested
//! `version:`) and `platform` of the gemspec are read, line by line.

use std::io::Read as _;

const MAX_METADATA: u64 = 1024 * 1024;
const MAX_ENTRIES: usize = 64;

/// What the testbed needs from a gemspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) platform: String,
}

impl Spec {
    /// The version as RubyGems.org titles it: `1.0.0`, or `1.0.0-x86_64-linux` for a platform gem.
    pub(crate) fn full_version(&self) -> String {
        if self.platform == "ruby" {
            self.version.clone()
        } else {
            format!("{}-{}", self.version, self.platform)
        }
    }
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .unwrap_or(value)
        .to_owned()
}

/// Reads the gemspec of a `.gem`.
pub(crate) fn read_spec(gem: &[u8]) -> Result<Spec, String> {
    let mut archive = tar::Archive::new(gem);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    let mut metadata = None;
    let mut has_data = false;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ENTRIES {
            return Err("too many entries".to_owned());
        }
        let entry = entry.map_err(|e| format!("unreadable entry: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("unreadable path: {e}"))?
            .to_string_lossy()
            .into_owned();
        match path.as_str() {
            "metadata.gz" => {
                let mut yaml = String::new();
                flate2::read::GzDecoder::new(entry)
                    .take(MAX_METADATA)
                    .read_to_string(&mut yaml)
                    .map_err(|e| format!("metadata.gz: {e}"))?;
                metadata = Some(yaml);
            }
            "data.tar.gz" => has_data = true,
            _ => {}
        }
    }
    let yaml = metadata.ok_or("no metadata.gz")?;
    if !has_data {
        return Err("no data.tar.gz".to_owned());
    }
    parse_spec(&yaml)
}

fn parse_spec(yaml: &str) -> Result<Spec, String> {
    let mut name = None;
    let mut version = None;
    let mut platform = None;
    let mut in_version = false;
    for line in yaml.lines() {
        let top_level = !line.starts_with(' ') && !line.starts_with('-');
        if top_level {
            in_version = false;
            if let Some(value) = line.strip_prefix("name:") {
                name = Some(unquote(value));
            } else if let Some(value) = line.strip_prefix("platform:") {
                platform = Some(unquote(value));
            } else if let Some(value) = line.strip_prefix("version:") {
                let value = value.trim();
                if value.starts_with("!ruby/object:Gem::Version") || value.is_empty() {
                    in_version = true;
                } else {
                    version = Some(unquote(value));
                }
            }
        } else if in_version && let Some(value) = line.trim_start().strip_prefix("version:") {
            version = Some(unquote(value));
            in_version = false;
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("the gemspec has no name")?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or("the gemspec has no version")?;
    Ok(Spec {
        name,
        version,
        platform: platform.unwrap_or_else(|| "ruby".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_version_and_platform() {
        let yaml = "--- !ruby/object:Gem::Specification\nname: tiny\nversion: !ruby/object:Gem::Version\n  version: 0.1.0\nplatform: ruby\nauthors:\n- Octo\ndependencies: []\n";
        let spec = parse_spec(yaml).unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.full_version().as_str()),
            ("tiny", "0.1.0")
        );
        let native = parse_spec("name: 'n'\nversion: !ruby/object:Gem::Version\n  version: '2.0'\nplatform: x86_64-linux\n").unwrap();
        assert_eq!(native.full_version(), "2.0-x86_64-linux");
        assert!(parse_spec("version: 1\n").is_err());
    }
}
