"""python-gitlab, unmodified, against the labwatch GitLab simulator.

Usage: conformance.py URL TOKEN OTHER_TOKEN_NAME
Prints one JSON object with what each call answered; the Rust test
(tests/it/sim_python_gitlab.rs) asserts on it.
"""

import json
import sys

import gitlab

url, token, other_token_name = sys.argv[1:4]
gl = gitlab.Gitlab(url, private_token=token)
out = {"python_gitlab": gitlab.__version__}

# Authenticate: GET /user.
gl.auth()
out["user"] = gl.user.username


def paths(projects):
    return [p.path_with_namespace for p in projects]


# Booleans as Python sends them: membership=True, simple=True, archived=False.
out["membership"] = paths(
    gl.projects.list(membership=True, simple=True, archived=False, order_by="id", sort="asc", get_all=True)
)
out["orders"] = {
    order_by: paths(gl.projects.list(membership=True, order_by=order_by, get_all=True))
    for order_by in ["star_count", "storage_size", "repository_size", "similarity"]
}
out["similar"] = paths(gl.projects.list(search="back", order_by="similarity", get_all=True))

project = gl.projects.get("acme/backend")
out["project"] = {"id": project.id, "path": project.path_with_namespace, "visibility": project.visibility}
out["project_by_id"] = gl.projects.get(project.id).path_with_namespace

# Personal access tokens: list, get one by id, revoke it.
tokens = gl.personal_access_tokens.list(get_all=True)
out["tokens"] = sorted(t.name for t in tokens)
other = next(t for t in tokens if t.name == other_token_name)
out["token_by_id"] = gl.http_get(f"/personal_access_tokens/{other.id}")["name"]
gl.personal_access_tokens.delete(other.id)
out["revoked"] = [t.name for t in gl.personal_access_tokens.list(revoked=True, get_all=True)]
try:
    gl.http_get(f"/personal_access_tokens/{other.id + 1000}")
    out["missing_token"] = None
except gitlab.exceptions.GitlabError as e:
    out["missing_token"] = e.response_code

# Users: by id, by username, an unknown username.
bob = gl.users.list(username="bob")
out["user_by_name"] = [u.username for u in bob]
out["user_by_id"] = gl.users.get(bob[0].id).username
out["unknown_user"] = [u.username for u in gl.users.list(username="nobody-here")]
try:
    gl.users.get(999999)
    out["missing_user"] = None
except gitlab.exceptions.GitlabError as e:
    out["missing_user"] = e.response_code

print(json.dumps(out))
