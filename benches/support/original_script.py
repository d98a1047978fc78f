#!/usr/bin/env python3
"""The approach sandbox-broker replaces (see the seed write-up): a script
started once per learner session that assumes the role with boto3, asks the
federation endpoint for a sign-in token with requests, and prints the keys
and the console link as JSON.
Usage: original_script.py STS_ENDPOINT FEDERATION_ENDPOINT ROLE_ARN SESSION_NAME"""
import json
import sys
import urllib.parse

import boto3
import requests

sts_endpoint, federation, role_arn, session_name = sys.argv[1:5]
sts = boto3.client("sts", endpoint_url=sts_endpoint, region_name="eu-west-1")
creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
session = json.dumps(
    {"sessionId": creds["AccessKeyId"], "sessionKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"]}
)
token = requests.get(
    federation, params={"Action": "getSigninToken", "SessionDuration": 43200, "Session": session}, timeout=10
).json()["SigninToken"]
link = federation + "?" + urllib.parse.urlencode(
    {"Action": "login", "Issuer": "Instruqt", "Destination": "https://console.aws.amazon.com/", "SigninToken": token}
)
print(json.dumps({"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
                  "SessionToken": creds["SessionToken"], "ConsoleMagicLink": link}))
