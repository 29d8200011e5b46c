//! `labwatch workspaces list|show|create|delete`: the run-time workspaces
//! of a running daemon, through `/api/v1/workspaces`.
//!
//! `create` takes its settings two ways: `--from-json FILE` holds any key
//! of a `[[workspace]]` table, exactly the API's body (and what `show
//! --json` prints, so a workspace can be copied or edited and sent back),
//! and flags set the common keys (instance, repositories, scopes, interval,
//! timeout, renewal mode) on top without writing JSON. One flag per key
//! would duplicate the table's every key in the CLI, and a JSON file alone
//! would make the seed flow (an instance and a few repositories) a chore.

use std::io::Read;
use std::path::Path;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::error::AdminError;
use super::{admin_client, finish, render};
use crate::cli::args::{
    WorkspaceCreateArgs, WorkspaceDeleteArgs, WorkspaceShowArgs, WorkspacesCommand, WorkspacesListArgs,
};
use crate::wire::{WorkspaceDeleted, WorkspaceDoc, WorkspacePage};

/// A body is at most the daemon's request limit (`http::BODY_LIMIT`).
const MAX_BODY_FILE: u64 = 64 * 1024;

pub async fn workspaces(command: WorkspacesCommand) -> u8 {
    finish(match command {
        WorkspacesCommand::List(args) => list(args).await,
        WorkspacesCommand::Show(args) => show(args).await,
        WorkspacesCommand::Create(args) => create(args).await,
        WorkspacesCommand::Delete(args) => delete(args).await,
    })
}

async fn list(args: WorkspacesListArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let mut query = Vec::new();
    if let Some(p) = args.page {
        query.push(("page", p.to_string()));
    }
    if let Some(n) = args.per_page {
        query.push(("per_page", n.to_string()));
    }
    let page: WorkspacePage = client.call(Method::GET, &["workspaces"], &query, None::<&()>).await?;
    if args.json {
        return Ok(json_text(&page));
    }
    Ok(render::workspace_page(&page))
}

async fn show(args: WorkspaceShowArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let doc: WorkspaceDoc = client
        .call(Method::GET, &["workspaces", &args.workspace], &[], None::<&()>)
        .await?;
    if args.json {
        return Ok(json_text(&doc));
    }
    Ok(render::workspace(&doc))
}

async fn create(args: WorkspaceCreateArgs) -> Result<String, AdminError> {
    let body = create_body(&args)?;
    let client = admin_client(&args.daemon)?;
    let doc: WorkspaceDoc = client
        .call(Method::PUT, &["workspaces", &args.workspace], &[], Some(&body))
        .await?;
    Ok(format!(
        "Workspace {} is saved and its checks run now (origin {}).\n{}",
        doc.name,
        doc.origin,
        render::workspace(&doc)
    ))
}

async fn delete(args: WorkspaceDeleteArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let query = if args.revoke {
        vec![("revoke", "true".to_owned())]
    } else {
        Vec::new()
    };
    let done: WorkspaceDeleted = client
        .call(Method::DELETE, &["workspaces", &args.workspace], &query, None::<&()>)
        .await?;
    Ok(render::workspace_deleted(&done, args.revoke))
}

/// `--from-json`'s object with the flags set on top.
fn create_body(args: &WorkspaceCreateArgs) -> Result<Value, AdminError> {
    let mut body = match &args.from_json {
        Some(path) => read_json_object(path)?,
        None => Map::new(),
    };
    let mut set = |key: &str, value: Value| {
        body.insert(key.to_owned(), value);
    };
    if let Some(url) = &args.instance_url {
        set("instance_url", url.as_str().into());
    }
    if !args.repos.is_empty() {
        set("repositories", args.repos.clone().into());
    }
    if !args.required_scopes.is_empty() {
        set("required_scopes", args.required_scopes.clone().into());
    }
    if let Some(d) = &args.interval {
        set("interval", d.as_str().into());
    }
    if let Some(d) = &args.timeout {
        set("timeout", d.as_str().into());
    }
    if let Some(mode) = &args.renewal_mode {
        let mut renewal = body
            .get("renewal")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        renewal.insert("mode".into(), mode.as_str().into());
        body.insert("renewal".into(), Value::Object(renewal));
    }
    Ok(Value::Object(body))
}

fn read_json_object(path: &Path) -> Result<Map<String, Value>, AdminError> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_BODY_FILE + 1)
            .read_to_string(&mut text)
            .map_err(|e| AdminError::usage(format!("cannot read the workspace's JSON from stdin: {e}")))?;
        if text.len() as u64 > MAX_BODY_FILE {
            return Err(AdminError::usage(format!(
                "the workspace's JSON on stdin is over {MAX_BODY_FILE} bytes, more than the daemon takes"
            )));
        }
        text
    } else {
        crate::files::read_text_capped(path, MAX_BODY_FILE).map_err(|e| {
            AdminError::usage(format!("cannot read --from-json `{}`: {e}", path.display()))
                .step("Point --from-json at a JSON file with the keys of a [[workspace]] table, or `-` for stdin.")
        })?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AdminError::usage(format!(
            "--from-json `{}` holds JSON that is not an object",
            path.display()
        ))
        .step(format!(
            "Write an object, for example {}.",
            json!({"instance_url": "https://gitlab.com", "repositories": ["group/project"]})
        ))),
        Err(e) => Err(AdminError::usage(format!(
            "--from-json `{}` is not JSON: {e}",
            path.display()
        ))),
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
