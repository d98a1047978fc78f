//! S3 buckets: a bucket is deleted only when empty, counting every object
//! version, delete marker and unfinished multipart upload. Listing
//! continues while the previous page's DeleteObjects (up to 1,000 keys
//! each) is in flight, so a bucket of N versions costs about N/1000 + 3
//! round trips. ListBuckets is global and names each bucket's region; the
//! bucket is emptied and deleted through that region's endpoint.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, TryStreamExt};

use super::done;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};

const SERVICE: &str = "s3";

fn error(operation: &'static str, message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(SERVICE, operation, UpstreamErrorKind::Other, message)
}

async fn list_buckets(client: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_buckets().into_paginator().items().send();
    let buckets = sdk_call(SERVICE, "ListBuckets", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(buckets
        .iter()
        .filter_map(|b| {
            let name = b.name()?;
            let mut found =
                Resource::new(BUCKET.name, at, format!("arn:{}:s3:::{name}", at.partition), name).named(name);
            found.region = b.bucket_region().unwrap_or(&at.region).to_owned();
            Some(found)
        })
        .collect())
}

pub(crate) const BUCKET: Registration = Registration {
    name: "s3:bucket",
    scope: Scope::Global,
    found_by: "ListBuckets",
    reads: &["s3:ListAllMyBuckets"],
    attribution: Attribution::Name,
    arn: ArnMatch::id(SERVICE, ""),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &[
            "s3:ListBucketVersions",
            "s3:ListBucketMultipartUploads",
            "s3:DeleteBucket",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:AbortMultipartUpload",
        ],
        &["arn:{p}:s3:::{name}", "arn:{p}:s3:::{name}/*"],
    ),
    list: |c, at| list_buckets(&c.s3, at).boxed(),
    delete: |c, r| empty_and_delete(&c.s3, &r.id).boxed(),
    gone: None,
};

async fn delete_batch(client: &Client, bucket: &str, objects: Vec<ObjectIdentifier>) -> Result<(), UpstreamError> {
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| error("DeleteObjects", e.to_string()))?;
    let out = sdk_call(SERVICE, "DeleteObjects", client.delete_objects().bucket(bucket).delete(delete).send()).await?;
    match out.errors().first() {
        Some(e) => Err(error(
            "DeleteObjects",
            format!(
                "{} of a batch failed, first: {} {}",
                out.errors().len(),
                e.key().unwrap_or("?"),
                e.code().unwrap_or("?")
            ),
        )),
        None => Ok(()),
    }
}

/// Empties the bucket (every version, delete marker, multipart upload),
/// then deletes it. Versions and uploads are listed at the same time.
async fn empty_and_delete(client: &Client, bucket: &str) -> Result<Deleted, UpstreamError> {
    tokio::try_join!(delete_versions(client, bucket), abort_uploads(client, bucket))?;
    done(sdk_call(SERVICE, "DeleteBucket", client.delete_bucket().bucket(bucket).send()).await)
}

async fn delete_versions(client: &Client, bucket: &str) -> Result<(), UpstreamError> {
    let deletes = FuturesUnordered::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let request = client
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take());
        let page = sdk_call(SERVICE, "ListObjectVersions", request.send()).await?;
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        let objects = versions
            .chain(markers)
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key.map(str::to_owned))
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        for batch in objects.chunks(1_000) {
            deletes.push(delete_batch(client, bucket, batch.to_vec()));
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if page.is_truncated() != Some(true) || key_marker.is_none() {
            break;
        }
    }
    deletes.try_collect::<Vec<()>>().await.map(drop)
}

async fn abort_uploads(client: &Client, bucket: &str) -> Result<(), UpstreamError> {
    let pages = client.list_multipart_uploads().bucket(bucket);
    let uploads = sdk_call(SERVICE, "ListMultipartUploads", pages.send()).await?;
    let aborts = FuturesUnordered::new();
    for upload in uploads.uploads() {
        let request = client
            .abort_multipart_upload()
            .bucket(bucket)
            .set_key(upload.key().map(str::to_owned))
            .set_upload_id(upload.upload_id().map(str::to_owned));
        aborts.push(async move { sdk_call(SERVICE, "AbortMultipartUpload", request.send()).await.map(drop) });
    }
    aborts.try_collect::<Vec<()>>().await.map(drop)
}
