"""Writes a synthetic AWS price list offer file of N products, in the
layout AWS publishes (products, then terms.OnDemand and terms.Reserved), for
scripts/bench_prices.sh. One product in 50 is a plain Linux instance in
us-east-1 (what the importer keeps); the rest are other regions and
operating systems, as in EC2's real file. Written as it goes, so a file of
gigabytes needs no memory.

Usage: offer_file.py N PATH
"""
import json
import sys

REGIONS = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "us-west-2"]
SYSTEMS = ["Linux", "Windows", "RHEL", "SUSE"]


def product(i):
    kept = i % 50 == 0
    return {
        "sku": f"SKU{i:010d}",
        "productFamily": "Compute Instance",
        "attributes": {
            "servicecode": "AmazonEC2",
            "regionCode": "us-east-1" if kept else REGIONS[1 + i % 4],
            "location": "somewhere",
            "locationType": "AWS Region",
            "instanceType": f"x{i % 997}.size{i}",
            "instanceFamily": "General purpose",
            "vcpu": "2",
            "memory": "8 GiB",
            "operatingSystem": "Linux" if kept else SYSTEMS[i % 4],
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "licenseModel": "No License required",
            "usagetype": f"BoxUsage:x{i}",
            "operation": "RunInstances",
            "networkPerformance": "Up to 5 Gigabit",
            "physicalProcessor": "Intel Xeon Platinum 8175",
        },
    }


def term(i, code, price):
    sku = f"SKU{i:010d}"
    rate = f"{sku}.{code}.6YS6EN2CT7"
    return {f"{sku}.{code}": {
        "offerTermCode": code, "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
        "priceDimensions": {rate: {
            "rateCode": rate, "description": "per hour", "beginRange": "0", "endRange": "Inf",
            "unit": "Hrs", "pricePerUnit": {"USD": f"{price:.10f}"}, "appliesTo": []}},
        "termAttributes": {}}}


def section(out, name, items, last):
    out.write(f'"{name}": {{\n')
    for n, (key, value) in enumerate(items):
        out.write(("" if n == 0 else ",\n") + json.dumps(key) + ": " + json.dumps(value))
    out.write("\n}" + ("" if last else ",") + "\n")


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "w", buffering=1 << 20) as out:
        out.write('{"formatVersion": "v1.0", "offerCode": "AmazonEC2", "publicationDate": "2026-11-20T00:00:00Z",\n')
        section(out, "products", ((f"SKU{i:010d}", product(i)) for i in range(n)), last=False)
        out.write('"terms": {\n')
        section(out, "OnDemand", ((f"SKU{i:010d}", term(i, "JRTCKXETXF", 0.01 + i % 100 / 1000)) for i in range(n)), False)
        section(out, "Reserved", ((f"SKU{i:010d}", term(i, "4NA7Y494T4", 0.005)) for i in range(n)), last=True)
        out.write("}}\n")


if __name__ == "__main__":
    main()
