//! SageMaker notebook instances. DeleteNotebookInstance refuses a running
//! notebook (ValidationException): it is stopped first, and the delete is
//! answered as "not yet" while it stops, which the engine retries within
//! the resource's deadline.

use aws_sdk_sagemaker::types::NotebookInstanceStatus;
use futures_util::FutureExt;

use super::done;
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};
use crate::usage::Usage;

type Client = aws_sdk_sagemaker::Client;

async fn notebooks(c: &Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_notebook_instances().into_paginator().items().send();
    let notebooks = sdk_call("sagemaker", "ListNotebookInstances", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(notebooks
        .iter()
        .filter(|n| n.notebook_instance_status() != Some(&NotebookInstanceStatus::Deleting))
        .filter_map(|n| {
            let (name, arn) = (n.notebook_instance_name()?, n.notebook_instance_arn()?);
            // Billed by instance type while in service; a stopped notebook
            // bills only its volume, which the meter does not see here.
            let size = n.instance_type().map_or("unknown", |t| t.as_str());
            let mut usage = Usage::hourly(size, n.creation_time());
            if n.notebook_instance_status() == Some(&NotebookInstanceStatus::Stopped) {
                usage = usage.stopped(n.last_modified_time().map_or(0, |t| t.secs()));
            }
            Some(Resource::new(NOTEBOOK_INSTANCE.name, at, arn.to_owned(), name).named(name).billed(usage))
        })
        .collect())
}

async fn delete_notebook(c: &Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let out = sdk_call(
        "sagemaker",
        "DescribeNotebookInstance",
        c.describe_notebook_instance().notebook_instance_name(&r.id).send(),
    )
    .await?;
    match out.notebook_instance_status() {
        Some(NotebookInstanceStatus::Stopped | NotebookInstanceStatus::Failed) | None => {
            let call = c.delete_notebook_instance().notebook_instance_name(&r.id).send();
            done(sdk_call("sagemaker", "DeleteNotebookInstance", call).await)
        }
        Some(status) => {
            if *status == NotebookInstanceStatus::InService {
                let call = c.stop_notebook_instance().notebook_instance_name(&r.id).send();
                sdk_call("sagemaker", "StopNotebookInstance", call).await?;
            }
            let summary = format!("stopping first (was {})", status.as_str());
            Err(UpstreamError::new("sagemaker", "DeleteNotebookInstance", UpstreamErrorKind::Conflict, summary))
        }
    }
}

/// SageMaker answers a deleted notebook with ValidationException
/// "RecordNotFound", not a not-found code.
async fn notebook_gone(c: &Client, r: &Resource) -> Result<bool, UpstreamError> {
    let call = c.describe_notebook_instance().notebook_instance_name(&r.id).send();
    match sdk_call("sagemaker", "DescribeNotebookInstance", call).await {
        Err(e) if e.summary.contains("RecordNotFound") => Ok(true),
        other => other.map(|_| false),
    }
}

pub(crate) const NOTEBOOK_INSTANCE: Registration = Registration {
    name: "sagemaker:notebook-instance",
    scope: Scope::Regional,
    found_by: "ListNotebookInstances",
    reads: &["sagemaker:ListNotebookInstances"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("sagemaker", "notebook-instance/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance", "sagemaker:DeleteNotebookInstance"],
        &["arn:{p}:sagemaker:*:{a}:notebook-instance/{name}"],
    ),
    list: |c, at| notebooks(&c.sagemaker, at).boxed(),
    delete: |c, r| delete_notebook(&c.sagemaker, r).boxed(),
    gone: Some(|c, r| notebook_gone(&c.sagemaker, r).boxed()),
};
