#!/usr/bin/env python3
"""Creates one resource of a registry type the way a learner would (boto3,
the learner's own keys from the environment), with whatever it needs
first, tagged `sandbox-key=KEY` and named `KEY-...`. Prints {"arn": ...}:
the ARN the broker's registry must find, delete and then no longer list.

  lab.py --endpoint URL --region R --key KEY TYPE
"""

import argparse
import io
import json
import zipfile

import boto3
from botocore.config import Config

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": [
    "lambda.amazonaws.com", "ec2.amazonaws.com", "states.amazonaws.com", "eks.amazonaws.com",
    "firehose.amazonaws.com", "sagemaker.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
# boto3 from 1.44 calls Athena over REST-JSON, which the emulator does not
# serve: the tests create work groups through the Rust SDK instead.
CREATORS = {}


def creates(kind):
    def register(fn):
        CREATORS[kind] = fn
        return fn
    return register


class Lab:
    def __init__(self, endpoint, region, key):
        config = Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"})
        self.client = lambda s: boto3.client(s, endpoint_url=endpoint, region_name=region, config=config)
        self.region, self.key = region, key
        self.account = self.client("sts").get_caller_identity()["Account"]
        self.n = 0

    def name(self, what="x"):
        self.n += 1
        return f"{self.key}-{what}{self.n}"

    def tags(self, cap=True):
        return [{"Key": "sandbox-key", "Value": self.key}] if cap else [{"key": "sandbox-key", "value": self.key}]

    def spec(self, resource):
        return [{"ResourceType": resource, "Tags": self.tags()}]

    def arn(self, service, resource, region=True, account=True):
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    # Building blocks several types need.
    def vpc(self):
        ec2 = self.client("ec2")
        return ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=self.spec("vpc"))["Vpc"]["VpcId"]

    def subnet(self, vpc, n=0):
        ec2 = self.client("ec2")
        return ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=self.region + "ab"[n % 2],
                                 TagSpecifications=self.spec("subnet"))["Subnet"]["SubnetId"]

    def group(self, vpc):
        return self.client("ec2").create_security_group(GroupName=self.name("sg"), Description="lab", VpcId=vpc,
                                                        TagSpecifications=self.spec("security-group"))["GroupId"]

    def image_id(self):
        return self.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def instance(self):
        ec2 = self.client("ec2")
        out = ec2.run_instances(ImageId=self.image_id(), MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                TagSpecifications=self.spec("instance"))
        return out["Instances"][0]["InstanceId"]

    def role(self, name=None):
        return self.client("iam").create_role(RoleName=name or self.name("role"),
                                              AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]

    def zip(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return 1\n")
        return buf.getvalue()

    def managed_policy(self):
        iam = self.client("iam")
        return iam.create_policy(PolicyName=self.name("policy"), PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]

    def queue_arn(self):
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=self.name("q"), tags={"sandbox-key": self.key})["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def bucket(self):
        name = self.name("bucket")
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    def load_balancer(self):
        vpc = self.vpc()
        subnets = [self.subnet(vpc, 0), self.subnet(vpc, 1)]
        out = self.client("elbv2").create_load_balancer(Name=self.name("lb"), Subnets=subnets,
                                                        SecurityGroups=[self.group(vpc)], Tags=self.tags())
        return vpc, out["LoadBalancers"][0]["LoadBalancerArn"]

    def target_group(self, vpc):
        out = self.client("elbv2").create_target_group(Name=self.name("tg"), Protocol="HTTP", Port=80, VpcId=vpc,
                                                       Tags=self.tags())
        return out["TargetGroups"][0]["TargetGroupArn"]

    def db(self, protect=False, cluster=None):
        rds = self.client("rds")
        kwargs = {"DBClusterIdentifier": cluster, "Engine": "aurora-postgresql"} if cluster else {
            "Engine": "postgres", "MasterUsername": "learner", "MasterUserPassword": "learner-pass-1",
            "AllocatedStorage": 20}
        out = rds.create_db_instance(DBInstanceIdentifier=self.name("db"), DBInstanceClass="db.t3.micro",
                                     DeletionProtection=protect, Tags=self.tags(), **kwargs)
        return out["DBInstance"]["DBInstanceArn"]

    def ecs_cluster(self):
        out = self.client("ecs").create_cluster(clusterName=self.name("cluster"), tags=self.tags(False))
        return out["cluster"]["clusterArn"]

    def task_definition(self):
        out = self.client("ecs").register_task_definition(
            family=self.name("task"), networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 512}],
            tags=self.tags(False))
        return out["taskDefinition"]["taskDefinitionArn"]

    def eks_cluster(self):
        vpc = self.vpc()
        subnets = [self.subnet(vpc, 0), self.subnet(vpc, 1)]
        name = self.name("eks")
        self.client("eks").create_cluster(name=name, roleArn=self.role(), resourcesVpcConfig={"subnetIds": subnets},
                                          tags={"sandbox-key": self.key})
        return name, subnets

    def file_system(self):
        out = self.client("efs").create_file_system(CreationToken=self.name("efs"), Tags=self.tags())
        return out["FileSystemId"], out["FileSystemArn"]

    def key_id(self):
        out = self.client("kms").create_key(Tags=[{"TagKey": "sandbox-key", "TagValue": self.key}])
        return out["KeyMetadata"]["KeyId"], out["KeyMetadata"]["Arn"]


@creates("ec2:instance")
def _(lab):
    return lab.arn("ec2", f"instance/{lab.instance()}")


@creates("ec2:volume")
def _(lab):
    out = lab.client("ec2").create_volume(AvailabilityZone=lab.region + "a", Size=1, TagSpecifications=lab.spec("volume"))
    return lab.arn("ec2", f"volume/{out['VolumeId']}")


@creates("ec2:snapshot")
def _(lab):
    ec2 = lab.client("ec2")
    volume = ec2.create_volume(AvailabilityZone=lab.region + "a", Size=1)["VolumeId"]
    out = ec2.create_snapshot(VolumeId=volume, TagSpecifications=lab.spec("snapshot"))
    ec2.delete_volume(VolumeId=volume)
    return lab.arn("ec2", f"snapshot/{out['SnapshotId']}", account=False)


@creates("ec2:image")
def _(lab):
    ec2 = lab.client("ec2")
    instance = lab.instance()
    image = ec2.create_image(InstanceId=instance, Name=lab.name("ami"), TagSpecifications=lab.spec("image"))["ImageId"]
    ec2.terminate_instances(InstanceIds=[instance])
    return lab.arn("ec2", f"image/{image}", account=False)


@creates("ec2:key-pair")
def _(lab):
    out = lab.client("ec2").create_key_pair(KeyName=lab.name("key"), TagSpecifications=lab.spec("key-pair"))
    return lab.arn("ec2", f"key-pair/{out['KeyPairId']}")


@creates("ec2:launch-template")
def _(lab):
    out = lab.client("ec2").create_launch_template(
        LaunchTemplateName=lab.name("lt"), LaunchTemplateData={"ImageId": lab.image_id(), "InstanceType": "t3.micro"},
        TagSpecifications=lab.spec("launch-template"))
    return lab.arn("ec2", f"launch-template/{out['LaunchTemplate']['LaunchTemplateId']}")


@creates("ec2:vpc")
def _(lab):
    return lab.arn("ec2", f"vpc/{lab.vpc()}")


@creates("ec2:subnet")
def _(lab):
    return lab.arn("ec2", f"subnet/{lab.subnet(lab.vpc())}")


@creates("ec2:route-table")
def _(lab):
    ec2 = lab.client("ec2")
    vpc = lab.vpc()
    table = ec2.create_route_table(VpcId=vpc, TagSpecifications=lab.spec("route-table"))["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=lab.subnet(vpc))
    return lab.arn("ec2", f"route-table/{table}")


@creates("ec2:internet-gateway")
def _(lab):
    ec2 = lab.client("ec2")
    igw = ec2.create_internet_gateway(TagSpecifications=lab.spec("internet-gateway"))["InternetGateway"]
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=lab.vpc())
    return lab.arn("ec2", f"internet-gateway/{igw['InternetGatewayId']}")


@creates("ec2:network-acl")
def _(lab):
    ec2 = lab.client("ec2")
    vpc = lab.vpc()
    subnet = lab.subnet(vpc)
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=lab.spec("network-acl"))["NetworkAcl"]["NetworkAclId"]
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
    association = [a for a in current["NetworkAcls"][0]["Associations"] if a["SubnetId"] == subnet][0]
    ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl)
    return lab.arn("ec2", f"network-acl/{acl}")


@creates("ec2:vpc-endpoint")
def _(lab):
    ec2 = lab.client("ec2")
    vpc = lab.vpc()
    table = ec2.create_route_table(VpcId=vpc, TagSpecifications=lab.spec("route-table"))["RouteTable"]["RouteTableId"]
    out = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{lab.region}.s3", VpcEndpointType="Gateway",
                                  RouteTableIds=[table], TagSpecifications=lab.spec("vpc-endpoint"))
    return lab.arn("ec2", f"vpc-endpoint/{out['VpcEndpoint']['VpcEndpointId']}")


@creates("ec2:natgateway")
def _(lab):
    ec2 = lab.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=lab.spec("elastic-ip"))["AllocationId"]
    out = ec2.create_nat_gateway(SubnetId=lab.subnet(lab.vpc()), AllocationId=allocation,
                                 TagSpecifications=lab.spec("natgateway"))
    return lab.arn("ec2", f"natgateway/{out['NatGateway']['NatGatewayId']}")


@creates("ec2:elastic-ip")
def _(lab):
    ec2 = lab.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=lab.spec("elastic-ip"))["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=lab.instance())
    return lab.arn("ec2", f"elastic-ip/{allocation}")


@creates("ec2:network-interface")
def _(lab):
    out = lab.client("ec2").create_network_interface(SubnetId=lab.subnet(lab.vpc()),
                                                     TagSpecifications=lab.spec("network-interface"))
    return lab.arn("ec2", f"network-interface/{out['NetworkInterface']['NetworkInterfaceId']}")


@creates("ec2:security-group")
def _(lab):
    ec2 = lab.client("ec2")
    vpc = lab.vpc()
    web, db = lab.group(vpc), lab.group(vpc)
    # Two groups that name each other: neither can go while the other's rule stands.
    for a, b in ((web, db), (db, web)):
        ec2.authorize_security_group_ingress(GroupId=a, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": b}]}])
    return lab.arn("ec2", f"security-group/{web}")


@creates("elasticloadbalancing:loadbalancer")
def _(lab):
    lab.client("elbv2")
    return lab.load_balancer()[1]


@creates("elasticloadbalancing:listener")
def _(lab):
    vpc, lb = lab.load_balancer()
    out = lab.client("elbv2").create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": lab.target_group(vpc)}])
    return out["Listeners"][0]["ListenerArn"]


@creates("elasticloadbalancing:targetgroup")
def _(lab):
    return lab.target_group(lab.vpc())


@creates("autoscaling:autoScalingGroup")
def _(lab):
    asg = lab.client("autoscaling")
    config = lab.name("lc")
    asg.create_launch_configuration(LaunchConfigurationName=config, ImageId=lab.image_id(), InstanceType="t3.micro")
    name = lab.name("asg")
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName=config, MinSize=1, MaxSize=1,
                                  DesiredCapacity=1, AvailabilityZones=[lab.region + "a"],
                                  Tags=[{"Key": "sandbox-key", "Value": lab.key, "PropagateAtLaunch": True}])
    return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["AutoScalingGroupARN"]


@creates("autoscaling:launchConfiguration")
def _(lab):
    asg = lab.client("autoscaling")
    name = lab.name("lc")
    asg.create_launch_configuration(LaunchConfigurationName=name, ImageId=lab.image_id(), InstanceType="t3.micro")
    out = asg.describe_launch_configurations(LaunchConfigurationNames=[name])
    return out["LaunchConfigurations"][0]["LaunchConfigurationARN"]


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("type", nargs="?")
    parser.add_argument("--list", action="store_true", help="print the types this script can create")
    args = parser.parse_args()
    if args.list:
        print(json.dumps(sorted(CREATORS)))
        return
    lab = Lab(args.endpoint, args.region, args.key)
    print(json.dumps({"arn": CREATORS[args.type](lab)}))


if __name__ == "__main__":
    main()
