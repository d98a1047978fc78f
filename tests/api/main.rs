//! The one integration test binary: the real broker over real HTTP against
//! moto and a fake federation endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Test helpers are shared between the modules of this one binary.
#![allow(unreachable_pub, missing_docs)]

mod admin;
mod auditors;
mod auth;
mod browser;
mod cleanup;
mod cleanup_crash;
mod cli;
mod cloudformation;
mod connections;
mod console;
mod container;
mod docs;
mod enforcement;
mod extend;
#[path = "../../examples/support/fake_aws.rs"]
mod fake_aws;
#[path = "../../examples/support/fake_federation.rs"]
mod fake_federation;
mod formats;
mod helpers;
mod jwks;
mod operations;
mod parser_errors;
mod pool;
mod pool_bench;
mod pool_cli;
mod pool_crash;
mod pool_lab;
mod pool_reset;
mod pool_table;
mod pool_template;
mod pool_upstream;
mod prices_cli;
mod process;
mod production;
mod profiles;
mod registry;
mod retries;
mod revocation;
mod sessions;
mod spend;
mod spend_bench;
mod spend_budget;
mod upstream_errors;
mod validation;
