//! Policy set-up and owner approval: UMA leaves them out of scope, so the profile says how.
//! `reference` talks to the reference AS's policy and approval API; `command` runs a program
//! (request JSON on stdin, answer JSON on stdout; contract in `fixtures/targets/adapters/README.md`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::PolicyAdapter;
use crate::engine::http::Req;
use crate::engine::{Resp, ScenarioCtx, StepError};

fn reference_policy(abstract_policy: &str, email: &str) -> Value {
    match abstract_policy {
        "open" => json!({"type": "open"}),
        "claim-email" => json!({"type": "claims", "claims": {"email": email}}),
        "owner-approval" => json!({"type": "owner-approval"}),
        _ => json!({"type": "deny"}),
    }
}

/// Establishes an abstract policy on a resource.
pub async fn set_policy(
    ctx: &mut ScenarioCtx<'_>,
    pat: &str,
    resource_id: &str,
    all: Option<&str>,
    scopes: &BTreeMap<String, String>,
) -> Result<Resp, StepError> {
    let email = ctx.rqp.email.clone();
    match ctx.env.target.profile.policy.clone() {
        PolicyAdapter::Reference => {
            let mut body = json!({"scopes": {}});
            for (s, p) in scopes {
                body["scopes"][s] = reference_policy(p, &email);
            }
            if let Some(a) = all {
                body["default"] = reference_policy(a, &email);
            }
            let url = format!("{}/policy/{resource_id}", ctx.env.target.issuer().trim_end_matches('/'));
            let resp = ctx.send(Req::new("PUT", url).bearer(pat).json(body)).await?;
            if !(200..300).contains(&resp.status) {
                let first = ctx.scenario.requirements.first().cloned().unwrap_or_default();
                ctx.record_error(
                    &first,
                    "set-up: setting a policy through the reference adapter",
                    format!("HTTP {}: {}", resp.status, resp.text),
                );
                return Err(StepError(format!(
                    "the policy adapter failed with HTTP {}",
                    resp.status
                )));
            }
            Ok(resp)
        }
        PolicyAdapter::Command {
            command,
            timeout_seconds,
        } => {
            let request = json!({
                "action": "set-policy",
                "issuer": ctx.env.target.issuer(),
                "resource_id": resource_id,
                "scopes": scopes,
                "default": all,
                "requesting_party": {"email": email, "sub": ctx.rqp.sub},
                "claims_issuer": ctx.env.idp.issuer(),
                "pat": pat,
            });
            run_command(&command, timeout_seconds, request).await
        }
        PolicyAdapter::Manual { .. } => Err(StepError(
            "the manual policy adapter cannot set policies; this scenario needs `policy-setup`".into(),
        )),
    }
}

/// Decides the pending owner-approval request on a resource.
pub async fn approve(ctx: &mut ScenarioCtx<'_>, pat: &str, resource_id: &str, decision: &str) -> Result<(), StepError> {
    match ctx.env.target.profile.policy.clone() {
        PolicyAdapter::Reference => {
            let base = ctx.env.target.issuer().trim_end_matches('/').to_string();
            let list = ctx
                .send(Req::new("GET", format!("{base}/approvals")).bearer(pat))
                .await?;
            let id = list
                .json
                .as_ref()
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter().find(|r| {
                        r.get("permissions").and_then(Value::as_array).is_some_and(|p| {
                            p.iter()
                                .any(|x| x.get("resource_id").and_then(Value::as_str) == Some(resource_id))
                        })
                    })
                })
                .and_then(|r| r.get("id").and_then(Value::as_str))
                .map(str::to_string)
                .ok_or_else(|| StepError(format!("no pending approval request for resource {resource_id}")))?;
            let resp = ctx
                .send(
                    Req::new("POST", format!("{base}/approvals/{id}"))
                        .bearer(pat)
                        .json(json!({"decision": decision})),
                )
                .await?;
            if resp.status != 200 {
                return Err(StepError(format!(
                    "the approval adapter failed with HTTP {}",
                    resp.status
                )));
            }
            Ok(())
        }
        PolicyAdapter::Command {
            command,
            timeout_seconds,
        } => {
            let request = json!({"action": "approve", "issuer": ctx.env.target.issuer(), "resource_id": resource_id, "decision": decision, "pat": pat});
            run_command(&command, timeout_seconds, request).await.map(|_| ())
        }
        PolicyAdapter::Manual { .. } => Err(StepError("the manual adapter cannot approve requests".into())),
    }
}

async fn run_command(command: &[String], timeout_seconds: Option<u64>, request: Value) -> Result<Resp, StepError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| StepError("the command adapter has an empty `command`".into()))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| StepError(format!("cannot start the policy adapter `{program}`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes()).await;
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let limit = Duration::from_secs(timeout_seconds.unwrap_or(10));
    let result = tokio::time::timeout(limit, async {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut out).await;
        }
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut err).await;
        }
        let status = child.wait().await;
        (out, err, status)
    })
    .await;
    let (out, err, status) = result.map_err(|_| {
        StepError(format!(
            "the policy adapter `{program}` did not answer within {} s",
            limit.as_secs()
        ))
    })?;
    let answer: Value = serde_json::from_str(out.trim()).map_err(|e| {
        StepError(format!(
            "the policy adapter `{program}` printed no JSON answer ({e}); stderr: {}",
            err.trim()
        ))
    })?;
    if !status.is_ok_and(|s| s.success()) || answer.get("ok") != Some(&Value::Bool(true)) {
        return Err(StepError(format!(
            "the policy adapter `{program}` refused: {}",
            answer.get("error").and_then(Value::as_str).unwrap_or(err.trim())
        )));
    }
    Ok(Resp {
        json: Some(answer),
        ..Resp::default()
    })
}
