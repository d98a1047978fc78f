//! Route 53 hosted zones (global). DeleteHostedZone refuses a zone with
//! records beyond its apex SOA and NS (HostedZoneNotEmpty): those are
//! deleted first, in one change batch per page.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, RrType};
use futures_util::FutureExt;

use super::last;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};

type Client = aws_sdk_route53::Client;

async fn zones(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_hosted_zones().into_paginator().items().send();
    let zones = sdk_call("route53", "ListHostedZones", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(zones
        .iter()
        .map(|z| {
            let id = last(z.id());
            let arn = format!("arn:{}:route53:::hostedzone/{id}", at.partition);
            Resource::new(HOSTED_ZONE.name, at, arn, id).named(z.name().trim_end_matches('.'))
        })
        .collect())
}

async fn delete_zone(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let zone = c.get_hosted_zone().id(&r.id).send();
    let apex = sdk_call("route53", "GetHostedZone", zone)
        .await?
        .hosted_zone()
        .map(|z| z.name().to_owned())
        .unwrap_or_default();
    let mut sets = Vec::new();
    let mut next: (Option<String>, Option<RrType>, Option<String>) = (None, None, None);
    loop {
        let call = c
            .list_resource_record_sets()
            .hosted_zone_id(&r.id)
            .set_start_record_name(next.0.take())
            .set_start_record_type(next.1.take())
            .set_start_record_identifier(next.2.take());
        let page = sdk_call("route53", "ListResourceRecordSets", call.send()).await?;
        sets.extend(page.resource_record_sets().iter().cloned());
        if !page.is_truncated() {
            break;
        }
        next = (
            page.next_record_name().map(str::to_owned),
            page.next_record_type().cloned(),
            page.next_record_identifier().map(str::to_owned),
        );
    }
    let changes: Vec<Change> = sets
        .iter()
        .filter(|s| !(s.name() == apex && matches!(s.r#type(), RrType::Soa | RrType::Ns)))
        .filter_map(|s| Change::builder().action(ChangeAction::Delete).resource_record_set(s.clone()).build().ok())
        .collect();
    for batch in changes.chunks(500) {
        let batch = ChangeBatch::builder().set_changes(Some(batch.to_vec())).build().map_err(|e| {
            UpstreamError::new("route53", "ChangeResourceRecordSets", UpstreamErrorKind::Other, e.to_string())
        })?;
        let call = c.change_resource_record_sets().hosted_zone_id(&r.id).change_batch(batch).send();
        sdk_call("route53", "ChangeResourceRecordSets", call).await?;
    }
    sdk_call("route53", "DeleteHostedZone", c.delete_hosted_zone().id(&r.id).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const HOSTED_ZONE: Registration = Registration {
    name: "route53:hostedzone",
    scope: Scope::Global,
    found_by: "ListHostedZones",
    reads: &["route53:ListHostedZones"],
    attribution: Attribution::None,
    arn: ArnMatch::id("route53", "hostedzone/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &[
            "route53:GetHostedZone",
            "route53:ListResourceRecordSets",
            "route53:ChangeResourceRecordSets",
            "route53:DeleteHostedZone",
        ],
        &["arn:{p}:route53:::hostedzone/*"],
    ),
    list: |c, at| zones(&c.route53, at).boxed(),
    delete: |c, r| delete_zone(&c.route53, r).boxed(),
    gone: None,
};
