//! webhook-bridge: one `WebhookBridge` object becomes an API Gateway HTTP API route feeding an
//! EventBridge bus directly, with rules, targets and a least-privilege role.
//!
//! Pure core, thin edges: [`desired`] (pure, from spec) → [`observed`] (AWS reads, in [`aws`]) →
//! [`plan`] (pure diff) → apply (AWS writes, in [`aws`]) → [`status`]. [`engine`] runs the loop
//! for the CLI and the operator alike.

pub mod admission;
pub mod api;
pub mod aws;
pub mod cli;
pub mod desired;
pub mod desired_webhook;
pub mod engine;
pub mod error;
pub mod gateway;
pub mod observed;
pub mod operator;
pub mod owner;
pub mod plan;
pub mod replay;
pub mod route_paths;
pub mod simulate;
pub mod status;
pub mod target_policy;
pub mod tenancy;
pub mod validate;
pub mod webhook;
pub mod withdraw;
