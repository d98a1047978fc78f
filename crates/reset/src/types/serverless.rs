//! Lambda functions and layers, API Gateway REST and HTTP APIs, Step
//! Functions state machines, EventBridge rules and buses. A rule's targets
//! are removed before the rule (DeleteRule refuses a rule with targets); a
//! state machine is polled until AWS has stopped its executions.

use futures_util::FutureExt;

use super::{deleting, last};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, sdk_call};

async fn list_functions(client: &aws_sdk_lambda::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_functions().into_paginator().items().send();
    let functions = sdk_call("lambda", "ListFunctions", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(functions
        .iter()
        .filter_map(|f| {
            let (name, arn) = (f.function_name()?, f.function_arn()?);
            // A function in a VPC holds interfaces in its subnets until
            // it is deleted (and AWS releases them some minutes later).
            let vpc = f.vpc_config();
            let subnets = vpc.map(|v| v.subnet_ids()).unwrap_or_default().iter();
            let groups = vpc.map(|v| v.security_group_ids()).unwrap_or_default().iter();
            let held = subnets
                .map(|s| at.regional("ec2", &format!("subnet/{s}")))
                .chain(groups.map(|g| at.regional("ec2", &format!("security-group/{g}"))));
            Some(Resource::new(LAMBDA_FUNCTION.name, at, arn.to_owned(), name).named(name).before(held))
        })
        .collect())
}

pub(crate) const LAMBDA_FUNCTION: Registration = Registration {
    name: "lambda:function",
    scope: Scope::Regional,
    found_by: "ListFunctions",
    reads: &["lambda:ListFunctions"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("lambda", "function:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["lambda:DeleteFunction"], &["arn:{p}:lambda:*:{a}:function:{name}"]),
    list: |c, at| list_functions(&c.lambda, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call("lambda", "DeleteFunction", c.lambda.delete_function().function_name(&r.id).send()))
    },
    gone: None,
};

async fn list_layers(client: &aws_sdk_lambda::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_layers().into_paginator().items().send();
    let layers = sdk_call("lambda", "ListLayers", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(layers
        .iter()
        .filter_map(|l| {
            let (name, arn) = (l.layer_name()?, l.layer_arn()?);
            Some(Resource::new(LAMBDA_LAYER.name, at, arn.to_owned(), name).named(name))
        })
        .collect())
}

/// A layer is its versions: each is deleted.
async fn delete_layer(client: &aws_sdk_lambda::Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let pages = client.list_layer_versions().layer_name(&r.id).into_paginator().items().send();
    let versions = sdk_call("lambda", "ListLayerVersions", pages.collect::<Result<Vec<_>, _>>()).await?;
    for version in versions {
        let call = client.delete_layer_version().layer_name(&r.id).version_number(version.version).send();
        sdk_call("lambda", "DeleteLayerVersion", call).await?;
    }
    Ok(Deleted::Now)
}

pub(crate) const LAMBDA_LAYER: Registration = Registration {
    name: "lambda:layer",
    scope: Scope::Regional,
    found_by: "ListLayers, ListLayerVersions",
    reads: &["lambda:ListLayers", "lambda:ListLayerVersions"],
    attribution: Attribution::Name,
    arn: ArnMatch::id("lambda", "layer:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["lambda:DeleteLayerVersion"], &["arn:{p}:lambda:*:{a}:layer:{name}:*"]),
    list: |c, at| list_layers(&c.lambda, at).boxed(),
    delete: |c, r| delete_layer(&c.lambda, r).boxed(),
    gone: None,
};

async fn list_rest_apis(client: &aws_sdk_apigateway::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.get_rest_apis().into_paginator().items().send();
    let apis = sdk_call("apigateway", "GetRestApis", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(apis
        .iter()
        .filter_map(|a| {
            let id = a.id()?;
            let arn = format!("arn:{}:apigateway:{}::/restapis/{id}", at.partition, at.region);
            let tags = a.tags().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone()));
            Some(Resource::new(REST_API.name, at, arn, id).named(a.name().unwrap_or_default()).tagged(tags))
        })
        .collect())
}

pub(crate) const REST_API: Registration = Registration {
    name: "apigateway:restapi",
    scope: Scope::Regional,
    found_by: "GetRestApis",
    reads: &["apigateway:GET"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id("apigateway", "/restapis/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["apigateway:DELETE"], &["arn:{p}:apigateway:*::/restapis/*"]),
    list: |c, at| list_rest_apis(&c.apigateway, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call("apigateway", "DeleteRestApi", c.apigateway.delete_rest_api().rest_api_id(&r.id).send()))
    },
    gone: None,
};

async fn list_http_apis(client: &aws_sdk_apigatewayv2::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = sdk_call("apigateway", "GetApis", client.get_apis().set_next_token(token).send()).await?;
        for a in page.items() {
            let Some(id) = a.api_id() else { continue };
            let arn = format!("arn:{}:apigateway:{}::/apis/{id}", at.partition, at.region);
            let tags = a.tags().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone()));
            found.push(Resource::new(HTTP_API.name, at, arn, id).named(a.name().unwrap_or_default()).tagged(tags));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

pub(crate) const HTTP_API: Registration = Registration {
    name: "apigateway:api",
    scope: Scope::Regional,
    found_by: "GetApis (v2)",
    reads: &["apigateway:GET"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id("apigateway", "/apis/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["apigateway:DELETE"], &["arn:{p}:apigateway:*::/apis/*"]),
    list: |c, at| list_http_apis(&c.apigatewayv2, at).boxed(),
    delete: |c, r| deleting(sdk_call("apigateway", "DeleteApi", c.apigatewayv2.delete_api().api_id(&r.id).send())),
    gone: None,
};

async fn list_state_machines(client: &aws_sdk_sfn::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = client.list_state_machines().into_paginator().items().send();
    let machines = sdk_call("states", "ListStateMachines", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(machines
        .iter()
        .map(|m| {
            Resource::new(STATE_MACHINE.name, at, m.state_machine_arn().to_owned(), m.state_machine_arn())
                .named(m.name())
        })
        .collect())
}

async fn state_machine_gone(client: &aws_sdk_sfn::Client, r: &Resource) -> Result<bool, UpstreamError> {
    let out =
        sdk_call("states", "DescribeStateMachine", client.describe_state_machine().state_machine_arn(&r.id).send())
            .await?;
    Ok(out.status().is_none_or(|s| s.as_str() != "ACTIVE" && s.as_str() != "DELETING"))
}

pub(crate) const STATE_MACHINE: Registration = Registration {
    name: "states:stateMachine",
    scope: Scope::Regional,
    found_by: "ListStateMachines",
    reads: &["states:ListStateMachines"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("states", "stateMachine:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["states:DescribeStateMachine", "states:DeleteStateMachine"],
        &["arn:{p}:states:*:{a}:stateMachine:{name}"],
    ),
    list: |c, at| list_state_machines(&c.sfn, at).boxed(),
    delete: |c, r| {
        deleting(sdk_call("states", "DeleteStateMachine", c.sfn.delete_state_machine().state_machine_arn(&r.id).send()))
    },
    gone: Some(|c, r| state_machine_gone(&c.sfn, r).boxed()),
};

async fn buses(client: &aws_sdk_eventbridge::Client) -> Result<Vec<(String, String)>, UpstreamError> {
    let out = sdk_call("events", "ListEventBuses", client.list_event_buses().send()).await?;
    Ok(out.event_buses().iter().filter_map(|b| Some((b.name()?.to_owned(), b.arn()?.to_owned()))).collect())
}

async fn list_rules(client: &aws_sdk_eventbridge::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let mut found = Vec::new();
    for (bus, bus_arn) in buses(client).await? {
        let out = sdk_call("events", "ListRules", client.list_rules().event_bus_name(&bus).send()).await?;
        // A rule a service made for itself (ManagedBy) goes with it.
        for rule in out.rules().iter().filter(|r| r.managed_by().is_none()) {
            let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else { continue };
            let mut r = Resource::new(EVENT_RULE.name, at, arn.to_owned(), name).named(name).before([bus_arn.clone()]);
            r.parent = Some(bus_arn.clone());
            found.push(r);
        }
    }
    Ok(found)
}

/// Targets first: DeleteRule refuses a rule that still has any.
async fn delete_rule(client: &aws_sdk_eventbridge::Client, r: &Resource) -> Result<Deleted, UpstreamError> {
    let bus = r.parent.as_deref().map(last).unwrap_or("default");
    let call = client.list_targets_by_rule().rule(&r.id).event_bus_name(bus).send();
    let targets = sdk_call("events", "ListTargetsByRule", call).await?;
    let ids: Vec<String> = targets.targets().iter().map(|t| t.id().to_owned()).collect();
    if !ids.is_empty() {
        let call = client.remove_targets().rule(&r.id).event_bus_name(bus).set_ids(Some(ids)).send();
        sdk_call("events", "RemoveTargets", call).await?;
    }
    sdk_call("events", "DeleteRule", client.delete_rule().name(&r.id).event_bus_name(bus).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const EVENT_RULE: Registration = Registration {
    name: "events:rule",
    scope: Scope::Regional,
    found_by: "ListEventBuses, ListRules",
    reads: &["events:ListEventBuses", "events:ListRules"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("events", "rule/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &["events:ListTargetsByRule", "events:RemoveTargets", "events:DeleteRule"],
        &["arn:{p}:events:*:{a}:rule/{name}", "arn:{p}:events:*:{a}:rule/*/{name}"],
    ),
    list: |c, at| list_rules(&c.events, at).boxed(),
    delete: |c, r| delete_rule(&c.events, r).boxed(),
    gone: None,
};

async fn list_buses(client: &aws_sdk_eventbridge::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    Ok(buses(client)
        .await?
        .into_iter()
        // The default bus cannot be deleted.
        .filter(|(name, _)| name != "default")
        .map(|(name, arn)| Resource::new(EVENT_BUS.name, at, arn, name.clone()).named(name))
        .collect())
}

pub(crate) const EVENT_BUS: Registration = Registration {
    name: "events:event-bus",
    scope: Scope::Regional,
    found_by: "ListEventBuses (not default)",
    reads: &["events:ListEventBuses"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("events", "event-bus/"),
    depends_on: &["events:rule"],
    protected: "",
    grants: Grants::on(&["events:DeleteEventBus"], &["arn:{p}:events:*:{a}:event-bus/{name}"]),
    list: |c, at| list_buses(&c.events, at).boxed(),
    delete: |c, r| deleting(sdk_call("events", "DeleteEventBus", c.events.delete_event_bus().name(&r.id).send())),
    gone: None,
};
