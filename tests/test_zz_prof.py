import cProfile
import os
import pstats
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import ApiClient
from tests.factories import MerchantFactory, PaymentFactory, make_api_key

N = int(os.environ.get("PROF_N", "300"))


@pytest.mark.django_db(transaction=True)
def test_profile_reverse():
    merchant = MerchantFactory()
    api = ApiClient(make_api_key(merchant)[1])
    payments = [PaymentFactory(merchant=merchant) for _ in range(N + 30)]
    body = {"amount": 1, "isExternal": True}
    for p in payments[:20]:
        assert api.post(f"/payments/{p.id}/reverse", body).status_code == 200
    with CaptureQueriesContext(connection) as q:
        api.post(f"/payments/{payments[20].id}/reverse", body)
    with open("/tmp/prof/sql.txt", "w") as f:
        for x in q.captured_queries:
            f.write(x["time"] + " " + x["sql"] + "\n\n")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for p in payments[30 : 30 + N]:
        api.post(f"/payments/{p.id}/reverse", body)
    prof.disable()
    per = (time.perf_counter() - t) / N * 1000
    stats = pstats.Stats(prof)
    stats.dump_stats("/tmp/prof/reverse.prof")
    with open("/tmp/prof/summary.txt", "w") as f:
        f.write(f"{per:.2f} ms/request (profiled), {len(q.captured_queries)} SQL\n")
    t = time.perf_counter()
    for p in payments[:0]:
        pass
