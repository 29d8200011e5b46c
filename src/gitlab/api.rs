//! Typed calls for the GitLab endpoints labwatch uses. Every answer is held
//! to [`bounds`] before it is returned: what a caller gets, it may keep.

use reqwest::Method;
use reqwest::header::LINK;

use secrecy::{ExposeSecret, SecretString};

use super::bounds::{self, Bounded};
use super::types::{Project, ProtectedBranch, TokenInfo, User, Version};
use super::{Auth, GitlabClient, GitlabError};

/// GitLab's answer to a rotation: the new token, whatever else is wrong.
pub struct Rotation {
    /// The new token (within its bound and sendable).
    pub secret: SecretString,
    /// Its metadata as GitLab sent it. When `refused` is set, only the
    /// numbers and dates in it may be used: its text fields broke a bound.
    pub info: TokenInfo,
    /// Why the metadata broke a bound, if it did.
    pub refused: Option<GitlabError>,
}

/// Page size for listings; GitLab's maximum (docs/gitlab.md §7).
pub const PER_PAGE: &str = "100";

/// Where a page of the member-project listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    /// Offset pagination's page number, from 1.
    Offset(u32),
    /// Keyset pagination: the projects after this id.
    After(u64),
}

/// One page of the member-project listing.
pub struct MemberPage {
    pub projects: Vec<Project>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<PageAt>,
    /// `X-Total-Pages`: absent above 10,000 projects, and on keyset pages.
    pub total_pages: Option<u32>,
}

impl GitlabClient {
    /// `GET /version` with the token.
    pub async fn version(&self) -> Result<Version, GitlabError> {
        checked(self.get_json("/version", &[]).await)
    }

    /// `GET /user`: who the token belongs to.
    pub async fn user(&self) -> Result<User, GitlabError> {
        checked(self.get_json("/user", &[]).await)
    }

    /// `GET /personal_access_tokens/self`: the token's own metadata.
    pub async fn token_self(&self) -> Result<TokenInfo, GitlabError> {
        checked(self.get_json("/personal_access_tokens/self", &[]).await)
    }

    /// `POST /personal_access_tokens/self/rotate`: GitLab revokes this token
    /// at once and answers with its successor (docs/gitlab.md §2). Never retry this
    /// with the same token: a second call with a rotated token revokes the
    /// whole token family.
    pub async fn rotate_self(&self, expires_at: Option<time::Date>) -> Result<Rotation, GitlabError> {
        let mut url = self.api_url("/personal_access_tokens/self/rotate");
        if let Some(date) = expires_at {
            url.query_pairs_mut()
                .append_pair("expires_at", &super::types::format_date(date));
        }
        let answer = self.send(Method::POST, url, Auth::Token).await?;
        #[derive(serde::Deserialize)]
        struct Rotated {
            #[serde(flatten)]
            info: TokenInfo,
            token: String,
        }
        let rotated: Rotated = answer.json()?;
        let secret = SecretString::from(rotated.token);
        // A secret that cannot be sent is useless, whatever it costs.
        bounds::token_secret(secret.expose_secret())?;
        // GitLab has revoked the old token by now, so the new one is kept
        // even when the metadata around it breaks a bound: the caller
        // must not keep those fields, and says why.
        let refused = rotated.info.check_bounds().err();
        Ok(Rotation {
            secret,
            info: rotated.info,
            refused,
        })
    }

    /// `DELETE /personal_access_tokens/self`: revokes the token in use.
    pub async fn revoke_self(&self) -> Result<(), GitlabError> {
        let url = self.api_url("/personal_access_tokens/self");
        self.send(Method::DELETE, url, Auth::Token).await.map(|_| ())
    }

    /// One page of the user's projects (full shape), optionally filtered by
    /// GitLab's search, with whether another page follows.
    pub async fn member_projects_page(
        &self,
        search: Option<&str>,
        page: u32,
    ) -> Result<(Vec<Project>, Option<u32>), GitlabError> {
        let mut url = self.api_url("/projects");
        let page_s = page.to_string();
        url.query_pairs_mut()
            .extend_pairs([("membership", "true"), ("per_page", "20"), ("page", page_s.as_str())]);
        if let Some(q) = search.filter(|q| !q.is_empty()) {
            url.query_pairs_mut().append_pair("search", q);
        }
        self.projects_page(url).await
    }

    /// A page of projects at `url`, and the page after it when GitLab
    /// says there is one (`X-Next-Page`, empty on the last page).
    async fn projects_page(&self, url: url::Url) -> Result<(Vec<Project>, Option<u32>), GitlabError> {
        let answer = self.send(Method::GET, url, Auth::Token).await?;
        let next = answer
            .headers
            .get("x-next-page")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok((checked(answer.json())?, next))
    }

    /// One page, 20 projects, of GitLab's search over every project the
    /// token can see (`search` without `membership`: the user's own, and
    /// the internal and public ones, docs/gitlab.md §7), in GitLab's default
    /// order, with whether another page follows. One request: on gitlab.com
    /// a common word matches public projects of everyone, so the caller
    /// pages on a person's request, never on its own.
    pub async fn visible_projects_page(
        &self,
        search: &str,
        page: u32,
    ) -> Result<(Vec<Project>, Option<u32>), GitlabError> {
        let mut url = self.api_url("/projects");
        let page_s = page.to_string();
        url.query_pairs_mut()
            .extend_pairs([("search", search), ("per_page", "20"), ("page", page_s.as_str())]);
        self.projects_page(url).await
    }

    /// One page of the projects the user is a member of, full shape (with
    /// visibility and permissions), 100 per page in id order: where the
    /// next page starts, and how many pages there are when GitLab counted
    /// them (docs/gitlab.md §7: offset pages carry `X-Total-Pages` up to
    /// 10,000 projects; keyset pages never do).
    ///
    /// Offset pages end exactly (`X-Next-Page` is empty on the last), so a
    /// listing of M projects costs `ceil(M/100)` of them; keyset pages go on
    /// where offset pagination may stop (the 50,000 offset limit), from the
    /// last id read: the `id_after` GitLab's own `rel="next"` link holds.
    pub async fn member_listing_page(&self, at: PageAt) -> Result<MemberPage, GitlabError> {
        let mut url = self.api_url("/projects");
        url.query_pairs_mut().extend_pairs([
            ("membership", "true"),
            ("order_by", "id"),
            ("sort", "asc"),
            ("per_page", PER_PAGE),
        ]);
        match at {
            PageAt::Offset(page) => url.query_pairs_mut().append_pair("page", &page.to_string()),
            PageAt::After(id) => url
                .query_pairs_mut()
                .extend_pairs([("pagination", "keyset"), ("id_after", &id.to_string())]),
        };
        let answer = self.send(Method::GET, url, Auth::Token).await?;
        let projects: Vec<Project> = checked(answer.json())?;
        let number = |name: &str| {
            let value = answer.headers.get(name)?.to_str().ok()?.trim();
            value.parse::<u64>().ok()
        };
        let next = match at {
            PageAt::Offset(page) => number("x-next-page")
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > page)
                .map(PageAt::Offset),
            PageAt::After(_) => next_link(&answer.headers)
                .and(projects.last())
                .map(|p| PageAt::After(p.id)),
        };
        let total_pages = match at {
            PageAt::Offset(_) => number("x-total-pages").and_then(|n| u32::try_from(n).ok()),
            PageAt::After(_) => None,
        };
        Ok(MemberPage {
            projects,
            next,
            total_pages,
        })
    }

    /// `GET /projects/:path`. A moved project answers
    /// [`GitlabError::Moved`] with the new project's API location.
    pub async fn project(&self, path: &str) -> Result<Project, GitlabError> {
        let url = self.api_url(&format!("/projects/{}", encode_path(path)));
        checked(self.send(Method::GET, url, Auth::Token).await?.json())
    }

    /// Follows a [`GitlabError::Moved`] location (same instance only).
    pub async fn project_at(&self, location: &str) -> Result<Project, GitlabError> {
        let url = self.base().join(location).map_err(|e| GitlabError::Decode {
            message: format!("bad Location `{location}`: {e}"),
        })?;
        checked(self.send(Method::GET, url, Auth::Token).await?.json())
    }

    /// Projects whose path or name contains `term`, as GitLab searches them.
    pub async fn search_projects(&self, term: &str) -> Result<Vec<Project>, GitlabError> {
        checked(
            self.get_json("/projects", &[("search", term), ("per_page", "20"), ("order_by", "id")])
                .await,
        )
    }

    /// The protection rule of exactly `branch` of project `id`; `None` when
    /// the branch has none (GitLab's 404, docs/gitlab.md §15).
    pub async fn protected_branch(&self, id: u64, branch: &str) -> Result<Option<ProtectedBranch>, GitlabError> {
        let url = self.api_url(&format!("/projects/{id}/protected_branches/{}", encode_path(branch)));
        match self.send(Method::GET, url, Auth::Token).await {
            Ok(answer) => checked(answer.json()).map(Some),
            Err(GitlabError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Git smart-HTTP ref advertisement with the token as Basic password:
    /// what `git clone` asks first.
    pub async fn info_refs(&self, path: &str) -> Result<CloneProbe, GitlabError> {
        let mut url = self.web_url(&format!("{path}.git/info/refs"));
        url.query_pairs_mut().append_pair("service", "git-upload-pack");
        match self.send(Method::GET, url, Auth::Basic).await {
            Ok(_) => Ok(CloneProbe::Allowed),
            Err(GitlabError::TokenUnknown | GitlabError::TokenExpired | GitlabError::TokenRevoked) => {
                Ok(CloneProbe::Unauthorized)
            }
            Err(GitlabError::Forbidden { message }) => Ok(CloneProbe::Forbidden(message)),
            Err(GitlabError::NotFound) => Ok(CloneProbe::NotFound),
            Err(e) => Err(e),
        }
    }
}

/// A decoded answer, held to its bounds.
fn checked<T: Bounded>(answer: Result<T, GitlabError>) -> Result<T, GitlabError> {
    let answer = answer?;
    answer.check_bounds()?;
    Ok(answer)
}

/// What Git's first request of a clone got (docs/gitlab.md §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneProbe {
    /// 200: the ref advertisement; `git clone` would work.
    Allowed,
    /// 401 "HTTP Basic: Access denied".
    Unauthorized,
    /// 403 with GitLab's text ("You are not allowed to download code…").
    Forbidden(String),
    /// 404 "The project you were looking for could not be found…".
    NotFound,
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// `group/sub/project` → `group%2Fsub%2Fproject` (docs/gitlab.md §8).
pub fn encode_path(path: &str) -> String {
    url::form_urlencoded::byte_serialize(path.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn finds_the_next_link_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(
                "<https://g.example/api/v4/projects?page=1>; rel=\"first\", <https://g.example/api/v4/projects?id_after=42>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://g.example/api/v4/projects?id_after=42")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn project_paths_are_url_encoded() {
        assert_eq!(encode_path("acme/sub/app"), "acme%2Fsub%2Fapp");
    }
}
