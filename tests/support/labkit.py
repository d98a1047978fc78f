"""What the lab scripts share: a learner's clients and names (`Lab`), the
building blocks several resource types need, and the table of creators
(`CREATORS`, filled by lab_network.py and lab_services.py)."""

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
