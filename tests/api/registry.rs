//! The reset engine's registry, one test per entry: a learner creates the
//! resource (boto3, `tests/support/lab.py`, with what it needs first),
//! session cleanup finds it by its attribution and deletes it after its
//! preparation, and the type's own listing no longer shows it. Each test
//! works in an AWS account of its own on one moto server of this module's
//! (EC2 calls make moto's state dump slow for the console tests' server).

mod account_reset;
mod bench;
mod iam_grants;
pub(crate) mod lab;
mod over_http;
mod round_trip;
mod whole_lab;
