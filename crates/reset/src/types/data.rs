//! Data: DynamoDB tables, Kinesis and Firehose streams, Glue databases,
//! Athena work groups. Deletion protection is switched off first where AWS
//! has it (DynamoDB); the streaming types finish deleting asynchronously.

use aws_sdk_dynamodb::types::BillingMode;
use aws_sdk_kinesis::types::StreamStatus;
use futures_util::FutureExt;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{deleting, done};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, absent_as_none, sdk_call};
use crate::usage::{Unit, Usage};

async fn list_tables(client: &aws_sdk_dynamodb::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_tables().into_paginator().items().send();
    let names = sdk_call("dynamodb", "ListTables", pages.collect::<Result<Vec<_>, _>>()).await?;
    if !at.metering {
        return Ok(names.iter().map(|name| table(at, name)).collect());
    }
    // The meter reads each table's capacity: a DescribeTable each.
    let each = names.into_iter().map(|name| async move {
        Ok::<_, UpstreamError>(table_usage(client, &name).await?.map(|usage| table(at, &name).billed(usage)))
    });
    let described: Vec<Option<Resource>> = stream::iter(each).buffered(8).try_collect().await?;
    Ok(described.into_iter().flatten().collect())
}

/// A table's ARN follows from its name: cleanup needs no DescribeTable.
fn table(at: &Where, name: &str) -> Resource {
    Resource::new(DYNAMODB_TABLE.name, at, at.regional("dynamodb", &format!("table/{name}")), name).named(name)
}

/// What a table bills by the hour: its provisioned read and write
/// capacity units and its global secondary indexes' (an on-demand table
/// bills by request, outside the estimate: no lines). `None`: the table
/// was deleted since it was listed.
async fn table_usage(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<Option<Usage>, UpstreamError> {
    let call = client.describe_table().table_name(name).send();
    let Some(table) = absent_as_none(sdk_call("dynamodb", "DescribeTable", call).await)?.and_then(|t| t.table) else {
        return Ok(None);
    };
    let mut usage = Usage::default().since(table.creation_date_time());
    let on_demand = table.billing_mode_summary().and_then(|b| b.billing_mode()) == Some(&BillingMode::PayPerRequest);
    if !on_demand {
        let indexes = table.global_secondary_indexes().iter().filter_map(|i| i.provisioned_throughput());
        let (mut read, mut write) = (0, 0);
        for units in table.provisioned_throughput().into_iter().chain(indexes) {
            read += units.read_capacity_units().unwrap_or(0);
            write += units.write_capacity_units().unwrap_or(0);
        }
        usage = usage.line("rcu", read as f64, Unit::Hour).line("wcu", write as f64, Unit::Hour);
    }
    Ok(Some(usage))
}

/// DeleteTable refuses a table with deletion protection (ValidationException).
async fn delete_table(client: &aws_sdk_dynamodb::Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    match sdk_call("dynamodb", "DeleteTable", client.delete_table().table_name(&r.id).send()).await {
        Err(e) if e.summary.to_lowercase().replace(' ', "").contains("deletionprotection") => {
            let call = client.update_table().table_name(&r.id).deletion_protection_enabled(false).send();
            sdk_call("dynamodb", "UpdateTable", call).await?;
            done(sdk_call("dynamodb", "DeleteTable", client.delete_table().table_name(&r.id).send()).await)
        }
        result => done(result),
    }
}

pub(crate) const DYNAMODB_TABLE: Registration = Registration {
    name: "dynamodb:table",
    scope: Scope::Regional,
    found_by: "ListTables",
    reads: &["dynamodb:ListTables", "dynamodb:DescribeTable"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("dynamodb", "table/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["dynamodb:UpdateTable", "dynamodb:DeleteTable"], &["arn:{p}:dynamodb:*:{a}:table/{name}"]),
    list: |c, at| list_tables(&c.dynamodb, at).boxed(),
    delete: |c, r| delete_table(&c.dynamodb, r).boxed(),
    gone: None,
};

async fn list_streams(client: &aws_sdk_kinesis::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_streams().into_paginator().send();
    let pages = sdk_call("kinesis", "ListStreams", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.stream_summaries())
        .filter(|s| s.stream_status() != &StreamStatus::Deleting)
        .map(|s| {
            Resource::new(KINESIS_STREAM.name, at, s.stream_arn().to_owned(), s.stream_name()).named(s.stream_name())
        })
        .collect())
}

async fn stream_gone(client: &aws_sdk_kinesis::Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out = sdk_call("kinesis", "DescribeStreamSummary", client.describe_stream_summary().stream_name(&r.id).send())
        .await?;
    Ok(out.stream_description_summary().is_none())
}

pub(crate) const KINESIS_STREAM: Registration = Registration {
    name: "kinesis:stream",
    scope: Scope::Regional,
    found_by: "ListStreams",
    reads: &["kinesis:ListStreams"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("kinesis", "stream/"),
    depends_on: &["firehose:deliverystream"],
    protected: "",
    grants: Grants::on(
        &["kinesis:DescribeStreamSummary", "kinesis:DeleteStream"],
        &["arn:{p}:kinesis:*:{a}:stream/{name}"],
    ),
    list: |c, at| list_streams(&c.kinesis, at).boxed(),
    // Consumers registered on the stream go with it.
    delete: |c, r| {
        deleting(sdk_call(
            "kinesis",
            "DeleteStream",
            c.kinesis.delete_stream().stream_name(&r.id).enforce_consumer_deletion(true).send(),
        ))
    },
    gone: Some(|c, r| stream_gone(&c.kinesis, r).boxed()),
};

async fn list_delivery_streams(client: &aws_sdk_firehose::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let call = client.list_delivery_streams().set_exclusive_start_delivery_stream_name(after.clone()).send();
        let page = sdk_call("firehose", "ListDeliveryStreams", call).await?;
        for name in page.delivery_stream_names() {
            let arn = at.regional("firehose", &format!("deliverystream/{name}"));
            found.push(Resource::new(FIREHOSE_STREAM.name, at, arn, name).named(name));
        }
        match (page.has_more_delivery_streams(), page.delivery_stream_names().last()) {
            (true, Some(last)) => after = Some(last.clone()),
            _ => return Ok(found),
        }
    }
}

pub(crate) const FIREHOSE_STREAM: Registration = Registration {
    name: "firehose:deliverystream",
    scope: Scope::Regional,
    found_by: "ListDeliveryStreams",
    reads: &["firehose:ListDeliveryStreams"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("firehose", "deliverystream/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["firehose:DeleteDeliveryStream"], &["arn:{p}:firehose:*:{a}:deliverystream/{name}"]),
    list: |c, at| list_delivery_streams(&c.firehose, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call(
            "firehose",
            "DeleteDeliveryStream",
            c.firehose.delete_delivery_stream().delivery_stream_name(&r.id).send(),
        ))
    },
    gone: None,
};

async fn list_databases(client: &aws_sdk_glue::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.get_databases().into_paginator().send();
    let pages = sdk_call("glue", "GetDatabases", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.database_list())
        // The catalog's `default` database is AWS's.
        .filter(|d| d.name() != "default")
        .map(|d| {
            Resource::new(GLUE_DATABASE.name, at, at.regional("glue", &format!("database/{}", d.name())), d.name())
                .named(d.name())
        })
        .collect())
}

pub(crate) const GLUE_DATABASE: Registration = Registration {
    name: "glue:database",
    scope: Scope::Regional,
    found_by: "GetDatabases",
    reads: &["glue:GetDatabases"],
    attribution: Attribution::Name,
    arn: ArnMatch::id("glue", "database/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["glue:DeleteDatabase"],
        &[
            "arn:{p}:glue:*:{a}:catalog",
            "arn:{p}:glue:*:{a}:database/{name}",
            "arn:{p}:glue:*:{a}:table/{name}/*",
            "arn:{p}:glue:*:{a}:userDefinedFunction/{name}/*",
        ],
    ),
    list: |c, at| list_databases(&c.glue, at).boxed(),
    delete: |c, r| deleting(sdk_call("glue", "DeleteDatabase", c.glue.delete_database().name(&r.id).send())),
    gone: None,
};

async fn list_workgroups(client: &aws_sdk_athena::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_work_groups().into_paginator().send();
    let pages = sdk_call("athena", "ListWorkGroups", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.work_groups())
        .filter_map(|w| w.name())
        // `primary` exists in every account and cannot be deleted.
        .filter(|name| *name != "primary")
        .map(|name| {
            Resource::new(ATHENA_WORKGROUP.name, at, at.regional("athena", &format!("workgroup/{name}")), name)
                .named(name)
        })
        .collect())
}

pub(crate) const ATHENA_WORKGROUP: Registration = Registration {
    name: "athena:workgroup",
    scope: Scope::Regional,
    found_by: "ListWorkGroups (not primary)",
    reads: &["athena:ListWorkGroups"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("athena", "workgroup/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["athena:DeleteWorkGroup"], &["arn:{p}:athena:*:{a}:workgroup/{name}"]),
    list: |c, at| list_workgroups(&c.athena, at).boxed(),
    // Recursive: its saved queries and prepared statements go with it.
    delete: |c, r| {
        deleting(sdk_call(
            "athena",
            "DeleteWorkGroup",
            c.athena.delete_work_group().work_group(&r.id).recursive_delete_option(true).send(),
        ))
    },
    gone: None,
};
