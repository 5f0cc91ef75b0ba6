//! What keeps an internet-facing intake safe: CORS, client IPs, rate limits, body limits.

pub mod body;
pub mod clientip;
pub mod cors;
pub mod ratelimit;
