//! One test per registry entry (a test below fails when an entry has none).

use sandbox_reset::engine::{Mode, Outcome};
use sandbox_reset::registry::{self, Attribution};

use super::lab::Account;

async fn round_trip(kind: &str) {
    let account = Account::new().await;
    let arn = account.create(kind).await;
    let pool_only = registry::find(kind).unwrap().attribution == Attribution::None;

    let found = account.discover(&account.session()).await;
    assert!(found.failed.is_empty(), "listings failed: {:?}", found.failed);
    let report = if pool_only {
        // Marked as the session's, but IAM cannot bound its delete to one
        // session: reported left, and gone only with the account's reset.
        let left = found.left.iter().find(|o| o.arn == arn);
        let reason = left.and_then(|o| o.reason.as_deref()).unwrap_or_else(|| panic!("{arn}: {found:?}"));
        assert!(reason.contains("only in pool accounts"), "{reason}");
        account.run(&Mode::Account { keep: Vec::new() }).await
    } else {
        let seen = found.resources.iter().find(|r| r.arn == arn);
        assert_eq!(seen.map(|r| r.kind), Some(kind), "{arn} not found as {kind}: {:?}", found.resources);
        account.clean_session().await
    };
    assert!(report.failed.is_empty(), "{kind}: {:?}", report.failed);
    // Only a pool-only prerequisite (a service's task definition) may stay.
    let pool_only_prerequisite =
        |o: &&Outcome| o.arn != arn && registry::find(&o.kind).is_some_and(|k| k.attribution == Attribution::None);
    assert!(report.left.iter().all(|o| pool_only_prerequisite(&o)), "{kind}: {:?}", report.left);
    let deleted = report.deleted.iter().find(|o| o.arn == arn);
    let deleted = deleted.unwrap_or_else(|| panic!("{arn} not deleted: {:?}", report.deleted));
    // Only a KMS key is scheduled (7 days on) rather than deleted at once.
    let week = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 6 * 86_400;
    let scheduled = deleted.scheduled_for.is_some_and(|at| u64::try_from(at).unwrap() > week);
    assert_eq!(scheduled, kind == "kms:key", "{deleted:?}");

    let after = account.discover(&Mode::Account { keep: Vec::new() }).await;
    assert!(after.failed.is_empty(), "{:?}", after.failed);
    assert!(!after.resources.iter().any(|r| r.arn == arn), "{arn} is still listed");
}

macro_rules! round_trips {
    ($($test:ident => $kind:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                round_trip($kind).await;
            }
        )*

        #[test]
        fn every_registry_entry_has_a_round_trip() {
            let tested = [$($kind),*];
            for entry in registry::all() {
                assert!(tested.contains(&entry.name), "{} has no round-trip test", entry.name);
            }
            assert_eq!(tested.len(), registry::all().len());
        }
    };
}

round_trips! {
    ec2_instance => "ec2:instance",
    ec2_volume => "ec2:volume",
    ec2_snapshot => "ec2:snapshot",
    ec2_image => "ec2:image",
    ec2_key_pair => "ec2:key-pair",
    ec2_launch_template => "ec2:launch-template",
    ec2_vpc => "ec2:vpc",
    ec2_subnet => "ec2:subnet",
    ec2_route_table => "ec2:route-table",
    ec2_internet_gateway => "ec2:internet-gateway",
    ec2_network_acl => "ec2:network-acl",
    ec2_vpc_endpoint => "ec2:vpc-endpoint",
    ec2_nat_gateway => "ec2:natgateway",
    ec2_elastic_ip => "ec2:elastic-ip",
    ec2_network_interface => "ec2:network-interface",
    ec2_security_group => "ec2:security-group",
    elb_load_balancer => "elasticloadbalancing:loadbalancer",
    elb_listener => "elasticloadbalancing:listener",
    elb_target_group => "elasticloadbalancing:targetgroup",
    autoscaling_group => "autoscaling:autoScalingGroup",
    autoscaling_launch_configuration => "autoscaling:launchConfiguration",
    rds_instance => "rds:db",
    rds_cluster => "rds:cluster",
    rds_snapshot => "rds:snapshot",
    rds_subnet_group => "rds:subgrp",
    ecs_cluster => "ecs:cluster",
    ecs_service => "ecs:service",
    ecs_task_definition => "ecs:task-definition",
    ecr_repository => "ecr:repository",
    eks_cluster => "eks:cluster",
    eks_nodegroup => "eks:nodegroup",
    lambda_function => "lambda:function",
    lambda_layer => "lambda:layer",
    apigateway_rest_api => "apigateway:restapi",
    apigateway_http_api => "apigateway:api",
    states_state_machine => "states:stateMachine",
    events_rule => "events:rule",
    events_bus => "events:event-bus",
    s3_bucket => "s3:bucket",
    dynamodb_table => "dynamodb:table",
    kinesis_stream => "kinesis:stream",
    firehose_stream => "firehose:deliverystream",
    glue_database => "glue:database",
    athena_workgroup => "athena:workgroup",
    redshift_cluster => "redshift:cluster",
    opensearch_domain => "es:domain",
    efs_file_system => "elasticfilesystem:file-system",
    efs_mount_target => "elasticfilesystem:mount-target",
    elasticache_cluster => "elasticache:cluster",
    sqs_queue => "sqs:queue",
    sns_topic => "sns:topic",
    cloudwatch_alarm => "cloudwatch:alarm",
    cloudwatch_dashboard => "cloudwatch:dashboard",
    logs_log_group => "logs:log-group",
    cloudformation_stack => "cloudformation:stack",
    kms_key => "kms:key",
    kms_alias => "kms:alias",
    secretsmanager_secret => "secretsmanager:secret",
    ssm_parameter => "ssm:parameter",
    cognito_user_pool => "cognito-idp:userpool",
    iam_role => "iam:role",
    iam_user => "iam:user",
    iam_group => "iam:group",
    iam_policy => "iam:policy",
    iam_instance_profile => "iam:instance-profile",
    route53_hosted_zone => "route53:hostedzone",
    sagemaker_notebook => "sagemaker:notebook-instance",
}
