//! Offline simulation of a bridge, with no AWS: what API Gateway's `EventBridge-PutEvents`
//! integration would put on the bus for a request ([`request`]), which rules match the event
//! ([`pattern`]), and what each matched target would receive ([`target_input`]); put together
//! in [`report`], and behind `webhook-bridge simulate`, `serve` and `test` in [`commands`].

pub mod commands;
pub mod pattern;
pub mod report;
pub mod request;
pub mod target_input;
pub mod webhook;
