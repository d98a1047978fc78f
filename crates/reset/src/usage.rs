//! What a resource bills for while it exists, as its own listing reads it:
//! the size AWS prices it by (instance type, DB class, volume type), how
//! much of it (GB, nodes) and since when. The broker's spend meter prices
//! these lines with its price table; the engine only carries them. A type
//! whose listing fills no usage is outside the estimate (free, like a VPC,
//! or billed by use, like a bucket's requests).

use aws_smithy_types::DateTime;

/// How a line's price is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Per hour of existence (an instance, a NAT gateway, a KMS key at
    /// its monthly price / 730, as AWS counts a month).
    Hour,
    /// Per GB-month of storage (a volume, a snapshot, RDS storage).
    GbMonth,
}

/// One thing a resource is billed for.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The price table's size key: `t3.micro`, `gp3`, `storage:gp2`, `*`.
    pub size: String,
    /// How many: nodes of a cluster, GB of storage; 1 otherwise.
    pub quantity: f64,
    /// Per hour or per GB-month.
    pub unit: Unit,
}

/// A resource's billing, as its listing reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Unix seconds it started billing (launch or creation time), when the
    /// API says; the meter otherwise counts from the session's start.
    pub since: Option<i64>,
    /// Unix seconds it stopped billing its hourly lines (a stopped
    /// instance keeps billing its storage, which is its volumes' own).
    pub stopped: Option<i64>,
    /// What it is billed for.
    pub lines: Vec<Line>,
}

impl Usage {
    /// Billed by the hour at `size` (`*` when the type has one price).
    pub fn hourly(size: impl Into<String>, since: Option<&DateTime>) -> Self {
        Self::default().line(size, 1.0, Unit::Hour).since(since)
    }

    /// Billed per GB-month of `size`.
    pub fn storage(size: impl Into<String>, gb: f64, since: Option<&DateTime>) -> Self {
        Self::default().line(size, gb, Unit::GbMonth).since(since)
    }

    /// With one more line.
    pub fn line(mut self, size: impl Into<String>, quantity: f64, unit: Unit) -> Self {
        self.lines.push(Line { size: size.into(), quantity, unit });
        self
    }

    /// Started billing at `at`.
    pub fn since(mut self, at: Option<&DateTime>) -> Self {
        self.since = at.map(DateTime::secs);
        self
    }

    /// Stopped billing its hourly lines at `at`.
    pub fn stopped(mut self, at: i64) -> Self {
        self.stopped = Some(at);
        self
    }
}
