//! EC2 compute: instances, volumes, snapshots, AMIs, key pairs and launch
//! templates. An instance is terminated and waited for (one to several
//! minutes in AWS): until then its subnet, security groups, volumes and
//! interfaces are held. An AMI is deregistered before its snapshots can
//! go, and takes them with it. AMI and snapshot ARNs have no account.

use std::collections::{BTreeSet, HashSet};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{InstanceStateName, SnapshotState, VolumeState};
use futures_util::FutureExt;

use super::ec2_vpc::{arn, name, tags};
use super::{deleting, done, unless_gone};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};
use crate::usage::Usage;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

const EC2: &str = "ec2";

/// `arn:…:ec2:<region>::<kind>/<id>`: AMIs and snapshots.
fn unowned_arn(at: &Where, kind: &str, id: &str) -> String {
    format!("arn:{}:ec2:{}::{kind}/{id}", at.partition, at.region)
}

async fn list_instances(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_instances().into_paginator().items().send();
    let reservations = sdk_call(EC2, "DescribeInstances", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(reservations
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
        .filter_map(|i| {
            let id = i.instance_id()?;
            let subnet = i.subnet_id().map(|s| arn(at, "subnet", s));
            let groups = i.security_groups().iter().filter_map(|g| g.group_id()).map(|g| arn(at, "security-group", g));
            let volumes = i.block_device_mappings().iter().filter_map(|b| b.ebs()?.volume_id());
            let interfaces = i.network_interfaces().iter().filter_map(|n| n.network_interface_id());
            let held = subnet
                .into_iter()
                .chain(groups)
                .chain(volumes.map(|v| arn(at, "volume", v)))
                .chain(interfaces.map(|n| arn(at, "network-interface", n)));
            Some(
                Resource::new(INSTANCE.name, at, arn(at, "instance", id), id)
                    .named(name(i.tags()))
                    .tagged(tags(i.tags()))
                    .before(held)
                    .billed(instance_usage(i)),
            )
        })
        .collect())
}

/// An instance bills its type by the hour while it runs; stopped, only its
/// volumes (their own lines). AWS moves `LaunchTime` to the last start and
/// writes the stop into `StateTransitionReason` as
/// `User initiated (2026-12-07 10:00:00 GMT)`; a stop whose time is not
/// there counts as at launch (nothing accrues).
fn instance_usage(i: &aws_sdk_ec2::types::Instance) -> Usage {
    let size = i.instance_type().map(|t| t.as_str()).unwrap_or("unknown");
    let usage = Usage::hourly(size, i.launch_time());
    let running =
        matches!(i.state().and_then(|s| s.name()), Some(InstanceStateName::Running | InstanceStateName::Pending));
    if running {
        return usage;
    }
    let stopped = i.state_transition_reason().and_then(stopped_at).or(usage.since).unwrap_or_default();
    usage.stopped(stopped)
}

/// The time in `User initiated (YYYY-MM-DD HH:MM:SS GMT)`.
fn stopped_at(reason: &str) -> Option<i64> {
    let inner = reason.split_once('(')?.1.strip_suffix(" GMT)")?;
    let rfc3339 = format!("{}Z", inner.replacen(' ', "T", 1));
    DateTime::from_str(&rfc3339, Format::DateTime).ok().map(|t| t.secs())
}

/// Termination protection (`disableApiTermination`) is lifted when
/// TerminateInstances refuses with OperationNotPermitted.
async fn terminate(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    match sdk_call(EC2, "TerminateInstances", c.terminate_instances().instance_ids(&r.id).send()).await {
        Err(e) if e.code.as_deref() == Some("OperationNotPermitted") => {
            let call = c
                .modify_instance_attribute()
                .instance_id(&r.id)
                .disable_api_termination(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build())
                .send();
            sdk_call(EC2, "ModifyInstanceAttribute", call).await?;
            done(sdk_call(EC2, "TerminateInstances", c.terminate_instances().instance_ids(&r.id).send()).await)
        }
        result => done(result),
    }
}

async fn terminated(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call(EC2, "DescribeInstances", c.describe_instances().instance_ids(&r.id).send()).await?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .all(|i| i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated)))
}

pub(crate) const INSTANCE: Registration = Registration {
    name: "ec2:instance",
    scope: Scope::Regional,
    found_by: "DescribeInstances",
    reads: &["ec2:DescribeInstances"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "instance/"),
    depends_on: &["autoscaling:autoScalingGroup"],
    protected: "",
    grants: Grants::on(&["ec2:ModifyInstanceAttribute", "ec2:TerminateInstances"], &["arn:{p}:ec2:*:{a}:instance/*"]),
    list: |c, at| list_instances(&c.ec2, at).boxed(),
    delete: |c, r| terminate(&c.ec2, r).boxed(),
    gone: Some(|c, r| terminated(&c.ec2, r).boxed()),
};

async fn list_volumes(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_volumes().into_paginator().items().send();
    let volumes = sdk_call(EC2, "DescribeVolumes", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(volumes
        .iter()
        .filter(|v| !matches!(v.state(), Some(VolumeState::Deleted | VolumeState::Deleting)))
        .filter_map(|v| {
            let id = v.volume_id()?;
            let size = v.volume_type().map_or("standard", |t| t.as_str());
            let usage = Usage::storage(size, f64::from(v.size().unwrap_or_default()), v.create_time());
            let volume = Resource::new(VOLUME.name, at, arn(at, "volume", id), id);
            Some(volume.named(name(v.tags())).tagged(tags(v.tags())).billed(usage))
        })
        .collect())
}

pub(crate) const VOLUME: Registration = Registration {
    name: "ec2:volume",
    scope: Scope::Regional,
    found_by: "DescribeVolumes",
    reads: &["ec2:DescribeVolumes"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "volume/"),
    depends_on: &["ec2:instance"],
    protected: "",
    grants: Grants::on(&["ec2:DeleteVolume"], &["arn:{p}:ec2:*:{a}:volume/*"]),
    list: |c, at| list_volumes(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteVolume", c.ec2.delete_volume().volume_id(&r.id).send())),
    gone: None,
};

/// The AMI a snapshot's description names (`Created by CreateImage(i-…)
/// for ami-…`), if any.
fn ami_of(description: &str) -> Option<&str> {
    description.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').find(|w| w.starts_with("ami-"))
}

/// AMIs among `ids` that exist and belong to another account: a snapshot
/// backing one cannot be deleted (InvalidSnapshot.InUse) and is not ours
/// to clear. (The emulator gives every account the snapshots of its
/// built-in public AMIs.)
async fn foreign_images(c: &Client, ids: Vec<String>) -> Result<HashSet<String>, UpstreamError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let own = sdk_call(EC2, "DescribeImages", c.describe_images().owners("self").send()).await?;
    let own: HashSet<&str> = own.images().iter().filter_map(|i| i.image_id()).collect();
    let others: Vec<String> = ids.into_iter().filter(|id| !own.contains(id.as_str())).collect();
    if others.is_empty() {
        return Ok(HashSet::new());
    }
    let filter = aws_sdk_ec2::types::Filter::builder().name("image-id").set_values(Some(others)).build();
    let out = sdk_call(EC2, "DescribeImages", c.describe_images().filters(filter).send()).await?;
    Ok(out.images().iter().filter_map(|i| i.image_id().map(str::to_owned)).collect())
}

async fn list_snapshots(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_snapshots().owner_ids("self").into_paginator().items().send();
    let snapshots = sdk_call(EC2, "DescribeSnapshots", pages.collect::<Result<Vec<_>, _>>()).await?;
    let named: BTreeSet<String> =
        snapshots.iter().filter_map(|s| ami_of(s.description().unwrap_or_default()).map(str::to_owned)).collect();
    let foreign = foreign_images(c, named.into_iter().collect()).await?;
    Ok(snapshots
        .iter()
        .filter(|s| s.state() != Some(&SnapshotState::Error))
        .filter(|s| ami_of(s.description().unwrap_or_default()).is_none_or(|ami| !foreign.contains(ami)))
        .filter_map(|s| {
            let id = s.snapshot_id()?;
            Some(
                Resource::new(SNAPSHOT.name, at, unowned_arn(at, "snapshot", id), id)
                    .named(name(s.tags()))
                    .tagged(tags(s.tags()))
                    .billed(Usage::storage("*", f64::from(s.volume_size().unwrap_or_default()), s.start_time())),
            )
        })
        .collect())
}

pub(crate) const SNAPSHOT: Registration = Registration {
    name: "ec2:snapshot",
    scope: Scope::Regional,
    found_by: "DescribeSnapshots (owner self)",
    reads: &["ec2:DescribeSnapshots", "ec2:DescribeImages"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "snapshot/"),
    depends_on: &["ec2:image"],
    protected: "",
    grants: Grants::on(&["ec2:DeleteSnapshot"], &["arn:{p}:ec2:*::snapshot/*"]),
    list: |c, at| list_snapshots(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteSnapshot", c.ec2.delete_snapshot().snapshot_id(&r.id).send())),
    gone: None,
};

async fn list_images(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let out = sdk_call(EC2, "DescribeImages", c.describe_images().owners("self").send()).await?;
    Ok(out
        .images()
        .iter()
        .filter_map(|i| {
            let id = i.image_id()?;
            let snapshots = i.block_device_mappings().iter().filter_map(|b| b.ebs()?.snapshot_id());
            Some(
                Resource::new(IMAGE.name, at, unowned_arn(at, "image", id), id)
                    .named(i.name().unwrap_or_default())
                    .tagged(tags(i.tags()))
                    .before(snapshots.map(|s| unowned_arn(at, "snapshot", s))),
            )
        })
        .collect())
}

/// Deregistered, then its snapshots deleted: an AMI's snapshots are not
/// deleted with it, and bill on.
async fn deregister(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    sdk_call(EC2, "DeregisterImage", c.deregister_image().image_id(&r.id).send()).await?;
    for snapshot in r.before.iter().filter_map(|a| a.rsplit_once("snapshot/").map(|(_, id)| id)) {
        match sdk_call(EC2, "DeleteSnapshot", c.delete_snapshot().snapshot_id(snapshot).send()).await {
            Err(e)
                if e.kind == UpstreamErrorKind::NotFound || e.code.as_deref() == Some("InvalidSnapshot.NotFound") => {}
            other => unless_gone(other)?,
        }
    }
    Ok(Deleted::Now)
}

pub(crate) const IMAGE: Registration = Registration {
    name: "ec2:image",
    scope: Scope::Regional,
    found_by: "DescribeImages (owner self)",
    reads: &["ec2:DescribeImages"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "image/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["ec2:DeregisterImage", "ec2:DeleteSnapshot"],
        &["arn:{p}:ec2:*::image/*", "arn:{p}:ec2:*::snapshot/*"],
    ),
    list: |c, at| list_images(&c.ec2, at).boxed(),
    delete: |c, r| deregister(&c.ec2, r).boxed(),
    gone: None,
};

async fn list_key_pairs(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let out = sdk_call(EC2, "DescribeKeyPairs", c.describe_key_pairs().send()).await?;
    Ok(out
        .key_pairs()
        .iter()
        .filter_map(|k| {
            let id = k.key_pair_id()?;
            // Deleted by name: the emulator ignores KeyPairId.
            let name = k.key_name()?;
            Some(Resource::new(KEY_PAIR.name, at, arn(at, "key-pair", id), name).named(name).tagged(tags(k.tags())))
        })
        .collect())
}

pub(crate) const KEY_PAIR: Registration = Registration {
    name: "ec2:key-pair",
    scope: Scope::Regional,
    found_by: "DescribeKeyPairs",
    reads: &["ec2:DescribeKeyPairs"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "key-pair/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ec2:DeleteKeyPair"], &["arn:{p}:ec2:*:{a}:key-pair/*"]),
    list: |c, at| list_key_pairs(&c.ec2, at).boxed(),
    delete: |c, r| deleting(sdk_call(EC2, "DeleteKeyPair", c.ec2.delete_key_pair().key_name(&r.id).send())),
    gone: None,
};

async fn list_launch_templates(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_launch_templates().into_paginator().items().send();
    let templates = sdk_call(EC2, "DescribeLaunchTemplates", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(templates
        .iter()
        .filter_map(|t| {
            let id = t.launch_template_id()?;
            Some(
                Resource::new(LAUNCH_TEMPLATE.name, at, arn(at, "launch-template", id), id)
                    .named(t.launch_template_name().unwrap_or_default())
                    .tagged(tags(t.tags())),
            )
        })
        .collect())
}

pub(crate) const LAUNCH_TEMPLATE: Registration = Registration {
    name: "ec2:launch-template",
    scope: Scope::Regional,
    found_by: "DescribeLaunchTemplates",
    reads: &["ec2:DescribeLaunchTemplates"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id(EC2, "launch-template/"),
    depends_on: &["autoscaling:autoScalingGroup"],
    protected: "",
    grants: Grants::on(&["ec2:DeleteLaunchTemplate"], &["arn:{p}:ec2:*:{a}:launch-template/*"]),
    list: |c, at| list_launch_templates(&c.ec2, at).boxed(),
    delete: |c, r| {
        let call = c.ec2.delete_launch_template().launch_template_id(&r.id).send();
        deleting(sdk_call(EC2, "DeleteLaunchTemplate", call))
    },
    gone: None,
};
