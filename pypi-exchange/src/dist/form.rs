//! The metadata part of PyPI's legacy upload form, built from [`CoreMetadata`].

use super::metadata::{CoreMetadata, MetadataVersion};

impl CoreMetadata {
    /// The metadata fields of the legacy upload form, named as PyPI's form names them
    /// (core-metadata names, lowercase, `-` → `_`; `classifiers` and `project_urls` plural;
    /// `platform`, `supported_platform`, `license_file`, `import_name`, `import_namespace`
    /// singular). Multi-use fields are repeated keys, in file order.
    ///
    /// The order is fixed: `metadata_version`, `name`, `version` (empty when absent, which
    /// [`validate`](super::validate) reports), the other single-use fields,
    /// then the multi-use ones. Absent single-use fields are left out, except `requires_python`,
    /// which is always sent (empty when absent) because some indexes require the key.
    /// `keywords` is one comma-separated string and each `project_urls` value is
    /// `"Label, URL"`. As twine does, `license_file` is only sent for Metadata-Version 2.4 and
    /// later (setuptools wrote `License-File` into older metadata that PyPI would reject).
    ///
    /// These are metadata fields only: the upload adds `:action`, `protocol_version`,
    /// `filetype`, `pyversion`, the digests and the file itself.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let mut f = Fields(vec![
            (
                "metadata_version",
                self.metadata_version.as_str().to_owned(),
            ),
            ("name", self.name.clone().unwrap_or_default()),
            ("version", self.version.clone().unwrap_or_default()),
        ]);
        f.single("summary", &self.summary);
        f.single("description", &self.description);
        f.single("description_content_type", &self.description_content_type);
        if !self.keywords.is_empty() {
            f.0.push(("keywords", self.keywords.join(", ")));
        }
        f.single("home_page", &self.home_page);
        f.single("download_url", &self.download_url);
        f.single("author", &self.author);
        f.single("author_email", &self.author_email);
        f.single("maintainer", &self.maintainer);
        f.single("maintainer_email", &self.maintainer_email);
        f.single("license", &self.license);
        f.single("license_expression", &self.license_expression);
        if self.metadata_version >= MetadataVersion::V2_4 {
            f.multi("license_file", &self.license_files);
        }
        f.multi("classifiers", &self.classifiers);
        f.multi("platform", &self.platforms);
        f.multi("supported_platform", &self.supported_platforms);
        f.multi("requires_dist", &self.requires_dist);
        let requires_python = self.requires_python.clone().unwrap_or_default();
        f.0.push(("requires_python", requires_python));
        f.multi("requires_external", &self.requires_external);
        for url in &self.project_urls {
            f.0.push(("project_urls", format!("{}, {}", url.label, url.url)));
        }
        f.multi("provides_extra", &self.provides_extra);
        f.multi("provides_dist", &self.provides_dist);
        f.multi("obsoletes_dist", &self.obsoletes_dist);
        f.multi("dynamic", &self.dynamic);
        f.multi("import_name", &self.import_names);
        f.multi("import_namespace", &self.import_namespaces);
        f.0
    }
}

struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn single(&mut self, key: &'static str, value: &Option<String>) {
        if let Some(value) = value {
            self.0.push((key, value.clone()));
        }
    }

    fn multi(&mut self, key: &'static str, values: &[String]) {
        self.0.extend(values.iter().map(|v| (key, v.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(fields: &[(&str, String)]) -> String {
        fields.iter().map(|(k, v)| format!("{k}={v:?}\n")).collect()
    }

    #[test]
    fn every_field_in_a_stable_order() {
        let metadata = CoreMetadata::parse(
            b"Metadata-Version: 2.5\n\
              Import-Namespace: bards\n\
              Import-Name: friendly_bard\n\
              Dynamic: Requires-Dist\n\
              Obsoletes-Dist: old-bard\n\
              Provides-Dist: bard\n\
              Provides-Extra: http\n\
              Project-URL: Source, https://example.org/src\n\
              Requires-External: libpng\n\
              Requires-Python: >=3.9\n\
              Requires-Dist: requests\n\
              Requires-Dist: rich\n\
              Supported-Platform: RedHat 7.2\n\
              Platform: any\n\
              Classifier: A :: B\n\
              Classifier: C :: D\n\
              License-File: LICENSE\n\
              License-Expression: MIT\n\
              License: old\n\
              Maintainer-email: bo@example.org\n\
              Maintainer: Bo\n\
              Author-email: ana@example.org\n\
              Author: Ana\n\
              Download-URL: https://example.org/dl\n\
              Home-page: https://example.org\n\
              Keywords: a,b\n\
              Description-Content-Type: text/plain\n\
              Summary: s\n\
              Version: 1.0\n\
              Name: Friendly-Bard\n\
              X-Unknown: not sent\n\
              \n\
              body\n",
        )
        .unwrap();
        insta::assert_snapshot!(render(&metadata.form_fields()), @r#"
        metadata_version="2.5"
        name="Friendly-Bard"
        version="1.0"
        summary="s"
        description="body\n"
        description_content_type="text/plain"
        keywords="a, b"
        home_page="https://example.org"
        download_url="https://example.org/dl"
        author="Ana"
        author_email="ana@example.org"
        maintainer="Bo"
        maintainer_email="bo@example.org"
        license="old"
        license_expression="MIT"
        license_file="LICENSE"
        classifiers="A :: B"
        classifiers="C :: D"
        platform="any"
        supported_platform="RedHat 7.2"
        requires_dist="requests"
        requires_dist="rich"
        requires_python=">=3.9"
        requires_external="libpng"
        project_urls="Source, https://example.org/src"
        provides_extra="http"
        provides_dist="bard"
        obsoletes_dist="old-bard"
        dynamic="Requires-Dist"
        import_name="friendly_bard"
        import_namespace="bards"
        "#);
    }

    #[test]
    fn minimal_metadata_still_sends_requires_python() {
        let metadata =
            CoreMetadata::parse(b"Metadata-Version: 1.0\nName: x\nVersion: 1\n").unwrap();
        insta::assert_snapshot!(render(&metadata.form_fields()), @r#"
        metadata_version="1.0"
        name="x"
        version="1"
        requires_python=""
        "#);
    }

    #[test]
    fn license_file_is_dropped_before_metadata_2_4() {
        let old = CoreMetadata::parse(
            b"Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense-File: LICENSE\n",
        )
        .unwrap();
        assert_eq!(old.license_files, ["LICENSE"], "parsed, but not sent");
        assert!(!old.form_fields().iter().any(|(k, _)| *k == "license_file"));
        let new = CoreMetadata::parse(
            b"Metadata-Version: 2.4\nName: x\nVersion: 1\nLicense-File: LICENSE\n",
        )
        .unwrap();
        assert!(
            new.form_fields()
                .contains(&("license_file", "LICENSE".to_owned()))
        );
    }
}
