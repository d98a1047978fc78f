"""Creators for EC2, VPC, Elastic Load Balancing and Auto Scaling types."""

from labkit import creates


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
