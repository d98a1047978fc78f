//! A session's (or pool account's) spend as the meter last saw it
//! (DESIGN §10), stored whole as JSON text beside the cleanup report.

use serde::{Deserialize, Serialize};

/// One resource's share of the estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// The resource.
    pub arn: String,
    /// Its registry type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Accrued so far, USD.
    pub usd: f64,
}

/// A resource the estimate could not price (never counted as zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unpriced {
    /// The resource.
    pub arn: String,
    /// Its registry type (or `service:resource` of a type none knows).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The spend meter's last estimate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Accrued since each resource started, USD.
    pub estimated_usd: f64,
    /// The estimate at lease end if what runs now keeps running.
    pub projected_usd: f64,
    /// When it was measured (RFC 3339).
    pub as_of: String,
    /// The session's budget, if it has one.
    pub budget_usd: Option<f64>,
    /// What it could not price.
    pub unpriced: Vec<Unpriced>,
    /// The costliest resources, costliest first.
    pub top: Vec<Cost>,
}
