//! Keys and secrets: KMS keys and aliases, Secrets Manager secrets, SSM
//! parameters, Cognito user pools. A KMS key cannot be deleted at once:
//! it is scheduled (7 days, the shortest window AWS allows) and reported
//! with that date. A secret is deleted without its recovery window (else
//! its name stays taken for up to 30 days).

use aws_sdk_cognitoidentityprovider::types::DeletionProtectionType;
use aws_sdk_kms::types::{KeyManagerType, KeyState};
use futures_util::FutureExt;

use super::{deleting, unless_gone};
use crate::registry::{ArnMatch, Attribution, Deleted, Grants, Registration, Resource, Scope, Where};
use crate::upstream::{UpstreamError, UpstreamErrorKind, sdk_call};
use crate::usage::Usage;

type Kms = aws_sdk_kms::Client;
/// The shortest waiting period AWS allows for a key deletion.
const KEY_WAIT_DAYS: i32 = 7;

async fn keys(c: &Kms, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_keys().into_paginator().items().send();
    let keys = sdk_call("kms", "ListKeys", pages.collect::<Result<Vec<_>, _>>()).await?;
    let mut found = Vec::new();
    for key in keys {
        let Some(id) = key.key_id() else { continue };
        let out = sdk_call("kms", "DescribeKey", c.describe_key().key_id(id).send()).await?;
        let Some(meta) = out.key_metadata() else { continue };
        // AWS-managed keys are AWS's; a key pending deletion is on its way.
        if meta.key_manager() == Some(&KeyManagerType::Aws) || meta.key_state() == Some(&KeyState::PendingDeletion) {
            continue;
        }
        let arn = meta.arn().map_or_else(|| at.regional("kms", &format!("key/{id}")), str::to_owned);
        // A customer managed key bills per month ($1 in most regions),
        // priced per hour as 1/730 of it.
        found.push(Resource::new(KMS_KEY.name, at, arn, id).billed(Usage::hourly("*", meta.creation_date())));
    }
    Ok(found)
}

async fn schedule_key_deletion(c: &Kms, r: &Resource) -> Result<Deleted, UpstreamError> {
    let call = c.schedule_key_deletion().key_id(&r.id).pending_window_in_days(KEY_WAIT_DAYS).send();
    let out = sdk_call("kms", "ScheduleKeyDeletion", call).await?;
    let at = out.deletion_date().map_or(0, |d| d.secs());
    Ok(Deleted::ScheduledFor(at))
}

pub(crate) const KMS_KEY: Registration = Registration {
    name: "kms:key",
    scope: Scope::Regional,
    found_by: "ListKeys, DescribeKey (customer managed)",
    reads: &["kms:ListKeys", "kms:DescribeKey"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id("kms", "key/"),
    depends_on: &["kms:alias"],
    protected: "",
    grants: Grants::on(&["kms:ScheduleKeyDeletion"], &["arn:{p}:kms:*:{a}:key/*"]),
    list: |c, at| keys(&c.kms, at).boxed(),
    delete: |c, r| schedule_key_deletion(&c.kms, r).boxed(),
    gone: None,
};

async fn aliases(c: &Kms, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_aliases().into_paginator().items().send();
    let aliases = sdk_call("kms", "ListAliases", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(aliases
        .iter()
        // alias/aws/… name AWS-managed keys.
        .filter(|a| a.alias_name().is_some_and(|n| !n.starts_with("alias/aws/")))
        .filter_map(|a| {
            let (name, arn) = (a.alias_name()?, a.alias_arn()?);
            let key = a.target_key_id().map(|k| at.regional("kms", &format!("key/{k}")));
            Some(
                Resource::new(KMS_ALIAS.name, at, arn.to_owned(), name)
                    .named(name.trim_start_matches("alias/"))
                    .before(key),
            )
        })
        .collect())
}

pub(crate) const KMS_ALIAS: Registration = Registration {
    name: "kms:alias",
    scope: Scope::Regional,
    found_by: "ListAliases (not alias/aws/)",
    reads: &["kms:ListAliases"],
    attribution: Attribution::Name,
    arn: ArnMatch::any("kms", "alias/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["kms:DeleteAlias"], &["arn:{p}:kms:*:{a}:alias/{name}", "arn:{p}:kms:*:{a}:key/*"]),
    list: |c, at| aliases(&c.kms, at).boxed(),
    delete: |c, r| deleting(sdk_call("kms", "DeleteAlias", c.kms.delete_alias().alias_name(&r.id).send())),
    gone: None,
};

async fn secrets(c: &aws_sdk_secretsmanager::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_secrets().into_paginator().send();
    let pages = sdk_call("secretsmanager", "ListSecrets", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.secret_list())
        .filter(|s| s.deleted_date().is_none())
        .filter_map(|s| {
            let (name, arn) = (s.name()?, s.arn()?);
            let tags = s.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
            let usage = Usage::hourly("*", s.created_date());
            Some(Resource::new(SECRET.name, at, arn.to_owned(), arn).named(name).tagged(tags).billed(usage))
        })
        .collect())
}

pub(crate) const SECRET: Registration = Registration {
    name: "secretsmanager:secret",
    scope: Scope::Regional,
    found_by: "ListSecrets",
    reads: &["secretsmanager:ListSecrets"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::id("secretsmanager", "secret:"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["secretsmanager:DeleteSecret"], &["arn:{p}:secretsmanager:*:{a}:secret:{name}"]),
    list: |c, at| secrets(&c.secrets, at).boxed(),
    delete: |c, r| {
        let call = c.secrets.delete_secret().secret_id(&r.id).force_delete_without_recovery(true).send();
        deleting(sdk_call("secretsmanager", "DeleteSecret", call))
    },
    gone: None,
};

async fn parameters(c: &aws_sdk_ssm::Client, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.describe_parameters().into_paginator().send();
    let pages = sdk_call("ssm", "DescribeParameters", pages.collect::<Result<Vec<_>, _>>()).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.parameters())
        .filter_map(|p| {
            let name = p.name()?;
            // `/a/b` is `parameter/a/b`; `a` is `parameter/a`.
            let arn = p.arn().map_or_else(
                || at.regional("ssm", &format!("parameter/{}", name.trim_start_matches('/'))),
                str::to_owned,
            );
            Some(Resource::new(PARAMETER.name, at, arn, name).named(name.trim_start_matches('/')))
        })
        .collect())
}

pub(crate) const PARAMETER: Registration = Registration {
    name: "ssm:parameter",
    scope: Scope::Regional,
    found_by: "DescribeParameters",
    reads: &["ssm:DescribeParameters"],
    attribution: Attribution::TagOrName,
    arn: ArnMatch::any("ssm", "parameter/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(&["ssm:DeleteParameter"], &["arn:{p}:ssm:*:{a}:parameter/{name}"]),
    list: |c, at| parameters(&c.ssm, at).boxed(),
    delete: |c, r| deleting(sdk_call("ssm", "DeleteParameter", c.ssm.delete_parameter().name(&r.id).send())),
    gone: None,
};

type Cognito = aws_sdk_cognitoidentityprovider::Client;

/// ListUserPools returns no tags, and the tagging API is not where every
/// deployment (nor moto) finds a pool's: each pool's own DescribeUserPool
/// gives them (an account holds few pools).
async fn user_pools(c: &Cognito, at: &Where) -> Result<Vec<Resource>, UpstreamError> {
    let pages = c.list_user_pools().max_results(60).into_paginator().items().send();
    let pools = sdk_call("cognito-idp", "ListUserPools", pages.collect::<Result<Vec<_>, _>>()).await?;
    let described = pools.iter().filter_map(|p| p.id()).map(|id| async move {
        let out = sdk_call("cognito-idp", "DescribeUserPool", c.describe_user_pool().user_pool_id(id).send()).await;
        let pool = match out {
            Ok(out) => out.user_pool,
            Err(e) if e.kind == UpstreamErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let (name, tags) = pool.map(|p| (p.name, p.user_pool_tags)).unwrap_or_default();
        let arn = at.regional("cognito-idp", &format!("userpool/{id}"));
        let resource = Resource::new(USER_POOL.name, at, arn, id).named(name.unwrap_or_default());
        Ok(Some(resource.tagged(tags.unwrap_or_default())))
    });
    let found: Vec<Option<Resource>> = futures_util::future::try_join_all(described).await?;
    Ok(found.into_iter().flatten().collect())
}

/// DeleteUserPool refuses a pool with a hosted-UI domain or with deletion
/// protection on: the domain is deleted and protection lifted first.
async fn delete_user_pool(c: &Cognito, r: &Resource) -> Result<Deleted, UpstreamError> {
    let out = sdk_call("cognito-idp", "DescribeUserPool", c.describe_user_pool().user_pool_id(&r.id).send()).await?;
    let pool = out.user_pool();
    if let Some(domain) = pool.and_then(|p| p.domain()) {
        let call = c.delete_user_pool_domain().user_pool_id(&r.id).domain(domain).send();
        unless_gone(sdk_call("cognito-idp", "DeleteUserPoolDomain", call).await)?;
    }
    if pool.and_then(|p| p.deletion_protection()) == Some(&DeletionProtectionType::Active) {
        let call =
            c.update_user_pool().user_pool_id(&r.id).deletion_protection(DeletionProtectionType::Inactive).send();
        sdk_call("cognito-idp", "UpdateUserPool", call).await?;
    }
    sdk_call("cognito-idp", "DeleteUserPool", c.delete_user_pool().user_pool_id(&r.id).send()).await?;
    Ok(Deleted::Now)
}

pub(crate) const USER_POOL: Registration = Registration {
    name: "cognito-idp:userpool",
    scope: Scope::Regional,
    found_by: "ListUserPools, DescribeUserPool",
    reads: &["cognito-idp:ListUserPools", "cognito-idp:DescribeUserPool"],
    attribution: Attribution::Tag,
    arn: ArnMatch::id("cognito-idp", "userpool/"),
    depends_on: &[],
    protected: "",
    grants: Grants::on(
        &[
            "cognito-idp:DescribeUserPool",
            "cognito-idp:UpdateUserPool",
            "cognito-idp:DeleteUserPoolDomain",
            "cognito-idp:DeleteUserPool",
        ],
        &["arn:{p}:cognito-idp:*:{a}:userpool/*"],
    ),
    list: |c, at| user_pools(&c.cognito, at).boxed(),
    delete: |c, r| delete_user_pool(&c.cognito, r).boxed(),
    gone: None,
};
