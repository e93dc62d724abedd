//! The part of `hosted-git-info@9` npm's manifest normalisation uses: recognising a git URL on a
//! known host (GitHub, GitLab, Bitbucket, Gist, SourceHut), including shorthands such as
//! `owner/repo` and `github:owner/repo`, and rewriting it (`repository.url`, dependency specs,
//! `bugs`, `homepage`).

use url::Url;

use super::text::{decode_uri_component, encode_uri_component};

/// A known git host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    GitHub,
    Bitbucket,
    GitLab,
    Gist,
    SourceHut,
}

impl Host {
    const ALL: [Host; 5] = [
        Host::GitHub,
        Host::Bitbucket,
        Host::GitLab,
        Host::Gist,
        Host::SourceHut,
    ];

    fn name(self) -> &'static str {
        match self {
            Host::GitHub => "github",
            Host::Bitbucket => "bitbucket",
            Host::GitLab => "gitlab",
            Host::Gist => "gist",
            Host::SourceHut => "sourcehut",
        }
    }

    fn domain(self) -> &'static str {
        match self {
            Host::GitHub => "github.com",
            Host::Bitbucket => "bitbucket.org",
            Host::GitLab => "gitlab.com",
            Host::Gist => "gist.github.com",
            Host::SourceHut => "git.sr.ht",
        }
    }

    fn protocols(self) -> &'static [&'static str] {
        match self {
            Host::GitHub => &["git:", "http:", "git+ssh:", "git+https:", "ssh:", "https:"],
            Host::Bitbucket | Host::GitLab => &["git+ssh:", "git+https:", "ssh:", "https:"],
            Host::Gist => &["git:", "git+ssh:", "git+https:", "ssh:", "https:"],
            Host::SourceHut => &["git+ssh:", "https:"],
        }
    }

    fn treepath(self) -> Option<&'static str> {
        match self {
            Host::Bitbucket => Some("src"),
            Host::Gist => None,
            Host::GitHub | Host::GitLab | Host::SourceHut => Some("tree"),
        }
    }

    /// The user, project and committish in a URL on this host's domain (`extract`).
    fn extract(self, url: &Url) -> Option<(Option<String>, String, Option<String>)> {
        let path = url.path();
        let hash = url.fragment().unwrap_or_default().to_owned();
        let strip_git = |p: &str| p.strip_suffix(".git").unwrap_or(p).to_owned();
        let segments: Vec<&str> = path.split('/').collect();
        let segment = |i: usize| segments.get(i).copied().filter(|s| !s.is_empty());
        match self {
            Host::GitHub => {
                let (user, project, kind) = (segment(1)?, segment(2)?, segment(3));
                let committish = match kind {
                    Some("tree") => Some(
                        segments
                            .get(4)
                            .map_or("undefined".to_owned(), |c| (*c).to_owned()),
                    ),
                    Some(_) => return None,
                    None => Some(hash),
                };
                let project = strip_git(project);
                (!project.is_empty()).then(|| (Some(user.to_owned()), project, committish))
            }
            Host::Bitbucket | Host::SourceHut => {
                let banned = if self == Host::Bitbucket {
                    "get"
                } else {
                    "archive"
                };
                if segment(3) == Some(banned) {
                    return None;
                }
                let (user, project) = (segment(1)?, strip_git(segment(2)?));
                (!project.is_empty()).then(|| (Some(user.to_owned()), project, Some(hash)))
            }
            Host::GitLab => {
                let path = path.strip_prefix('/').unwrap_or(path);
                if path.contains("/-/") || path.contains("/archive.tar.gz") {
                    return None;
                }
                let (user, project) = path.rsplit_once('/')?;
                let project = strip_git(project);
                (!user.is_empty() && !project.is_empty())
                    .then(|| (Some(user.to_owned()), project, Some(hash)))
            }
            Host::Gist => {
                if segment(3) == Some("raw") {
                    return None;
                }
                match (segments.get(1).copied().unwrap_or_default(), segment(2)) {
                    ("", None) => None,
                    (user, None) => Some((None, strip_git(user), Some(hash))),
                    (user, Some(project)) => {
                        Some((Some(user.to_owned()), strip_git(project), Some(hash)))
                    }
                }
            }
        }
    }
}

/// How a URL was written, which decides how npm writes it back (`toString`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Shortcut,
    SshUrl,
    Https,
    Git,
    /// `http:` and `git+http:`, which hosted-git-info has no template for: written as `sshurl`.
    Other,
}

/// A git repository on a known host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostedGit {
    host: Host,
    user: Option<String>,
    auth: Option<String>,
    project: String,
    committish: Option<String>,
    default: Representation,
}

/// `hosted-git-info`'s `isGitHubShorthand`: `owner/repo`, `owner/repo#ref`.
fn is_github_shorthand(arg: &str) -> bool {
    let hash = arg.find('#');
    let first_slash = arg.find('/');
    let second_slash = first_slash.and_then(|i| arg[i + 1..].find('/').map(|j| i + 1 + j));
    let only_after_hash = |pos: Option<usize>| pos.is_none_or(|p| hash.is_some_and(|h| p > h));
    let ends_ok = match hash {
        Some(h) => !arg[..h].ends_with('/'),
        None => !arg.ends_with('/'),
    };
    only_after_hash(arg.find(super::text::is_js_space))
        && first_slash.is_some_and(|i| i > 0)
        && ends_ok
        && !arg.starts_with('.')
        && only_after_hash(arg.find('@'))
        && only_after_hash(arg.find(':'))
        && only_after_hash(second_slash)
}

/// `hosted-git-info`'s protocol table: `(protocol, representation name, allows auth)`.
fn known_protocol(protocol: &str) -> Option<(Representation, bool)> {
    Some(match protocol {
        "git+ssh:" | "ssh:" => (Representation::SshUrl, false),
        "git+https:" | "https:" => (Representation::Https, true),
        "git:" => (Representation::Git, true),
        "http:" | "git+http:" => (Representation::Other, true),
        _ => {
            let name = protocol.strip_suffix(':')?;
            Host::ALL.iter().find(|h| h.name() == name)?;
            (Representation::Shortcut, false)
        }
    })
}

/// `lastIndexOfBefore`: the last `c` before the first `before` (or anywhere).
fn last_index_before(s: &str, c: char, before: char) -> Option<usize> {
    match s.find(before) {
        Some(limit) => s[..=limit].rfind(c),
        None => s.rfind(c),
    }
}

/// `parse-url.js`: makes scp-style and protocol-less URLs parseable, then parses.
fn parse_url(giturl: &str) -> Option<Url> {
    let with_protocol = {
        let colon = giturl.find(':');
        let protocol = colon.map_or("", |c| &giturl[..=c]);
        if known_protocol(protocol).is_some()
            || colon.is_some_and(|c| giturl[c..].starts_with("://"))
        {
            giturl.to_owned()
        } else if let Some(at) = giturl.find('@') {
            if colon.is_none_or(|c| at > c) {
                format!("git+ssh://{giturl}")
            } else {
                giturl.to_owned()
            }
        } else {
            let split = colon.map_or(0, |c| c + 1);
            format!("{}//{}", &giturl[..split], &giturl[split..])
        }
    };
    if let Ok(url) = Url::parse(&with_protocol) {
        return Some(url);
    }
    let mut corrected = with_protocol.clone();
    let at = last_index_before(&corrected, '@', '#');
    if let Some(colon) = last_index_before(&corrected, ':', '#')
        && at.is_none_or(|at| colon > at)
    {
        corrected.replace_range(colon..=colon, "/");
    }
    if last_index_before(&corrected, ':', '#').is_none() && !corrected.contains("//") {
        corrected = format!("git+ssh://{corrected}");
    }
    Url::parse(&corrected).ok()
}

impl HostedGit {
    /// `hostedGitInfo.fromUrl(giturl)`.
    pub(crate) fn from_url(giturl: &str) -> Option<HostedGit> {
        if giturl.is_empty() {
            return None;
        }
        let corrected = if is_github_shorthand(giturl) {
            format!("github:{giturl}")
        } else {
            giturl.to_owned()
        };
        let parsed = parse_url(&corrected)?;
        let protocol = format!("{}:", parsed.scheme());
        let hostname = parsed.host_str().unwrap_or_default();
        let hostname = hostname.strip_prefix("www.").unwrap_or(hostname);
        let shortcut = Host::ALL
            .iter()
            .copied()
            .find(|h| protocol == format!("{}:", h.name()));
        let host =
            shortcut.or_else(|| Host::ALL.iter().copied().find(|h| h.domain() == hostname))?;
        let (representation, allows_auth) =
            known_protocol(&protocol).unwrap_or((Representation::Other, false));
        let auth = (allows_auth && (!parsed.username().is_empty() || parsed.password().is_some()))
            .then(|| {
                format!(
                    "{}{}",
                    parsed.username(),
                    parsed
                        .password()
                        .map(|p| format!(":{p}"))
                        .unwrap_or_default()
                )
            });
        if shortcut.is_some() {
            let mut path = parsed.path().strip_prefix('/').unwrap_or(parsed.path());
            if let Some(at) = path.find('@') {
                path = &path[at + 1..];
            }
            let (user, project) = match path.rsplit_once('/') {
                Some((user, project)) => (
                    Some(decode_uri_component(user)?).filter(|u| !u.is_empty()),
                    project,
                ),
                None => (None, path),
            };
            let project = decode_uri_component(project)?;
            let project = project
                .strip_suffix(".git")
                .map(str::to_owned)
                .unwrap_or(project);
            let committish = match parsed.fragment() {
                Some(hash) if !hash.is_empty() => Some(decode_uri_component(hash)?),
                _ => None,
            };
            return Some(HostedGit {
                host,
                user,
                auth,
                project,
                committish,
                default: Representation::Shortcut,
            });
        }
        if !host.protocols().contains(&protocol.as_str()) {
            return None;
        }
        let (user, project, committish) = host.extract(&parsed)?;
        Some(HostedGit {
            host,
            user: match user {
                Some(user) => Some(decode_uri_component(&user)?),
                None => None,
            },
            auth,
            project: decode_uri_component(&project)?,
            committish: match committish {
                Some(c) => Some(decode_uri_component(&c)?),
                None => None,
            },
            default: representation,
        })
    }

    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("null")
    }

    /// `maybeJoin('#', committish)`.
    fn hash(&self) -> String {
        self.committish
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| format!("#{c}"))
            .unwrap_or_default()
    }

    fn auth_at(&self) -> String {
        self.auth
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| format!("{a}@"))
            .unwrap_or_default()
    }

    /// `git+https://github.com/owner/repo.git`.
    pub(crate) fn https(&self) -> String {
        let (domain, project, hash) = (self.host.domain(), &self.project, self.hash());
        match self.host {
            Host::Gist => format!("git+https://{domain}/{project}.git{hash}"),
            Host::SourceHut => format!("https://{domain}/{}/{project}{hash}", self.user()),
            _ => format!(
                "git+https://{}{domain}/{}/{project}.git{hash}",
                self.auth_at(),
                self.user()
            ),
        }
    }

    fn sshurl(&self) -> String {
        let (domain, project, hash) = (self.host.domain(), &self.project, self.hash());
        match self.host {
            Host::Gist => format!("git+ssh://git@{domain}/{project}.git{hash}"),
            _ => format!("git+ssh://git@{domain}/{}/{project}.git{hash}", self.user()),
        }
    }

    fn git(&self) -> Option<String> {
        let (domain, project, hash) = (self.host.domain(), &self.project, self.hash());
        match self.host {
            Host::GitHub => Some(format!(
                "git://{}{domain}/{}/{project}.git{hash}",
                self.auth_at(),
                self.user()
            )),
            Host::Gist => Some(format!("git://{domain}/{project}.git{hash}")),
            _ => None,
        }
    }

    fn shortcut(&self) -> String {
        match self.host {
            Host::Gist => format!("gist:{}{}", self.project, self.hash()),
            host => format!(
                "{}:{}/{}{}",
                host.name(),
                self.user(),
                self.project,
                self.hash()
            ),
        }
    }

    /// `https://github.com/owner/repo#readme`, npm's default `homepage`.
    pub(crate) fn docs(&self) -> String {
        let committish = self
            .committish
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(encode_uri_component);
        let domain = self.host.domain();
        match (self.host, self.host.treepath()) {
            (_, Some(tree)) => format!(
                "https://{domain}/{}/{}{}#readme",
                self.user(),
                self.project,
                committish
                    .map(|c| format!("/{tree}/{c}"))
                    .unwrap_or_default()
            ),
            (_, None) => format!(
                "https://{domain}/{}{}",
                self.project,
                committish.map(|c| format!("/{c}")).unwrap_or_default()
            ),
        }
    }

    /// `https://github.com/owner/repo/issues`, npm's default `bugs.url`.
    pub(crate) fn bugs(&self) -> Option<String> {
        match self.host {
            Host::SourceHut => None,
            Host::Gist => Some(format!("https://{}/{}", self.host.domain(), self.project)),
            host => Some(format!(
                "https://{}/{}/{}/issues",
                host.domain(),
                self.user(),
                self.project
            )),
        }
    }

    /// The repository's web address, `https://github.com/owner/repo`: no `git+`, credentials,
    /// `.git` or committish. `None` for a gist or a URL without an owner (`github:repo`).
    pub(crate) fn web_url(&self) -> Option<String> {
        match (self.host, self.user.as_deref()) {
            (Host::Gist, _) | (_, None) => None,
            (host, Some(user)) => {
                Some(format!("https://{}/{user}/{}", host.domain(), self.project))
            }
        }
    }

    /// Whether the URL was a shorthand (`github:o/r`, `o/r`).
    pub(crate) fn is_shortcut(&self) -> bool {
        self.default == Representation::Shortcut
    }

    /// `toString()`: the URL rewritten in the form it was written in.
    pub(crate) fn to_default_string(&self) -> String {
        match self.default {
            Representation::Shortcut => self.shortcut(),
            Representation::Https => self.https(),
            Representation::Git => self.git().unwrap_or_else(|| self.sshurl()),
            Representation::SshUrl | Representation::Other => self.sshurl(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hostedGitInfo.fromUrl(input)` in hosted-git-info 9 (npm 11.19.1), one case per line:
    /// `input => https() toString() docs() bugs()`, `-` for undefined.
    const CASES: &str = "
        o/r => git+https://github.com/o/r.git github:o/r https://github.com/o/r#readme https://github.com/o/r/issues
        github:Owner/Repo => git+https://github.com/Owner/Repo.git github:Owner/Repo https://github.com/Owner/Repo#readme https://github.com/Owner/Repo/issues
        https://github.com/o/r => git+https://github.com/o/r.git git+https://github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        git+https://github.com/o/r.git => git+https://github.com/o/r.git git+https://github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        git@github.com:o/r.git => git+https://github.com/o/r.git git+ssh://git@github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        git://github.com/o/r.git#v1.0 => git+https://github.com/o/r.git#v1.0 git://github.com/o/r.git#v1.0 https://github.com/o/r/tree/v1.0#readme https://github.com/o/r/issues
        http://www.github.com/o/r => git+https://github.com/o/r.git git+ssh://git@github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        https://user:pw@github.com/o/r.git => git+https://user:pw@github.com/o/r.git git+https://user:pw@github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        gitlab:group/sub/proj => git+https://gitlab.com/group/sub/proj.git gitlab:group/sub/proj https://gitlab.com/group/sub/proj#readme https://gitlab.com/group/sub/proj/issues
        https://gitlab.com/group/sub/proj.git => git+https://gitlab.com/group/sub/proj.git git+https://gitlab.com/group/sub/proj.git https://gitlab.com/group/sub/proj#readme https://gitlab.com/group/sub/proj/issues
        bitbucket:o/r#main => git+https://bitbucket.org/o/r.git#main bitbucket:o/r#main https://bitbucket.org/o/r/src/main#readme https://bitbucket.org/o/r/issues
        gist:abc123 => git+https://gist.github.com/abc123.git gist:abc123 https://gist.github.com/abc123 https://gist.github.com/abc123
        https://git.sr.ht/~u/p => https://git.sr.ht/~u/p https://git.sr.ht/~u/p https://git.sr.ht/~u/p#readme -
        https://github.com/o/r/tree/dev => git+https://github.com/o/r.git#dev git+https://github.com/o/r.git#dev https://github.com/o/r/tree/dev#readme https://github.com/o/r/issues
        https://example.com/o/r.git => -
        ^1.2.3 => -
        file:../x => -
        npm:foo@1 => -
        ./o/r => -
        @scope/name => -
        https://gitlab.com/o/r/-/archive/x.tar.gz => -
        github:foo => git+https://github.com/null/foo.git github:null/foo https://github.com/null/foo#readme https://github.com/null/foo/issues
        https://github.com/o/r/tree => git+https://github.com/o/r.git#undefined git+https://github.com/o/r.git#undefined https://github.com/o/r/tree/undefined#readme https://github.com/o/r/issues
        git+ssh://git@gitlab.com:grp/p.git => git+https://gitlab.com/grp/p.git git+ssh://git@gitlab.com/grp/p.git https://gitlab.com/grp/p#readme https://gitlab.com/grp/p/issues
        ssh://git@bitbucket.org/o/r => git+https://bitbucket.org/o/r.git git+ssh://git@bitbucket.org/o/r.git https://bitbucket.org/o/r#readme https://bitbucket.org/o/r/issues
        user@github.com:o/r => git+https://github.com/o/r.git git+ssh://git@github.com/o/r.git https://github.com/o/r#readme https://github.com/o/r/issues
        https://gist.github.com/u/abc.git => git+https://gist.github.com/abc.git git+https://gist.github.com/abc.git https://gist.github.com/abc https://gist.github.com/abc
        git@gist.github.com:abc.git => git+https://gist.github.com/abc.git git+ssh://git@gist.github.com/abc.git https://gist.github.com/abc https://gist.github.com/abc
        https://github.com/o/r%zz => -
    ";

    #[test]
    fn matches_hosted_git_info() {
        for line in CASES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (input, expected) = line.split_once(" => ").unwrap();
            let actual = HostedGit::from_url(input).map_or_else(
                || "-".to_owned(),
                |h| {
                    let bugs = h.bugs().unwrap_or_else(|| "-".into());
                    format!(
                        "{} {} {} {bugs}",
                        h.https(),
                        h.to_default_string(),
                        h.docs()
                    )
                },
            );
            assert_eq!(actual, expected, "{input}");
        }
    }
}
