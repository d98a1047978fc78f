#!/usr/bin/env python3
"""Creates one resource of a registry type the way a learner would (boto3,
the learner's own keys from the environment), with whatever it needs
first, tagged `sandbox-key=KEY` and named `KEY-...`. Prints {"arn": ...}:
the ARN the broker's registry must find, delete and then no longer list.

  lab.py --endpoint URL --region R --key KEY TYPE
"""

import argparse
import json

import lab_network  # noqa: F401  (registers its creators)
import lab_services  # noqa: F401
from labkit import CREATORS, Lab


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
