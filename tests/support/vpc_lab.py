#!/usr/bin/env python3
"""Builds the VPC lab a learner does in one sitting, every part tagged with
the learner's key (and named `KEY-...`): a VPC with two subnets, an
internet gateway, a NAT gateway with its elastic IP, a route table, a
security group and an instance; a load balancer with a listener and target
group; an RDS instance with deletion protection on, in its subnet group; an
ECS service with its cluster, task definition and ECR repository; a Lambda
function with its IAM role behind an HTTP API; a log group, an SSM
parameter, a secret, a KMS key, a Kinesis stream, a state machine, an
EventBridge rule and an alarm. Prints {"arns": [...]}, every ARN cleanup
must delete.

  vpc_lab.py --endpoint URL --region R --key KEY
"""

import argparse
import json

import lab  # noqa: F401  (registers every creator)
from labkit import CREATORS, Lab


def build(lab):
    ec2, elbv2, rds, ecs = lab.client("ec2"), lab.client("elbv2"), lab.client("rds"), lab.client("ecs")
    arns = []
    vpc = lab.vpc()
    subnets = [lab.subnet(vpc, 0), lab.subnet(vpc, 1)]
    group = lab.group(vpc)
    arns += [lab.arn("ec2", f"vpc/{vpc}"), lab.arn("ec2", f"security-group/{group}")]
    arns += [lab.arn("ec2", f"subnet/{s}") for s in subnets]
    igw = ec2.create_internet_gateway(TagSpecifications=lab.spec("internet-gateway"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=lab.spec("elastic-ip"))["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip, TagSpecifications=lab.spec("natgateway"))
    nat = nat["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc, TagSpecifications=lab.spec("route-table"))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnets[1])
    instance = ec2.run_instances(ImageId=lab.image_id(), MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 SubnetId=subnets[1], SecurityGroupIds=[group],
                                 TagSpecifications=lab.spec("instance"))["Instances"][0]["InstanceId"]
    arns += [lab.arn("ec2", f"internet-gateway/{igw}"), lab.arn("ec2", f"elastic-ip/{eip}"),
             lab.arn("ec2", f"natgateway/{nat}"), lab.arn("ec2", f"route-table/{table}"),
             lab.arn("ec2", f"instance/{instance}")]
    # Its root volume goes with it (DeleteOnTermination): not listed here.

    lb = elbv2.create_load_balancer(Name=lab.name("lb"), Subnets=subnets, SecurityGroups=[group],
                                    Tags=lab.tags())["LoadBalancers"][0]["LoadBalancerArn"]
    target = lab.target_group(vpc)
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": target}])
    arns += [lb, target, listener["Listeners"][0]["ListenerArn"]]

    subnet_group = rds.create_db_subnet_group(DBSubnetGroupName=lab.name("dbsubnets"), DBSubnetGroupDescription="lab",
                                              SubnetIds=subnets, Tags=lab.tags())["DBSubnetGroup"]
    db = rds.create_db_instance(DBInstanceIdentifier=lab.name("db"), DBInstanceClass="db.t3.micro", Engine="postgres",
                                MasterUsername="learner", MasterUserPassword="learner-pass-1", AllocatedStorage=20,
                                DeletionProtection=True, DBSubnetGroupName=subnet_group["DBSubnetGroupName"],
                                VpcSecurityGroupIds=[group], Tags=lab.tags())
    arns += [subnet_group["DBSubnetGroupArn"], db["DBInstance"]["DBInstanceArn"]]

    cluster = lab.ecs_cluster()
    task = lab.task_definition()
    service = ecs.create_service(cluster=cluster, serviceName=lab.name("svc"), taskDefinition=task, desiredCount=1,
                                 launchType="FARGATE", tags=lab.tags(False), networkConfiguration={
                                     "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}})
    arns += [cluster, task, service["service"]["serviceArn"], CREATORS["ecr:repository"](lab)]

    role_name = lab.name("fn-role")
    role = lab.role(role_name)
    function = lab.client("lambda").create_function(
        FunctionName=lab.name("fn"), Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": lab.zip()}, Tags={"sandbox-key": lab.key})["FunctionArn"]
    api = lab.client("apigatewayv2").create_api(Name=lab.name("http"), ProtocolType="HTTP", Target=function,
                                               Tags={"sandbox-key": lab.key})["ApiId"]
    arns += [role, function, f"arn:aws:apigateway:{lab.region}::/apis/{api}"]

    for kind in ("logs:log-group", "ssm:parameter", "secretsmanager:secret", "kms:key", "kinesis:stream",
                 "states:stateMachine", "events:rule", "cloudwatch:alarm"):
        arns.append(CREATORS[kind](lab))
    return arns


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    print(json.dumps({"arns": sorted(build(Lab(args.endpoint, args.region, args.key)))}))


if __name__ == "__main__":
    main()
