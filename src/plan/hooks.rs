//! The compiled side of callbacks and webhooks: for every hook operation, when it is sent
//! (a webhook's store event), where (a webhook's target from `--webhook NAME=URL` or its
//! `x-specstub.url`) and how (delay, retries, timeout). Sending them is `crate::hooks`' job.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::ext::{self, EventName};
use crate::config::Config;
use crate::spec::{Hook, Problem, SpecSet};

/// How one hook is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    pub delay: Duration,
    /// Attempts after the first, on connection errors, timeouts and 5xx answers.
    pub retries: u32,
    /// For one attempt.
    pub timeout: Duration,
}

/// Retries beyond this are refused: a mock that keeps calling a dead URL only adds noise.
pub const MAX_RETRIES: u32 = 10;

/// A 3.1 webhook, compiled.
#[derive(Debug)]
pub struct Webhook {
    pub spec: usize,
    /// Index in that spec's `webhooks`.
    pub hook: usize,
    pub name: String,
    /// Where it goes; None: nowhere until fired by hand with a URL.
    pub target: Option<String>,
    pub on: Option<Trigger>,
    pub sending: Sending,
}

/// The store event a webhook is sent on.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub resource: String,
    pub event: EventName,
    /// For a transition: only one that reaches this state.
    pub to: Option<Value>,
}

/// Every operation's callbacks' sending (in the order of `Operation::callbacks`) and the
/// webhooks, with the problems found: an unknown `--webhook` name or a target that is no URL.
pub fn compile(set: &SpecSet, config: &Config, problems: &mut Vec<Problem>) -> (Vec<Vec<Sending>>, Vec<Webhook>) {
    let callbacks = set
        .operations
        .iter()
        .map(|op| op.callbacks.iter().map(|h| sending(&set.specs[op.spec].file, h, config, problems).0).collect())
        .collect();
    let mut webhooks = Vec::new();
    for (s, spec) in set.specs.iter().enumerate() {
        for (i, hook) in spec.webhooks.iter().enumerate() {
            let (sending, ext) = sending(&spec.file, hook, config, problems);
            let flag = config.webhooks.iter().find(|(name, _)| *name == hook.name).map(|(_, url)| url.clone());
            let target = flag.or(ext.url);
            if let Some(url) = target.as_deref().filter(|u| !crate::client::is_url(u)) {
                let message = format!("webhook {:?}: target {url:?} is not an http:// or https:// URL", hook.name);
                problems.push(Problem::error(&spec.file, format!("{}/x-specstub/url", hook.pointer), message));
            }
            let on = ext.on.map(|o| Trigger { resource: o.resource.trim_matches('/').to_string(), event: o.event, to: o.to });
            if on.is_some() && target.is_none() {
                problems.push(Problem::warning(
                    &spec.file,
                    hook.pointer.clone(),
                    format!("webhook {:?} has an event but no target: it is sent once --webhook {}=URL names one", hook.name, hook.name),
                ));
            }
            webhooks.push(Webhook { spec: s, hook: i, name: hook.name.clone(), target, on, sending });
        }
    }
    let file = set.specs.first().map(|s| s.file.clone()).unwrap_or_default();
    for (name, url) in &config.webhooks {
        if !webhooks.iter().any(|w| w.name == *name) {
            let known: Vec<&str> = webhooks.iter().map(|w| w.name.as_str()).collect();
            let known = if known.is_empty() { "the documents declare none".to_string() } else { format!("declared: {}", known.join(", ")) };
            problems.push(Problem::error(&file, "/webhooks", format!("--webhook {name}={url}: no webhook {name:?} ({known})")));
        } else if !crate::client::is_url(url) {
            problems.push(Problem::error(
                &file,
                "/webhooks",
                format!("--webhook {name}={url}: the target is not an http:// or https:// URL"),
            ));
        }
    }
    (callbacks, webhooks)
}

fn sending(file: &Path, hook: &Hook, config: &Config, problems: &mut Vec<Problem>) -> (Sending, ext::HookExt) {
    let ext = ext::hook(file, &hook.pointer, &hook.extension, problems);
    let mut duration = |key: &str, raw: Option<&String>, default: Duration| match raw {
        None => default,
        Some(text) => crate::traffic::parse_duration(text, crate::traffic::Unit::Millis).unwrap_or_else(|e| {
            problems.push(Problem::error(file, format!("{}/x-specstub/{key}", hook.pointer), e));
            default
        }),
    };
    let delay = duration("delay", ext.delay.as_ref(), config.callback_delay);
    let timeout = duration("timeout", ext.timeout.as_ref(), config.callback_timeout);
    let retries = match ext.retries {
        Some(n) if n > MAX_RETRIES => {
            problems.push(Problem::error(file, format!("{}/x-specstub/retries", hook.pointer), format!("at most {MAX_RETRIES} retries")));
            MAX_RETRIES
        }
        Some(n) => n,
        None => config.callback_retries,
    };
    if hook.url.is_some() && ext.on.is_some() {
        problems.push(Problem::error(
            file,
            format!("{}/x-specstub/on", hook.pointer),
            "`on` is for webhooks: a callback is sent after its operation answers",
        ));
    }
    (Sending { delay, retries, timeout }, ext)
}
