//! Pricing what a session holds: each resource's billing lines (read by its
//! listing) at the table's price for its type, size and region, accrued
//! from when it started (never before the session did: the account or the
//! tags were clean then) to now, and projected to the lease's end.

use sandbox_reset::engine::Outcome;
use sandbox_reset::registry::Resource;
use sandbox_reset::usage::Unit;

use crate::aws::ledger::spend::{Cost, Spend, Unpriced};
use crate::domain::prices::{HOURS_PER_MONTH, PriceTable};

/// The time a session is priced over (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The session's start: nothing it holds accrued before.
    pub started: i64,
    /// Now.
    pub now: i64,
    /// When its lease ends.
    pub lease_end: i64,
}

fn hours(from: i64, to: i64) -> f64 {
    // Whole seconds: an hour's price × 3,600 s differs from the bill only
    // by AWS's per-second (or per-hour) rounding.
    (to - from).max(0) as f64 / 3_600.0
}

/// What `resources` cost so far and at lease end; `unknown` are ARNs of no
/// registered type (unpriced, as is a priced type's resource the table has
/// no price for). Types the table never names are outside the estimate.
/// `top` names the costliest resources, at most `top` of them (`None`: all).
pub fn estimate<'a>(
    resources: impl IntoIterator<Item = &'a Resource>,
    unknown: &[Outcome],
    prices: &PriceTable,
    at: Window,
    top: Option<usize>,
) -> Spend {
    let mut spend = Spend::default();
    let mut costs = Vec::new();
    for r in resources.into_iter().filter(|r| prices.prices(r.kind)) {
        let priced = r.usage.as_ref().and_then(|usage| {
            let since = usage.since.unwrap_or(at.started).max(at.started);
            let hourly_end = usage.stopped.map_or(at.now, |s| s.min(at.now));
            let (mut so_far, mut by_end) = (0.0, 0.0);
            for line in &usage.lines {
                let price = prices.price(&r.region, r.kind, &line.size)? * line.quantity;
                let (now, end) = match line.unit {
                    Unit::Hour if usage.stopped.is_some() => (hours(since, hourly_end), hours(since, hourly_end)),
                    Unit::Hour => (hours(since, at.now), hours(since, at.lease_end.max(at.now))),
                    Unit::GbMonth => {
                        let month = |h: f64| h / HOURS_PER_MONTH;
                        (month(hours(since, at.now)), month(hours(since, at.lease_end.max(at.now))))
                    }
                };
                so_far += price * now;
                by_end += price * end;
            }
            Some((so_far, by_end))
        });
        match priced {
            // Nothing billed by the hour (an on-demand DynamoDB table bills
            // by request): priced, at nothing worth a place in `top`.
            Some((_, by_end)) if by_end <= 0.0 => {}
            Some((so_far, by_end)) => {
                spend.estimated_usd += so_far;
                spend.projected_usd += by_end;
                costs.push(Cost { arn: r.arn.clone(), kind: r.kind.to_owned(), usd: round(so_far) });
            }
            None => spend.unpriced.push(Unpriced { arn: r.arn.clone(), kind: r.kind.to_owned() }),
        }
    }
    spend.unpriced.extend(unknown.iter().map(|o| Unpriced { arn: o.arn.clone(), kind: o.kind.clone() }));
    costs.sort_by(|a, b| b.usd.total_cmp(&a.usd).then_with(|| a.arn.cmp(&b.arn)));
    if let Some(top) = top {
        costs.truncate(top);
    }
    spend.top = costs;
    spend.estimated_usd = round(spend.estimated_usd);
    spend.projected_usd = round(spend.projected_usd);
    spend
}

/// To a hundredth of a cent: finer than any price, coarser than float noise.
fn round(usd: f64) -> f64 {
    (usd * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use sandbox_reset::registry::Where;
    use sandbox_reset::usage::Usage;

    use super::*;

    const TABLE: &str = crate::domain::prices::TEST_TABLE;
    const HOUR: i64 = 3_600;
    const T0: i64 = 1_800_000_000;

    fn table() -> PriceTable {
        PriceTable::parse(TABLE, |_| true).unwrap()
    }

    fn resource(kind: &'static str, id: &str, usage: Option<Usage>) -> Resource {
        let at = Where {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws",
            whole_account: false,
            metering: true,
        };
        let mut r = Resource::new(kind, &at, format!("arn:aws:ec2:us-east-1:123456789012:{id}"), id);
        r.usage = usage;
        r
    }

    fn started(mut usage: Usage, at: i64) -> Usage {
        usage.since = Some(at);
        usage
    }

    #[test]
    fn running_resources_accrue_by_the_hour_and_project_to_the_lease_end() {
        let window = Window { started: T0, now: T0 + 3 * HOUR, lease_end: T0 + 8 * HOUR };
        let found = [
            resource("ec2:instance", "instance/i-1", Some(started(Usage::hourly("t3.micro", None), T0))),
            resource("ec2:instance", "instance/i-2", Some(started(Usage::hourly("m5.large", None), T0 + HOUR))),
            resource("ec2:natgateway", "natgateway/nat-1", Some(started(Usage::hourly("*", None), T0))),
            // Half a month of 100 GB gp3: $4.
            resource("ec2:volume", "volume/v-1", Some(started(Usage::storage("gp3", 100.0, None), T0))),
            resource("ec2:vpc", "vpc/vpc-1", None),
        ];
        let spend = estimate(&found, &[], &table(), window, Some(5));
        let storage = 100.0 * 0.08 * 3.0 / 730.0;
        let expected = 0.0104 * 3.0 + 0.096 * 2.0 + 0.045 * 3.0 + storage;
        assert!((spend.estimated_usd - expected).abs() < 1e-4, "{spend:?}");
        let projected = 0.0104 * 8.0 + 0.096 * 7.0 + 0.045 * 8.0 + 100.0 * 0.08 * 8.0 / 730.0;
        assert!((spend.projected_usd - projected).abs() < 1e-4, "{spend:?}");
        assert_eq!(spend.top[0].arn, found[1].arn, "the m5 costs most");
        assert!(spend.unpriced.is_empty(), "a VPC is free, not unpriced: {spend:?}");
    }

    #[test]
    fn a_stopped_instance_accrues_until_its_stop_and_nothing_before_the_session() {
        let window = Window { started: T0, now: T0 + 5 * HOUR, lease_end: T0 + 10 * HOUR };
        let stopped = started(Usage::hourly("m5.large", None), T0 - 10 * HOUR).stopped(T0 + 2 * HOUR);
        let spend =
            estimate(&[resource("ec2:instance", "instance/i-1", Some(stopped))], &[], &table(), window, Some(5));
        assert!((spend.estimated_usd - 0.192).abs() < 1e-9, "two hours from the session's start: {spend:?}");
        assert_eq!(spend.projected_usd, spend.estimated_usd, "stopped: nothing more by lease end");
    }

    #[test]
    fn what_cannot_be_priced_is_listed_never_zero() {
        let window = Window { started: T0, now: T0 + HOUR, lease_end: T0 + HOUR };
        let found = [
            resource("ec2:instance", "instance/i-big", Some(Usage::hourly("x9.huge", None))),
            resource("ec2:instance", "instance/i-unread", None),
        ];
        let unknown = [Outcome {
            arn: "arn:aws:acm:us-east-1:1:certificate/c".into(),
            kind: "acm:certificate".into(),
            error: None,
            reason: None,
            scheduled_for: None,
        }];
        let spend = estimate(&found, &unknown, &table(), window, Some(5));
        let arns: Vec<&str> = spend.unpriced.iter().map(|u| u.arn.as_str()).collect();
        assert_eq!(arns, [found[0].arn.as_str(), found[1].arn.as_str(), unknown[0].arn.as_str()]);
        assert_eq!(spend.estimated_usd, 0.0);
    }
}
