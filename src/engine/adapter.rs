//! Policy set-up, owner approval and the AS's clock: UMA leaves them out of scope, so the
//! profile says how. `reference` talks to the reference AS's policy and approval API; `command`
//! runs a program (request JSON on stdin, answer JSON on stdout; contract in
//! `fixtures/targets/adapters/README.md`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::Req;
use super::{ScenarioCtx, StepError};
use crate::check::Response;
use crate::profile::{ClockAdapter, PolicyAdapter};
use crate::suite::step::approve::Decision;
use crate::suite::step::policy::AbstractPolicy;

fn reference_policy(abstract_policy: AbstractPolicy, email: &str) -> Value {
    match abstract_policy {
        AbstractPolicy::Open => json!({"type": "open"}),
        AbstractPolicy::ClaimEmail => json!({"type": "claims", "claims": {"email": email}}),
        AbstractPolicy::OwnerApproval => json!({"type": "owner-approval"}),
        AbstractPolicy::Deny => json!({"type": "deny"}),
    }
}

fn failed(detail: impl Into<String>) -> StepError {
    StepError::Adapter {
        adapter: "policy",
        detail: detail.into(),
    }
}

/// Establishes an abstract policy on a resource.
pub async fn set_policy(
    ctx: &mut ScenarioCtx<'_>,
    pat: &str,
    resource_id: &str,
    all: Option<AbstractPolicy>,
    scopes: &BTreeMap<String, AbstractPolicy>,
) -> Result<Response, StepError> {
    let email = ctx.rqp.email.clone();
    match ctx.env.authz.profile.policy.clone() {
        PolicyAdapter::Reference => {
            let mut body = json!({"scopes": {}});
            for (s, p) in scopes {
                body["scopes"][s] = reference_policy(*p, &email);
            }
            if let Some(a) = all {
                body["default"] = reference_policy(a, &email);
            }
            let url = format!("{}/policy/{resource_id}", ctx.env.authz.issuer().trim_end_matches('/'));
            let resp = ctx.send(Req::new("PUT", url).bearer(pat).json(body)).await?;
            if !(200..300).contains(&resp.status) {
                return Err(failed(format!("HTTP {}: {}", resp.status, short(&resp.text))));
            }
            Ok(resp)
        }
        PolicyAdapter::Command {
            command,
            timeout_seconds,
        } => {
            let request = json!({
                "action": "set-policy",
                "issuer": ctx.env.authz.issuer(),
                "resource_id": resource_id,
                "scopes": scopes,
                "default": all,
                "requesting_party": {"email": email, "sub": ctx.rqp.sub},
                "claims_issuer": ctx.env.idp.issuer(),
                "pat": pat,
            });
            run_command("policy", &command, timeout_seconds, request).await
        }
        PolicyAdapter::Manual { .. } => Err(failed(
            "the manual policy adapter cannot set policies; this scenario needs `policy-setup`",
        )),
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(200).collect();
    crate::diagnostic::printable(&t)
}

/// Decides the pending owner-approval request on a resource.
pub async fn approve(
    ctx: &mut ScenarioCtx<'_>,
    pat: &str,
    resource_id: &str,
    decision: Decision,
) -> Result<(), StepError> {
    let failed = |detail: String| StepError::Adapter {
        adapter: "approval",
        detail,
    };
    match ctx.env.authz.profile.policy.clone() {
        PolicyAdapter::Reference => {
            let base = ctx.env.authz.issuer().trim_end_matches('/').to_string();
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
                .ok_or_else(|| failed(format!("no pending approval request for resource {resource_id}")))?;
            let resp = ctx
                .send(
                    Req::new("POST", format!("{base}/approvals/{id}"))
                        .bearer(pat)
                        .json(json!({"decision": decision.as_str()})),
                )
                .await?;
            if resp.status != 200 {
                return Err(failed(format!("HTTP {}", resp.status)));
            }
            Ok(())
        }
        PolicyAdapter::Command {
            command,
            timeout_seconds,
        } => {
            let request = json!({"action": "approve", "issuer": ctx.env.authz.issuer(), "resource_id": resource_id, "decision": decision.as_str(), "pat": pat});
            run_command("approval", &command, timeout_seconds, request)
                .await
                .map(|_| ())
        }
        PolicyAdapter::Manual { .. } => Err(failed("the manual adapter cannot approve requests".into())),
    }
}

/// Moves the target AS's clock `seconds` forward through the profile's clock adapter
/// (`{"action": "advance-clock", "issuer": …, "seconds": N}`).
pub async fn advance_clock(ctx: &ScenarioCtx<'_>, adapter: &ClockAdapter, seconds: f64) -> Result<(), StepError> {
    match adapter {
        ClockAdapter::Command {
            command,
            timeout_seconds,
        } => {
            let request = json!({"action": "advance-clock", "issuer": ctx.env.authz.issuer(), "seconds": seconds});
            run_command("clock", command, *timeout_seconds, request)
                .await
                .map(|_| ())
        }
    }
}

async fn run_command(
    adapter: &'static str,
    command: &[String],
    timeout_seconds: Option<u64>,
    request: Value,
) -> Result<Response, StepError> {
    let failed = |detail: String| StepError::Adapter { adapter, detail };
    let (program, args) = command
        .split_first()
        .ok_or_else(|| failed("the command adapter has an empty `command`".into()))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("failed to start `{program}`: {e}")))?;
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
    let (out, err, status) =
        result.map_err(|_| failed(format!("`{program}` did not answer within {} s", limit.as_secs())))?;
    let answer: Value = serde_json::from_str(out.trim()).map_err(|e| {
        failed(format!(
            "`{program}` printed no JSON answer ({e}); stderr: {}",
            short(err.trim())
        ))
    })?;
    if !status.is_ok_and(|s| s.success()) || answer.get("ok") != Some(&Value::Bool(true)) {
        return Err(failed(format!(
            "`{program}` refused: {}",
            short(answer.get("error").and_then(Value::as_str).unwrap_or(err.trim()))
        )));
    }
    Ok(Response::of_json(answer))
}
