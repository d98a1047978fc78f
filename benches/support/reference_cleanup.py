#!/usr/bin/env python3
"""The way an operator scripts cleanup today: boto3, one call at a time,
deleting the ARNs footprint.py reported (so it does no discovery at all:
the reference is given what the broker has to find). Prints the seconds.

  reference_cleanup.py ENDPOINT REGION FOOTPRINT_JSON KEY
"""

import json
import sys
import time

import boto3
from botocore.config import Config

endpoint, region, footprint, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
arns = json.load(open(footprint))[key]["expected"]
config = Config(s3={"addressing_style": "path"})
c = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=region, config=config)
s3, ddb, sqs, sns, lam, logs, ec2 = c("s3"), c("dynamodb"), c("sqs"), c("sns"), c("lambda"), c("logs"), c("ec2")

started = time.monotonic()
later = []
for arn in arns:
    service, rest = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "s3":
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=rest):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=rest, Key=v["Key"], VersionId=v["VersionId"])
        for u in s3.list_multipart_uploads(Bucket=rest).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=rest, Key=u["Key"], UploadId=u["UploadId"])
        s3.delete_bucket(Bucket=rest)
    elif service == "dynamodb":
        ddb.delete_table(TableName=rest.split("/", 1)[1])
    elif service == "sqs":
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=rest)["QueueUrl"])
    elif service == "sns":
        for sub in sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", []):
            if sub["SubscriptionArn"].startswith("arn:"):
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        sns.delete_topic(TopicArn=arn)
    elif service == "lambda":
        lam.delete_function(FunctionName=rest.split(":", 1)[1])
    elif service == "logs":
        logs.delete_log_group(logGroupName=rest.split(":", 1)[1])
    elif service == "ec2":
        kind, ident = rest.split("/", 1)
        if kind == "instance":
            ec2.terminate_instances(InstanceIds=[ident])
            ec2.get_waiter("instance_terminated").wait(InstanceIds=[ident], WaiterConfig={"Delay": 1})
        else:
            later.append((kind, ident))
for kind, ident in later:
    if kind == "volume":
        ec2.delete_volume(VolumeId=ident)
    elif kind == "security-group":
        ec2.delete_security_group(GroupId=ident)
    elif kind == "key-pair":
        ec2.delete_key_pair(KeyPairId=ident)
print(f"{time.monotonic() - started:.3f}")
