//! EC2: instances are terminated and waited for; volumes and security
//! groups go after them (a volume is attached, a group referenced, until
//! its instance is gone); key pairs any time. Security groups and key pairs
//! are found by name prefix too; instances and volumes by tag only.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, InstanceStateName};

use super::{Found, Kind};
use crate::aws::{UpstreamError, UpstreamErrorKind, sdk_call};

const SERVICE: &str = "ec2";
/// Polls of DescribeInstances while waiting for termination: 0.25 s
/// growing to 5 s, about 10 minutes in all (EC2 takes one to several).
const WAIT_POLLS: u32 = 130;

fn name_filter(name: &str, prefix: &str) -> Filter {
    Filter::builder().name(name).values(format!("{prefix}*")).build()
}

pub(super) async fn named(
    client: &Client,
    region: &str,
    account: &str,
    prefix: &str,
) -> Result<Vec<Found>, UpstreamError> {
    let groups = client.describe_security_groups().filters(name_filter("group-name", prefix)).send();
    let keys = client.describe_key_pairs().filters(name_filter("key-name", prefix)).send();
    let (groups, keys) = tokio::try_join!(
        sdk_call(SERVICE, "DescribeSecurityGroups", groups),
        sdk_call(SERVICE, "DescribeKeyPairs", keys)
    )?;
    let mut found = Vec::new();
    for g in groups.security_groups() {
        if let Some(id) = g.group_id().filter(|_| g.group_name().is_some_and(|n| n.starts_with(prefix))) {
            let arn = format!("arn:{}:ec2:{region}:{account}:security-group/{id}", super::partition(region));
            found.push(Found {
                kind: Kind::SecurityGroup,
                arn,
                region: region.into(),
                id: id.into(),
                detail: String::new(),
            });
        }
    }
    for k in keys.key_pairs() {
        if let Some(id) = k.key_pair_id().filter(|_| k.key_name().is_some_and(|n| n.starts_with(prefix))) {
            let arn = format!("arn:{}:ec2:{region}:{account}:key-pair/{id}", super::partition(region));
            found.push(Found { kind: Kind::KeyPair, arn, region: region.into(), id: id.into(), detail: String::new() });
        }
    }
    Ok(found)
}

pub(super) async fn delete(client: &Client, found: &Found) -> Result<(), UpstreamError> {
    let id = found.id.clone();
    match found.kind {
        Kind::Instance => sdk_call(SERVICE, "TerminateInstances", client.terminate_instances().instance_ids(id).send())
            .await
            .map(drop),
        Kind::Volume => sdk_call(SERVICE, "DeleteVolume", client.delete_volume().volume_id(id).send()).await.map(drop),
        Kind::SecurityGroup => {
            sdk_call(SERVICE, "DeleteSecurityGroup", client.delete_security_group().group_id(id).send()).await.map(drop)
        }
        Kind::KeyPair => {
            sdk_call(SERVICE, "DeleteKeyPair", client.delete_key_pair().key_pair_id(id).send()).await.map(drop)
        }
        _ => Ok(()),
    }
}

pub(super) async fn wait_terminated(client: &Client, ids: &[String]) -> Result<(), UpstreamError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut wait = Duration::from_millis(250);
    for _ in 0..WAIT_POLLS {
        let request = client.describe_instances().set_instance_ids(Some(ids.to_vec()));
        let out = sdk_call(SERVICE, "DescribeInstances", request.send()).await?;
        let running = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
            .count();
        if running == 0 {
            return Ok(());
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
    Err(UpstreamError::new(SERVICE, "DescribeInstances", UpstreamErrorKind::Timeout, "instances still not terminated"))
}
