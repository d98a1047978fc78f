#!/usr/bin/env python3
"""The VPC lab deleted the way an operator scripts it: boto3, one call at a
time, in a correct order, waiting where AWS needs it (as aws-nuke's serial
removal behaves). It is given the lab's ARNs (vpc_lab.py's output), so it
does no discovery. Prints the seconds.

  reference_lab.py ENDPOINT REGION LAB_JSON
"""

import json
import sys
import time

import boto3

endpoint, region, lab = sys.argv[1], sys.argv[2], sys.argv[3]
arns = json.load(open(lab))["arns"]
c = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=region)
ec2, elb, rds, ecs = c("ec2"), c("elbv2"), c("rds"), c("ecs")


def of(service, part=""):
    return [a for a in arns if a.split(":")[2] == service and part in a]


def last(arn):
    return arn.replace(":", "/").rsplit("/", 1)[1]


started = time.monotonic()
for service in of("ecs", ":service/"):
    cluster = of("ecs", ":cluster/")[0]
    ecs.update_service(cluster=cluster, service=service, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=service, force=True)
for cluster in of("ecs", ":cluster/"):
    ecs.delete_cluster(cluster=cluster)
for task in of("ecs", ":task-definition/"):
    ecs.deregister_task_definition(taskDefinition=task)
    ecs.delete_task_definitions(taskDefinitions=[task])
for repo in of("ecr"):
    c("ecr").delete_repository(repositoryName=last(repo), force=True)
for api in of("apigateway"):
    c("apigatewayv2").delete_api(ApiId=last(api))
for fn in of("lambda"):
    c("lambda").delete_function(FunctionName=last(fn))
for role in of("iam", ":role/"):
    c("iam").delete_role(RoleName=last(role))
for listener in of("elasticloadbalancing", ":listener/"):
    elb.delete_listener(ListenerArn=listener)
for lb in of("elasticloadbalancing", ":loadbalancer/"):
    elb.delete_load_balancer(LoadBalancerArn=lb)
for tg in of("elasticloadbalancing", ":targetgroup/"):
    elb.delete_target_group(TargetGroupArn=tg)
for db in of("rds", ":db:"):
    rds.modify_db_instance(DBInstanceIdentifier=last(db), DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_instance(DBInstanceIdentifier=last(db), SkipFinalSnapshot=True)
    rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=last(db), WaiterConfig={"Delay": 1})
for group in of("rds", ":subgrp:"):
    rds.delete_db_subnet_group(DBSubnetGroupName=last(group))
for instance in of("ec2", ":instance/"):
    ec2.terminate_instances(InstanceIds=[last(instance)])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[last(instance)], WaiterConfig={"Delay": 1})
for nat in of("ec2", ":natgateway/"):
    ec2.delete_nat_gateway(NatGatewayId=last(nat))
    ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[last(nat)], WaiterConfig={"Delay": 1})
for eip in of("ec2", ":elastic-ip/"):
    ec2.release_address(AllocationId=last(eip))
vpc = last(of("ec2", ":vpc/")[0])
for igw in of("ec2", ":internet-gateway/"):
    ec2.detach_internet_gateway(InternetGatewayId=last(igw), VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=last(igw))
for table in of("ec2", ":route-table/"):
    for a in ec2.describe_route_tables(RouteTableIds=[last(table)])["RouteTables"][0]["Associations"]:
        ec2.disassociate_route_table(AssociationId=a["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=last(table))
for group in of("ec2", ":security-group/"):
    ec2.delete_security_group(GroupId=last(group))
for subnet in of("ec2", ":subnet/"):
    ec2.delete_subnet(SubnetId=last(subnet))
ec2.delete_vpc(VpcId=vpc)
for group in of("logs"):
    c("logs").delete_log_group(logGroupName=group.split(":log-group:", 1)[1])
for parameter in of("ssm"):
    c("ssm").delete_parameter(Name=parameter.split(":parameter/", 1)[1])
for secret in of("secretsmanager"):
    c("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
for key in of("kms"):
    c("kms").schedule_key_deletion(KeyId=last(key), PendingWindowInDays=7)
for stream in of("kinesis"):
    c("kinesis").delete_stream(StreamName=last(stream))
for machine in of("states"):
    c("stepfunctions").delete_state_machine(stateMachineArn=machine)
for rule in of("events"):
    events = c("events")
    ids = [t["Id"] for t in events.list_targets_by_rule(Rule=last(rule))["Targets"]]
    events.remove_targets(Rule=last(rule), Ids=ids)
    events.delete_rule(Name=last(rule))
for alarm in of("cloudwatch"):
    c("cloudwatch").delete_alarms(AlarmNames=[alarm.split(":alarm:", 1)[1]])
print(f"{time.monotonic() - started:.3f}")
