//! What a pool account must hold after a reset, as AWS hands out a new
//! account: a default VPC in every region (CreateDefaultVpc makes it with
//! its default subnets, internet gateway, main route table, network ACL and
//! security group). An account reset keeps it (its registrations protect
//! it); a learner who deleted it gets it back.

use crate::clients::Clients;
use crate::registry::Where;
use crate::types::ec2_vpc;
use crate::upstream::{UpstreamError, sdk_call};

/// Restores what is missing of the baseline in `at`'s region; the ARNs of
/// what it created (none when everything was there).
pub(crate) async fn restore(clients: &Clients, at: &Where) -> Result<Vec<String>, UpstreamError> {
    if !ec2_vpc::default_vpcs(&clients.ec2).await?.is_empty() {
        return Ok(Vec::new());
    }
    let created = sdk_call("ec2", "CreateDefaultVpc", clients.ec2.create_default_vpc().send()).await?;
    Ok(created.vpc().and_then(|v| v.vpc_id()).map(|id| ec2_vpc::arn(at, "vpc", id)).into_iter().collect())
}
