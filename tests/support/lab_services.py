"""Creators for every other registry type (RDS, containers, serverless,
data, messaging, monitoring, keys and secrets, IAM, DNS, ML)."""

import json

from labkit import POLICY, creates


@creates("rds:db")
def _(lab):
    return lab.db(protect=True)


@creates("rds:cluster")
def _(lab):
    rds = lab.client("rds")
    cluster = lab.name("aurora")
    out = rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-postgresql", MasterUsername="learner",
                                MasterUserPassword="learner-pass-1", DeletionProtection=True, Tags=lab.tags())
    lab.db(cluster=cluster)
    return out["DBCluster"]["DBClusterArn"]


@creates("rds:snapshot")
def _(lab):
    db = lab.db().rsplit(":", 1)[1]
    out = lab.client("rds").create_db_snapshot(DBSnapshotIdentifier=lab.name("snap"), DBInstanceIdentifier=db,
                                               Tags=lab.tags())
    return out["DBSnapshot"]["DBSnapshotArn"]


@creates("rds:subgrp")
def _(lab):
    vpc = lab.vpc()
    out = lab.client("rds").create_db_subnet_group(DBSubnetGroupName=lab.name("dbsubnets"), DBSubnetGroupDescription="lab",
                                                   SubnetIds=[lab.subnet(vpc, 0), lab.subnet(vpc, 1)], Tags=lab.tags())
    return out["DBSubnetGroup"]["DBSubnetGroupArn"]


@creates("ecs:cluster")
def _(lab):
    return lab.ecs_cluster()


@creates("ecs:service")
def _(lab):
    vpc = lab.vpc()
    out = lab.client("ecs").create_service(
        cluster=lab.ecs_cluster(), serviceName=lab.name("svc"), taskDefinition=lab.task_definition(), desiredCount=1,
        launchType="FARGATE", tags=lab.tags(False), networkConfiguration={"awsvpcConfiguration": {
            "subnets": [lab.subnet(vpc)], "securityGroups": [lab.group(vpc)]}})
    return out["service"]["serviceArn"]


@creates("ecs:task-definition")
def _(lab):
    return lab.task_definition()


@creates("ecr:repository")
def _(lab):
    out = lab.client("ecr").create_repository(repositoryName=lab.name("repo"), tags=lab.tags())
    return out["repository"]["repositoryArn"]


@creates("eks:cluster")
def _(lab):
    name, _ = lab.eks_cluster()
    return lab.client("eks").describe_cluster(name=name)["cluster"]["arn"]


@creates("eks:nodegroup")
def _(lab):
    name, subnets = lab.eks_cluster()
    out = lab.client("eks").create_nodegroup(clusterName=name, nodegroupName=lab.name("nodes"), subnets=subnets,
                                             nodeRole=lab.role(), tags={"sandbox-key": lab.key})
    return out["nodegroup"]["nodegroupArn"]


@creates("lambda:function")
def _(lab):
    out = lab.client("lambda").create_function(FunctionName=lab.name("fn"), Runtime="python3.12", Role=lab.role(),
                                               Handler="index.handler", Code={"ZipFile": lab.zip()},
                                               Tags={"sandbox-key": lab.key})
    return out["FunctionArn"]


@creates("lambda:layer")
def _(lab):
    out = lab.client("lambda").publish_layer_version(LayerName=lab.name("layer"), Content={"ZipFile": lab.zip()})
    return out["LayerArn"]


@creates("apigateway:restapi")
def _(lab):
    out = lab.client("apigateway").create_rest_api(name=lab.name("rest"), tags={"sandbox-key": lab.key})
    return f"arn:aws:apigateway:{lab.region}::/restapis/{out['id']}"


@creates("apigateway:api")
def _(lab):
    out = lab.client("apigatewayv2").create_api(Name=lab.name("http"), ProtocolType="HTTP", Tags={"sandbox-key": lab.key})
    return f"arn:aws:apigateway:{lab.region}::/apis/{out['ApiId']}"


@creates("states:stateMachine")
def _(lab):
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    out = lab.client("stepfunctions").create_state_machine(name=lab.name("flow"), definition=json.dumps(definition),
                                                           roleArn=lab.role(), tags=[{"key": "sandbox-key", "value": lab.key}])
    return out["stateMachineArn"]


@creates("events:rule")
def _(lab):
    events = lab.client("events")
    name = lab.name("rule")
    out = events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)", Tags=lab.tags())
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": lab.queue_arn()}])
    return out["RuleArn"]


@creates("events:event-bus")
def _(lab):
    return lab.client("events").create_event_bus(Name=lab.name("bus"), Tags=lab.tags())["EventBusArn"]


@creates("s3:bucket")
def _(lab):
    s3 = lab.client("s3")
    bucket = lab.bucket()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="notes.txt", Body=body)
    s3.delete_object(Bucket=bucket, Key="notes.txt")
    return f"arn:aws:s3:::{bucket}"


@creates("dynamodb:table")
def _(lab):
    out = lab.client("dynamodb").create_table(
        TableName=lab.name("table"), BillingMode="PAY_PER_REQUEST", DeletionProtectionEnabled=True, Tags=lab.tags(),
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return out["TableDescription"]["TableArn"]


@creates("kinesis:stream")
def _(lab):
    kinesis = lab.client("kinesis")
    name = lab.name("stream")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


@creates("firehose:deliverystream")
def _(lab):
    out = lab.client("firehose").create_delivery_stream(
        DeliveryStreamName=lab.name("firehose"), Tags=lab.tags(),
        ExtendedS3DestinationConfiguration={"RoleARN": lab.role(), "BucketARN": f"arn:aws:s3:::{lab.bucket()}"})
    return out["DeliveryStreamARN"]


@creates("glue:database")
def _(lab):
    name = lab.name("db")
    lab.client("glue").create_database(DatabaseInput={"Name": name}, Tags={"sandbox-key": lab.key})
    return lab.arn("glue", f"database/{name}")


@creates("redshift:cluster")
def _(lab):
    name = lab.name("warehouse")
    lab.client("redshift").create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="learner",
                                          MasterUserPassword="Learner-pass-1", Tags=lab.tags())
    return lab.arn("redshift", f"cluster:{name}")


@creates("es:domain")
def _(lab):
    name = lab.name("search")
    lab.client("opensearch").create_domain(DomainName=name, TagList=lab.tags())
    return lab.arn("es", f"domain/{name}")


@creates("elasticfilesystem:file-system")
def _(lab):
    return lab.file_system()[1]


@creates("elasticfilesystem:mount-target")
def _(lab):
    system, _ = lab.file_system()
    vpc = lab.vpc()
    out = lab.client("efs").create_mount_target(FileSystemId=system, SubnetId=lab.subnet(vpc), SecurityGroups=[lab.group(vpc)])
    return lab.arn("elasticfilesystem", f"mount-target/{out['MountTargetId']}")


@creates("elasticache:cluster")
def _(lab):
    out = lab.client("elasticache").create_cache_cluster(CacheClusterId=lab.name("cache"), Engine="redis",
                                                         CacheNodeType="cache.t3.micro", NumCacheNodes=1, Tags=lab.tags())
    return out["CacheCluster"]["ARN"]


@creates("sqs:queue")
def _(lab):
    return lab.queue_arn()


@creates("sns:topic")
def _(lab):
    sns = lab.client("sns")
    topic = sns.create_topic(Name=lab.name("topic"), Tags=lab.tags())["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=lab.queue_arn())
    return topic


@creates("cloudwatch:alarm")
def _(lab):
    cloudwatch = lab.client("cloudwatch")
    name = lab.name("alarm")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average",
                                Period=60, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
                                Tags=lab.tags())
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]


@creates("cloudwatch:dashboard")
def _(lab):
    cloudwatch = lab.client("cloudwatch")
    name = lab.name("dash")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": []}))
    return cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"][0]["DashboardArn"]


@creates("logs:log-group")
def _(lab):
    name = lab.name("logs")
    lab.client("logs").create_log_group(logGroupName=name, tags={"sandbox-key": lab.key})
    return lab.arn("logs", f"log-group:{name}")


@creates("cloudformation:stack")
def _(lab):
    # Its queue is named without the key: only the stack is the learner's
    # to delete (AWS tags stack members aws:cloudformation:stack-id, which
    # the engine leaves to the stack; moto does not tag them).
    queue = f"stack-member-{lab.account}-{lab.n}"
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}}}}
    out = lab.client("cloudformation").create_stack(StackName=lab.name("stack"), TemplateBody=json.dumps(template),
                                                    Tags=lab.tags(), EnableTerminationProtection=True)
    return out["StackId"]


@creates("kms:key")
def _(lab):
    return lab.key_id()[1]


@creates("kms:alias")
def _(lab):
    name = "alias/" + lab.name("alias")
    lab.client("kms").create_alias(AliasName=name, TargetKeyId=lab.key_id()[0])
    return lab.arn("kms", name)


@creates("secretsmanager:secret")
def _(lab):
    out = lab.client("secretsmanager").create_secret(Name=lab.name("secret"), SecretString="s3cret", Tags=lab.tags())
    return out["ARN"]


@creates("ssm:parameter")
def _(lab):
    name = lab.name("param")
    lab.client("ssm").put_parameter(Name=name, Value="v", Type="String", Tags=lab.tags())
    return lab.arn("ssm", f"parameter/{name}")


@creates("cognito-idp:userpool")
def _(lab):
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName=lab.name("users"), UserPoolTags={"sandbox-key": lab.key})["UserPool"]
    idp.create_user_pool_domain(Domain=lab.name("login"), UserPoolId=pool["Id"])
    return lab.arn("cognito-idp", f"userpool/{pool['Id']}")


@creates("iam:role")
def _(lab):
    iam = lab.client("iam")
    name = lab.name("role")
    arn = lab.role(name)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    iam.attach_role_policy(RoleName=name, PolicyArn=lab.managed_policy())
    profile = lab.name("profile")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=name)
    return arn


@creates("iam:user")
def _(lab):
    iam = lab.client("iam")
    name = lab.name("user")
    arn = iam.create_user(UserName=name, Tags=lab.tags())["User"]["Arn"]
    iam.create_access_key(UserName=name)
    iam.create_login_profile(UserName=name, Password="Learner-pass-1")
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    iam.attach_user_policy(UserName=name, PolicyArn=lab.managed_policy())
    return arn


@creates("iam:group")
def _(lab):
    iam = lab.client("iam")
    name = lab.name("group")
    arn = iam.create_group(GroupName=name)["Group"]["Arn"]
    iam.attach_group_policy(GroupName=name, PolicyArn=lab.managed_policy())
    return arn


@creates("iam:policy")
def _(lab):
    iam = lab.client("iam")
    arn = iam.create_policy(PolicyName=lab.name("policy"), PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(POLICY), SetAsDefault=True)
    role = lab.name("role")
    lab.role(role)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return arn


@creates("iam:instance-profile")
def _(lab):
    iam = lab.client("iam")
    name = lab.name("profile")
    arn = iam.create_instance_profile(InstanceProfileName=name, Tags=lab.tags())["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=lab.role(lab.name("role")).rsplit("/", 1)[1])
    return arn


@creates("route53:hostedzone")
def _(lab):
    route53 = lab.client("route53")
    zone = f"{lab.name('zone')}.example.com"
    out = route53.create_hosted_zone(Name=zone, CallerReference=zone)
    zone_id = out["HostedZone"]["Id"].rsplit("/", 1)[1]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE",
        "ResourceRecordSet": {"Name": f"www.{zone}", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}}]})
    return f"arn:aws:route53:::hostedzone/{zone_id}"


@creates("sagemaker:notebook-instance")
def _(lab):
    out = lab.client("sagemaker").create_notebook_instance(NotebookInstanceName=lab.name("notebook"),
                                                           InstanceType="ml.t2.medium", RoleArn=lab.role(), Tags=lab.tags())
    return out["NotebookInstanceArn"]
