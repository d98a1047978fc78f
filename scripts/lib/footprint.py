#!/usr/bin/env python3
"""Creates what a learner would: one resource of every type the broker
cleans up, attributed to a sandbox key the way DESIGN section 7 says (the
`sandbox-key` tag, or a `<key>-` name where the name is the identity).
Prints the ARNs it created as JSON: {"expected": [...], "unsupported": [...]}.

Used by the cleanup tests and by scripts/bench.sh. Credentials come from the
environment (AWS_ACCESS_KEY_ID, ...), so a test can pass a learner's keys.

  footprint.py --endpoint URL --region R --key KEY [--lambda-role ARN]
               [--unsupported] [--buckets N] [--versions N] [--extra N] [--only TYPES]
"""

import argparse
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def clients(endpoint, region):
    config = Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"}, max_pool_connections=32)
    make = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=region, config=config)
    return make


def tag(key):
    return [{"Key": "sandbox-key", "Value": key}]


def fill_bucket(s3, bucket, versions):
    """`versions` object versions over versions/2 keys, a delete marker and
    an unfinished multipart upload."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = max(1, versions // 2)

    def put(i):
        s3.put_object(Bucket=bucket, Key=f"obj-{i % keys}", Body=b"x")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(versions)))
    s3.delete_object(Bucket=bucket, Key="obj-0")
    s3.create_multipart_upload(Bucket=bucket, Key="unfinished")


def create(make, region, key, args, account):
    s3, ddb, sqs, sns = make("s3"), make("dynamodb"), make("sqs"), make("sns")
    lam, logs, ec2 = make("lambda"), make("logs"), make("ec2")
    only = set(args.only.split(",")) if args.only else None
    want = lambda kind: only is None or kind in only
    arns = []
    if want("bucket"):
        for i in range(args.buckets):
            bucket = f"{key}-data-{i}"
            if region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            fill_bucket(s3, bucket, args.versions)
            arns.append(f"arn:aws:s3:::{bucket}")
    if want("table"):
        t = ddb.create_table(TableName=f"{key}-table", BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        arns.append(t["TableDescription"]["TableArn"])
    queue_arn = None
    if want("queue"):
        url = sqs.create_queue(QueueName=f"{key}-queue", tags={"sandbox-key": key})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        arns.append(queue_arn)
    if want("topic"):
        topic = sns.create_topic(Name=f"{key}-topic")["TopicArn"]
        if queue_arn:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        arns.append(topic)
    if want("function") and args.lambda_role:
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        f = lam.create_function(FunctionName=f"{key}-fn", Runtime="python3.12", Role=args.lambda_role,
                                Handler="index.handler", Code={"ZipFile": code.getvalue()}, Tags={"sandbox-key": key})
        arns.append(f["FunctionArn"])
    if want("logs"):
        group = f"{key}-logs"
        logs.create_log_group(logGroupName=group, tags={"sandbox-key": key})
        arns.append(f"arn:aws:logs:{region}:{account}:log-group:{group}")
    if want("ec2"):
        image = ec2.describe_images()["Images"][0]["ImageId"]
        # Tagged at creation, as lab-isolated requires: a key pair's ARN holds
        # its id, so IAM bounds the broker's DeleteKeyPair by the tag alone.
        kp = ec2.create_key_pair(KeyName=f"{key}-kp",
                                 TagSpecifications=[{"ResourceType": "key-pair", "Tags": tag(key)}])
        arns.append(f"arn:aws:ec2:{region}:{account}:key-pair/{kp['KeyPairId']}")
        sg = ec2.create_security_group(GroupName=f"{key}-sg", Description="lab",
                                       TagSpecifications=[{"ResourceType": "security-group", "Tags": tag(key)}])
        arns.append(f"arn:aws:ec2:{region}:{account}:security-group/{sg['GroupId']}")
        run = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                SecurityGroupIds=[sg["GroupId"]],
                                TagSpecifications=[{"ResourceType": "instance", "Tags": tag(key)}])
        instance = run["Instances"][0]["InstanceId"]
        arns.append(f"arn:aws:ec2:{region}:{account}:instance/{instance}")
        vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8,
                                TagSpecifications=[{"ResourceType": "volume", "Tags": tag(key)}])
        arns.append(f"arn:aws:ec2:{region}:{account}:volume/{vol['VolumeId']}")
    # More cheap resources (tables, queues, topics, log groups in turn).
    for i in range(args.extra):
        name = f"{key}-x{i}"
        kind = i % 4
        if kind == 0:
            t = ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
            arns.append(t["TableDescription"]["TableArn"])
        elif kind == 1:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arns.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
        elif kind == 2:
            arns.append(sns.create_topic(Name=name)["TopicArn"])
        else:
            logs.create_log_group(logGroupName=name)
            arns.append(f"arn:aws:logs:{region}:{account}:log-group:{name}")
    unsupported = []
    if args.unsupported:
        # A type the registry does not know (an ACM certificate): the
        # tagging API shows it, cleanup reports it left.
        acm = make("acm")
        out = acm.request_certificate(DomainName=f"{key}.lab.example.com", Tags=tag(key))
        unsupported.append(out["CertificateArn"])
    return {"expected": sorted(arns), "unsupported": unsupported}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--key", action="append", required=True, help="repeat for several sessions")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--lambda-role")
    parser.add_argument("--unsupported", action="store_true")
    parser.add_argument("--buckets", type=int, default=1)
    parser.add_argument("--versions", type=int, default=6)
    parser.add_argument("--extra", type=int, default=0, help="more tables, queues, topics and log groups")
    parser.add_argument("--only", help="comma-separated: bucket,table,queue,topic,function,logs,ec2")
    args = parser.parse_args()
    make = clients(args.endpoint, args.region)
    out = {key: create(make, args.region, key, args, args.account) for key in args.key}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
