"""The floor under a spend meter pass on moto: the same listings the pass
makes of what the benchmark creates (instances, volumes, elastic IPs,
snapshots with the image lookup they need, NAT gateways, the tagging API),
made one after another with boto3 straight to moto (no proxy, no broker).
moto serves one call at a time on one core, so this is about the least any
client can spend listing that state. Prints the seconds.

Usage: moto_floor.py ENDPOINT REGION
"""
import sys
import time

import boto3


def main():
    endpoint, region = sys.argv[1], sys.argv[2]
    kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="floor", aws_secret_access_key="floor")
    ec2 = boto3.client("ec2", **kw)
    tagging = boto3.client("resourcegroupstaggingapi", **kw)
    started = time.monotonic()
    for op, args in [
        ("describe_instances", {}),
        ("describe_volumes", {}),
        ("describe_snapshots", {"OwnerIds": ["self"]}),
        ("describe_nat_gateways", {}),
    ]:
        for _ in ec2.get_paginator(op).paginate(**args):
            pass
    ec2.describe_addresses()
    ec2.describe_images(Owners=["self"])
    for _ in tagging.get_paginator("get_resources").paginate():
        pass
    print(f"{time.monotonic() - started:.2f}")


if __name__ == "__main__":
    main()
