#!/usr/bin/env python3
"""moto's server, with DynamoDB item writes made atomic as DynamoDB's are.

moto checks a ConditionExpression and then applies the write as two steps,
and its server runs each request in a thread of its own: on a loaded
machine two conditional writes to one item can both pass their check
(measured: 21 leases of a 20-account pool, where every lease is a write
conditional on the account still being available). DynamoDB evaluates the
condition and writes each item atomically; one lock around moto's item
operations gives the tests the same guarantee. Arguments are moto_server's.
"""

import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

LOCK = threading.RLock()
OPERATIONS = ("put_item", "get_item", "query", "scan", "update_item", "delete_item",
              "transact_write_items", "batch_write_item")


def atomic(operation):
    def locked(self, *args, **kwargs):
        with LOCK:
            return operation(self, *args, **kwargs)
    return locked


for name in OPERATIONS:
    setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))

if __name__ == "__main__":
    sys.exit(main())
